"""Telling people and schedulers what a run does.

On a terminal: a rich progress bar. Not on a terminal (cron, systemd, Airflow): one JSON object per
event on stderr, never a progress bar, never a prompt.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class Reporter:
    """Receives run events; subclasses decide how to show them."""

    def start(self, total: int) -> None: ...

    def event(self, name: str, **fields: Any) -> None: ...

    def advance(self) -> None: ...

    def stop(self) -> None: ...


class JsonLogReporter(Reporter):
    """One JSON line per event (for schedulers and log collectors)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def event(self, name: str, **fields: Any) -> None:
        line = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": name, **fields}
        self.stream.write(json.dumps(line, default=str, ensure_ascii=False) + "\n")
        self.stream.flush()


class ProgressReporter(Reporter):
    """A progress bar over the datasets of a run, with one line per finished dataset."""

    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.task = None

    def start(self, total: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task("datasets", total=total)

    def event(self, name: str, **fields: Any) -> None:
        if name == "dataset_started" and self.task is not None:
            self.progress.update(self.task, description=f"{fields.get('source')}: {fields.get('file')}")
        elif name in ("dataset_loaded", "dataset_unchanged", "dataset_failed", "dataset_checked"):
            style = {"dataset_failed": "red", "dataset_unchanged": "dim"}.get(name, "green")
            detail = fields.get("error") or (
                f"{fields.get('loaded', 0)} loaded, {fields.get('quarantined', 0)} quarantined"
                if name != "dataset_unchanged"
                else "unchanged (same sha256), skipped"
            )
            self.console.print(
                f"[{style}]{name.removeprefix('dataset_'):>9}[/] {fields.get('file')}: {detail}"
            )

    def advance(self) -> None:
        if self.task is not None:
            self.progress.advance(self.task)

    def stop(self) -> None:
        self.progress.stop()


def default_reporter(force_json: bool = False) -> Reporter:
    """Progress bar on a terminal, JSON log lines otherwise."""
    if force_json or not sys.stderr.isatty():
        return JsonLogReporter()
    return ProgressReporter()
