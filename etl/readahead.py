"""Parse the next BRO files in a worker process while the current one is written to PostGIS.

Loading a folder of CPT files is bound by Python: per file, parsing (XML, the values block) and
talking to PostgreSQL take turns. One worker process parses the upcoming small
files ahead (a bounded window, so memory stays flat) and hands back the objects, pickled. Large
files are not read ahead: they are streamed in the loading process as before.

If a worker cannot be started (e.g. inside a daemonic process, as some schedulers run tasks) or a
file fails to parse in the worker, that file is simply parsed in the loading process, where its
error is raised as usual. Nothing here changes what gets loaded, only where parsing runs.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from etl.files import sha256_of
from etl.readers.bro_detect import read_bro
from etl.records import BroObject

MAX_BYTES = 8_000_000  # bigger files are streamed in the loading process (flat memory)
WINDOW = 6  # files parsed ahead at most


def parse_file(path: str, kind: str | None) -> tuple[str, list] | None:
    """Worker side: the file's SHA-256 and every object (or RecordError) in it; None if the file fails
    as a whole."""
    try:
        return sha256_of(path), list(read_bro(path, kind))
    except Exception:  # noqa: BLE001 - re-parsed in the loading process, which reports the error
        return None


class ReadAhead:
    """A one-worker process pool with a window of pending files. Use as a context manager."""

    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self._pool: ProcessPoolExecutor | None = None
        self._pending: dict[Path, Future] = {}
        self._broken = False

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _executor(self) -> ProcessPoolExecutor | None:
        if self._pool is None and not self._broken:
            try:
                method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method))
            except Exception:  # noqa: BLE001 - no worker possible here: parse in process
                self._broken = True
        return self._pool

    def wanted(self, path: Path) -> bool:
        """Worth reading ahead: a small file (large ones stream in the loading process)."""
        try:
            return os.path.getsize(path) <= MAX_BYTES
        except OSError:
            return False

    def submit(self, path: Path, kind: str | None) -> None:
        """Start parsing ``path`` in the worker, unless the window is full or it is too large."""
        if path in self._pending or len(self._pending) >= self.window or not self.wanted(path):
            return
        pool = self._executor()
        if pool is None:
            return
        try:
            self._pending[path] = pool.submit(parse_file, str(path), kind)
        except Exception:  # noqa: BLE001 - no worker (daemonic parent, broken pool): parse in process
            self._broken = True
            self.close()

    def discard(self, path: Path) -> None:
        """Forget ``path`` (its turn has passed without :meth:`take`)."""
        future = self._pending.pop(path, None)
        if future is not None:
            future.cancel()

    def take(self, path: Path, sha256: str) -> list[BroObject | Exception] | None:
        """The parsed objects of ``path`` if it was read ahead successfully and its content is still
        the one with ``sha256`` (the file may have changed since), else None."""
        future = self._pending.pop(path, None)
        if future is None:
            return None
        try:
            result = future.result()
        except Exception:  # noqa: BLE001 - worker died or result unpicklable: parse in process
            self._broken = True
            self.close()
            return None
        if result is None or result[0] != sha256:
            return None
        return result[1]
