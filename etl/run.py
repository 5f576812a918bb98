"""Orchestration of an ETL run: lock, per-dataset transactions, provenance, summary.

A run holds a PostgreSQL advisory lock, so two nightly runs never overlap. Each dataset (file)
loads in its own transaction: all of it or nothing. A file whose sha256 is unchanged since its
last load is skipped. A failing dataset is reported and leaves the store untouched; the others
still load.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from etl.errors import GrondslagError, SourceError
from etl.files import sha256_of
from etl.progress import Reporter

if TYPE_CHECKING:
    from etl.readahead import ReadAhead

LOCK_KEY = 0x6772_6F6E  # "gron": the advisory lock of ETL runs
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 75


class RunLocked(GrondslagError):
    """Another ETL run holds the lock."""


@dataclass(slots=True)
class DatasetSummary:
    source: str
    file: str
    status: str  # loaded | unchanged | failed | checked (dry run)
    format: str | None = None
    rows_read: int = 0
    locations: int = 0
    samples: int = 0
    measurements: int = 0
    bro_objects: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step of the load, where measured
    dataset_id: int | None = None
    error: str | None = None
    # dry runs only (their quarantine is rolled back): the first records of each reason
    quarantine_examples: list[dict[str, str]] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return self.measurements + self.bro_objects

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["loaded"] = self.loaded
        d["n_quarantined"] = sum(self.quarantined.values())
        d["seconds"] = round(self.seconds, 3)
        d["phases"] = {k: round(v, 3) for k, v in self.phases.items()}
        return d


@dataclass(slots=True)
class RunSummary:
    run_id: int | None
    status: str
    datasets: list[DatasetSummary] = field(default_factory=list)
    refreshed: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if any(d.status == "failed" for d in self.datasets) else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "exit_code": self.exit_code,
            "datasets": [d.as_dict() for d in self.datasets],
            "views_refreshed": {k: round(v, 3) for k, v in self.refreshed.items()},
        }


@dataclass(slots=True)
class Job:
    """One file to load, with how to turn it into database rows."""

    source: str
    path: Path
    display: str  # path as shown/stored (relative where possible)
    kind: str  # "municipal" | "bro"
    load: Callable[[psycopg.Connection, int, int | None, str], DatasetSummary]
    source_kind: str = "municipal"
    gemeente_code: str | None = None
    mapping_path: str | None = None
    # optional: hand the file to the read-ahead worker before its turn (BRO files)
    prefetch: Callable[[ReadAhead], None] | None = None


# what the loader meets in a store whose migrations are behind the code
SCHEMA_BEHIND = (
    psycopg.errors.UndefinedColumn,
    psycopg.errors.UndefinedTable,
    psycopg.errors.UndefinedFunction,
)

# called after a run that loaded something, with the tables its datasets changed; returns seconds per step
AfterLoad = Callable[[frozenset[str]], dict[str, float]]


def tables_changed(conn: psycopg.Connection) -> set[str]:
    """The tables of the store that the current transaction inserted into, updated or deleted from
    (cascades and triggers included), from PostgreSQL's own per-transaction statistics."""
    rows = conn.execute(
        """SELECT relname FROM pg_stat_xact_user_tables
           WHERE schemaname = current_schema() AND n_tup_ins + n_tup_upd + n_tup_del > 0"""
    ).fetchall()
    return {r[0] for r in rows}


