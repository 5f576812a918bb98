"""Loading fetched objects: each downloaded file through the ETL's BRO job, then the BRO statuses.

Files go through :func:`etl.jobs.bro_job` under the :class:`~etl.run.EtlRunner` (advisory lock, one
transaction per file, provenance, unchanged files skipped by sha256). Then one transaction sets
``bro_object.status``: ``deregistered`` for objects BRO took out of registration, ``corrected`` or
``registered`` for the objects just loaded (a load writes the row anew, with the default status).
An object is marked loaded in the fetch state only when all of that succeeded, so a failed load is
retried by the next run without downloading again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from etl.bro_fetch.settings import BroFetchSettings
from etl.bro_fetch.state import FetchState
from etl.jobs import bro_job
from etl.run import AfterLoad, EtlRunner, RunSummary


@dataclass(slots=True)
class LoadOutcome:
    summary: RunSummary | None = None  # None when there was no file to load
    marked: dict[str, int] = field(default_factory=dict)  # status -> bro_object rows set
    loaded_ids: list[str] = field(default_factory=list)
    failed_ids: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.failed_ids)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.summary.as_dict() if self.summary else None,
            "status_set": self.marked,
            "loaded": len(self.loaded_ids),
            "failed": self.failed_ids,
        }


def load_fetched(
    state: FetchState,
    settings: BroFetchSettings,
    runner: EtlRunner,
    *,
    after_load: AfterLoad | None = None,
) -> LoadOutcome:
    """Load every downloaded-but-not-loaded object of ``state`` and set the statuses. Raises RunLocked."""
    outcome = LoadOutcome()
    pending = state.unloaded()
    deregistered = [i for i in pending if state.objects[i].get("status") == "deregistered"]
    files = [
        (i, path) for i in pending if i not in deregistered and (path := state.file_of(i)) and path.is_file()
    ]
    if files:
        outcome.summary = runner.run([bro_job(p, source=settings.source_name) for _, p in files], after_load)
        for (bro_id, _), dataset in zip(files, outcome.summary.datasets, strict=True):
            (outcome.loaded_ids if dataset.status in ("loaded", "unchanged") else outcome.failed_ids).append(
                bro_id
            )
    done = outcome.loaded_ids + deregistered
    if not done:
        return outcome
    by_status: dict[str, list[str]] = {}
    for bro_id in done:
        by_status.setdefault(state.objects[bro_id].get("status", "registered"), []).append(bro_id)
    with psycopg.connect(runner.url) as conn:
        for status, ids in sorted(by_status.items()):
            cur = conn.execute("UPDATE bro_object SET status = %s WHERE bro_id = ANY(%s)", (status, ids))
            outcome.marked[status] = cur.rowcount
    for bro_id in done:
        state.record(bro_id, loaded=True)
    state.save()
    return outcome
