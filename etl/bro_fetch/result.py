"""What a fetch found and did (returned by :meth:`BroFetcher.fetch`, printed by the CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class FetchResult:
    """What a fetch found and did; ``complete`` when every search and download succeeded."""

    area: str
    types: list[str]
    dry_run: bool
    started: str
    searches: dict[str, str] = field(default_factory=dict)  # type -> "full" | "begin..end"
    cells: int = 0
    splits: int = 0
    found: int = 0
    outside: int = 0  # in the bbox but outside the gemeente polygons
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    corrected: list[str] = field(default_factory=list)
    deregistered: list[str] = field(default_factory=list)
    downloaded: list[Path] = field(default_factory=list)
    resumed: int = 0  # downloaded earlier by this same (interrupted) run
    failed: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "types": self.types,
            "dry_run": self.dry_run,
            "started": self.started,
            "searches": self.searches,
            "cells": self.cells,
            "splits": self.splits,
            "found": self.found,
            "outside_area": self.outside,
            "new": self.new,
            "changed": self.changed,
            "corrected": self.corrected,
            "deregistered": self.deregistered,
            "downloaded": [str(p) for p in self.downloaded],
            "resumed": self.resumed,
            "failed": self.failed,
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "seconds": round(self.seconds, 3),
        }

    def counts(self) -> dict[str, Any]:
        """The summary without the id lists (for log lines)."""
        d = self.as_dict()
        for key in ("new", "changed", "corrected", "deregistered", "downloaded", "failed"):
            d[key] = len(d[key])
        return d