class EtlRunner:
    """Runs jobs against the store at ``url`` (libpq form)."""

    def __init__(self, url: str, reporter: Reporter, *, command: str = "", dry_run: bool = False) -> None:
        self.url = url
        self.reporter = reporter
        self.command = command
        self.dry_run = dry_run
        self.tables_written: set[str] = set()  # by the datasets loaded in this run

    def run(self, jobs: list[Job], after_load: AfterLoad | None = None):
        """Run ``jobs`` under the advisory lock; returns a RunSummary. Raises RunLocked.

        ``after_load(tables)`` runs once after a run that loaded something, with the store tables
        the loaded datasets changed (e.g. to refresh only the views that read them)."""
        with psycopg.connect(self.url, autocommit=True) as control:
            if not control.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
                raise RunLocked("another Grondslag ETL run holds the lock; try again when it has finished")
            try:
                with psycopg.connect(self.url) as work:  # one connection for all datasets of the run
                    self._work = work
                    return self._run_locked(control, jobs, after_load)
            finally:
                control.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))

    def _run_locked(self, control: psycopg.Connection, jobs: list[Job], after_load) -> RunSummary:
        self.tables_written = set()
        run_id = None
        if not self.dry_run:
            run_id = control.execute(
                "INSERT INTO etl_run (command) VALUES (%s) RETURNING id", (self.command,)
            ).fetchone()[0]
        summary = RunSummary(run_id, "running")
        self.reporter.event("run_started", run_id=run_id, datasets=len(jobs), dry_run=self.dry_run)
        self.reporter.start(len(jobs))
        readahead = None
        if sum(j.prefetch is not None for j in jobs) > 1:  # several BRO files: parse ahead in a worker
            from etl.readahead import ReadAhead

            readahead = ReadAhead()
        try:
            for i, job in enumerate(jobs):
                if readahead is not None:
                    for upcoming in jobs[i + 1 : i + 1 + readahead.window]:
                        if upcoming.prefetch is not None:
                            upcoming.prefetch(readahead)
                summary.datasets.append(self._one(control, job, run_id))
                if readahead is not None:
                    readahead.discard(job.path)  # not taken when the file was unchanged or failed
                self.reporter.advance()
        finally:
            if readahead is not None:
                readahead.close()
            self.reporter.stop()
        loaded = [d for d in summary.datasets if d.status == "loaded"]
        if loaded and after_load and not self.dry_run:
            started = time.perf_counter()
            summary.refreshed = after_load(frozenset(self.tables_written))
            self.reporter.event("views_refreshed", seconds=round(time.perf_counter() - started, 3))
        failed = [d for d in summary.datasets if d.status == "failed"]
        summary.status = (
            "dry-run"
            if self.dry_run
            else ("failed" if failed and not loaded else "partial" if failed else "succeeded")
        )
        if run_id is not None:
            control.execute(
                """UPDATE etl_run SET finished_at = clock_timestamp(), status = %s, n_datasets = %s,
                       n_read = %s, n_loaded = %s, n_quarantined = %s, n_skipped = %s, n_failed = %s,
                       error = %s, summary = %s WHERE id = %s""",
                (
                    summary.status,
                    len(summary.datasets),
                    sum(d.rows_read for d in summary.datasets),
                    sum(d.loaded for d in loaded),
                    sum(sum(d.quarantined.values()) for d in loaded),
                    sum(d.status == "unchanged" for d in summary.datasets),
                    len(failed),
                    "; ".join(f"{d.file}: {d.error}" for d in failed) or None,
                    psycopg.types.json.Jsonb(summary.as_dict()),
                    run_id,
                ),
            )
        self.reporter.event("run_finished", run_id=run_id, status=summary.status, exit_code=summary.exit_code)
        return summary

    def _source_id(self, conn: psycopg.Connection, job: Job) -> int:
        return conn.execute(
            """INSERT INTO source (name, kind, gemeente_code, mapping_path) VALUES (%s, %s, %s, %s)
               ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, gemeente_code = EXCLUDED.gemeente_code,
                   mapping_path = EXCLUDED.mapping_path
               RETURNING id""",
            (job.source, job.source_kind, job.gemeente_code, job.mapping_path),
        ).fetchone()[0]

    def _one(self, control: psycopg.Connection, job: Job, run_id: int | None) -> DatasetSummary:
        started = time.perf_counter()
        self.reporter.event("dataset_started", source=job.source, file=job.display)
        try:
            sha = sha256_of(job.path)
            row = None
            if not self.dry_run:
                row = control.execute(
                    "SELECT d.id FROM dataset d JOIN source s ON s.id = d.source_id "
                    "WHERE s.name = %s AND d.path = %s AND d.sha256 = %s",
                    (job.source, job.display, sha),
                ).fetchone()
            if row:
                result = DatasetSummary(job.source, job.display, "unchanged", dataset_id=row[0])
            else:
                # a dry run does the whole load, point-in-polygon checks included, then rolls back
                conn = self._work
                with conn.transaction(force_rollback=self.dry_run):
                    # all-or-nothing stays; only the wait for the WAL flush at commit is skipped (a
                    # crash of the machine right after the run may lose that run, never half of it)
                    # (and JIT: the loader's set-based statements are simple; compiling them, which
                    # the planner asks for on big staging tables, took longer than running them)
                    conn.execute("SET LOCAL synchronous_commit = off; SET LOCAL jit = off")
                    source_id = self._source_id(conn, job)
                    result = job.load(conn, source_id, run_id, sha)
                    if not self.dry_run:
                        self.tables_written |= tables_changed(conn)
                    if self.dry_run and result.dataset_id is not None:
                        result.quarantine_examples = quarantine_examples(conn, result.dataset_id)
                result.status = "checked" if self.dry_run else "loaded"
        except (GrondslagError, OSError, ValueError, psycopg.Error) as exc:
            message = str(exc) if isinstance(exc, SourceError) else f"{job.display}: {exc}"
            if isinstance(exc, SCHEMA_BEHIND):
                message = message.splitlines()[0] + (
                    " (the store's schema is older than this version of Grondslag: "
                    "run `grondslag db migrate`, then load again)"
                )
            result = DatasetSummary(job.source, job.display, "failed", error=message.strip())
        result.seconds = time.perf_counter() - started
        fields = result.as_dict()
        self.reporter.event(f"dataset_{result.status}", **fields)
        return result


def quarantine_examples(
    conn: psycopg.Connection, dataset_id: int, per_reason: int = 3
) -> list[dict[str, str]]:
    """The first ``per_reason`` quarantined records of each reason of a dataset (locator, field, message)."""
    rows = conn.execute(
        """SELECT reason, locator, field, message FROM (
               SELECT reason, locator, field, message, row_number() OVER (PARTITION BY reason ORDER BY id) AS n
               FROM quarantine WHERE dataset_id = %s) q
           WHERE n <= %s ORDER BY reason, n""",
        (dataset_id, per_reason),
    ).fetchall()
    return [{"reason": r, "locator": loc, "field": f, "message": m} for r, loc, f, m in rows]
