"""The fetch state: what was downloaded, what is still to do, when each area was last fetched.

Lives beside the downloads (``<download_dir>/state.json``), so it always describes the files that are
really there. ``state.json`` is replaced atomically (write, fsync, rename); each finished download is
also appended to ``journal.jsonl`` and fsynced at once, so a run killed at any moment loses at most
the download in flight. Opening the state replays the journal and folds it into ``state.json``.

One fetch at a time per download dir: :meth:`FetchState.open` takes an exclusive ``flock`` on
``<download_dir>/.lock`` and raises :class:`StateLocked` when another process holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from etl.errors import GrondslagError

VERSION = 1


class StateLocked(GrondslagError):
    """Another fetch holds the download directory."""


def _write_atomic(path: Path, data: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class FetchState:
    """``objects`` (bro_id -> type, stamp, status, file, sha256, loaded), ``areas``, the ``run`` under way."""

    def __init__(self, root: Path, *, persist: bool = True) -> None:
        self.root = root
        self.persist = persist  # False: a dry run, nothing is written
        self.path = root / "state.json"
        self.journal = root / "journal.jsonl"
        self.objects: dict[str, dict[str, Any]] = {}
        self.areas: dict[str, dict[str, Any]] = {}
        self.run: dict[str, Any] | None = None

    @classmethod
    @contextlib.contextmanager
    def open(cls, root: Path, *, persist: bool = True) -> Iterator[FetchState]:
        """The state of ``root``, locked for this process while the block runs."""
        root.mkdir(parents=True, exist_ok=True)
        with open(root / ".lock", "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StateLocked(
                    f"another BRO fetch is using {root}; try again when it has finished"
                ) from None
            try:
                state = cls(root, persist=persist)
                state._load()
                yield state
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self) -> None:
        if self.path.exists():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != VERSION:
                raise GrondslagError(
                    f"{self.path}: fetch state version {data.get('version')}, expected {VERSION}"
                )
            self.objects = data.get("objects", {})
            self.areas = data.get("areas", {})
            self.run = data.get("run")
        if self.journal.exists():
            for line in self.journal.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:  # a line cut short by a kill: that download was not finished
                    continue
                self._apply(entry)
            self.save()

    def _apply(self, entry: dict[str, Any]) -> None:
        if entry.get("kind") == "cell":  # a search cell of the run under way, with what it found
            if self.run is not None and self.run.get("id") == entry["run"]:
                self.run["cells"].setdefault(entry["type"], {})[entry["key"]] = entry["mark"]
                self.run["found"].update(entry["items"])
            return
        fields = {k: v for k, v in entry.items() if k not in ("kind", "bro_id")}
        self.objects[entry["bro_id"]] = {**self.objects.get(entry["bro_id"], {}), **fields}

    def _append(self, entry: dict[str, Any]) -> None:
        if self.persist:
            with open(self.journal, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        self._apply(entry)

    def record(self, bro_id: str, **fields: Any) -> None:
        """Remember ``fields`` of object ``bro_id`` durably now (one journal line, fsynced)."""
        self._append({"kind": "object", "bro_id": bro_id, **fields})

    def record_cell(self, object_type: str, key: str, mark: str, items: dict[str, dict[str, Any]]) -> None:
        """Remember that search cell ``key`` is ``done`` (with its ``items``) or ``split``."""
        assert self.run is not None
        self._append(
            {
                "kind": "cell",
                "run": self.run["id"],
                "type": object_type,
                "key": key,
                "mark": mark,
                "items": items,
            }
        )

    def save(self) -> None:
        """Write everything to ``state.json`` and empty the journal."""
        if not self.persist:
            return
        data = {"version": VERSION, "areas": self.areas, "run": self.run, "objects": self.objects}
        _write_atomic(self.path, json.dumps(data, sort_keys=True, indent=1))
        if self.journal.exists():
            self.journal.unlink()

    def file_of(self, bro_id: str) -> Path | None:
        rel = self.objects.get(bro_id, {}).get("file")
        return self.root / rel if rel else None

    def is_current(self, bro_id: str, stamp: str) -> bool:
        """Downloaded before with this stamp, and the file is still there."""
        obj = self.objects.get(bro_id)
        if not obj or obj.get("stamp") != stamp or obj.get("status") == "deregistered":
            return False
        path = self.file_of(bro_id)
        return path is not None and path.is_file() and path.stat().st_size == obj.get("size")

    def unloaded(self) -> list[str]:
        """Objects whose last download or deregistration is not yet in the database."""
        return sorted(i for i, o in self.objects.items() if not o.get("loaded"))
