"""`grondslag etl …`: load sources, ingest files ad hoc, inspect unknown exports, look at runs.

Exit codes for schedulers: 0 the run completed (quarantined records are reported, not fatal),
1 at least one dataset failed (its data untouched), 2 usage or configuration error,
75 another run holds the lock.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

import psycopg
import typer

from db.settings import StoreSettings
from etl import jobs as etl_jobs
from etl.errors import ConfigError, SourceError
from etl.mapping import check_gemeente
from etl.progress import JsonLogReporter, default_reporter
from etl.run import EXIT_LOCKED, EXIT_USAGE, EtlRunner, RunLocked, RunSummary
from grondslag.output import Format, emit

app = typer.Typer(
    help="Load soil data: configured sources, ad-hoc files, BRO; inspect exports.", no_args_is_help=True
)

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format of the summary.")]
SOURCES_DIR = Path("sources")


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Report an error: plain text on a terminal, one JSON log line for schedulers."""
    if sys.stderr.isatty():
        typer.echo(f"error: {message}", err=True)
    else:
        JsonLogReporter().event("error", message=message, exit_code=code)
    return typer.Exit(code)


def _after_load(tables: frozenset[str] = frozenset()) -> dict[str, float]:
    """Refresh the quality views that read the ``tables`` a run changed (all views when none are
    known), in one transaction. A run of BRO files leaves the assessments of municipal data alone."""
    from db import quality, store

    engine = store.make_engine(StoreSettings())
    try:
        with engine.begin() as conn:
            views = quality.views_reading(conn, tables) if tables else quality.VIEWS
            return quality.refresh(conn, views)
    finally:
        engine.dispose()


RefreshOpt = Annotated[
    bool,
    typer.Option(
        "--refresh/--no-refresh",
        help="Refresh the quality views after loading (default). --no-refresh: leave that to a later "
        "`grondslag quality refresh`, e.g. after a batch of separate ingest calls.",
    ),
]


def _execute(
    jobs: list[etl_jobs.Job], fmt: Format, dry_run: bool, command: str, refresh: bool = True
) -> None:
    settings = StoreSettings()
    reporter = default_reporter(force_json=fmt is Format.json and not sys.stderr.isatty())
    runner = EtlRunner(settings.libpq_url, reporter, command=command, dry_run=dry_run)
    try:
        summary = runner.run(jobs, after_load=_after_load if refresh else None)
    except RunLocked as exc:
        raise _fail(str(exc), EXIT_LOCKED) from None
    except psycopg.OperationalError as exc:
        raise _fail(
            f"cannot reach the store: {str(exc).splitlines()[0]} (is `grondslag db up` done?)", 1
        ) from None
    _print_summary(summary, fmt)
    raise typer.Exit(summary.exit_code)


def _print_summary(summary: RunSummary, fmt: Format) -> None:
    if fmt is Format.json:
        emit(summary.as_dict(), fmt)
        return
    rows = [
        {
            "source": d.source,
            "file": d.file,
            "status": d.status,
            "read": d.rows_read,
            "loaded": d.loaded,
            "quarantined": sum(d.quarantined.values()),
            "skipped_unchanged": d.status == "unchanged",
            "seconds": round(d.seconds, 2),
        }
        for d in summary.datasets
    ]
    emit(rows, fmt, title=f"ETL run {summary.run_id or '(dry run)'}: {summary.status}")
    if fmt is Format.table:
        _print_quarantine_examples(summary)
    for d in summary.datasets:
        if d.error:  # most errors name their file already (often as an absolute path)
            named = Path(d.file).name in d.error
            typer.echo(f"FAILED: {d.error}" if named else f"FAILED {d.file}: {d.error}", err=True)


def _print_quarantine_examples(summary: RunSummary) -> None:
    """A dry run's quarantine is rolled back with it: show the first records of each reason."""
    for d in summary.datasets:
        if not d.quarantine_examples:
            continue
        typer.echo(f"\n{d.source} ({d.file}) would quarantine, first records of each reason:")
        for ex in d.quarantine_examples:
            n = d.quarantined.get(ex["reason"], 0)
            typer.echo(f"  {ex['reason']} ({n}): {ex['locator']}: {ex['message']}")


@app.command()
def run(
    all_sources: Annotated[
        bool, typer.Option("--all", help="Run every mapping in the sources folder.")
    ] = False,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="Run this source (repeatable).")
    ] = None,
    sources_dir: Annotated[Path, typer.Option(help="Folder with the mapping files.")] = SOURCES_DIR,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and report without writing.")] = False,
    refresh: RefreshOpt = True,
    fmt: FormatOpt = Format.table,
) -> None:
    """Run configured sources (mapping files in sources/)."""
    if not all_sources and not source:
        raise _fail("say which sources: --all or --source NAME")
    try:
        jobs = etl_jobs.jobs_for_sources(sources_dir, None if all_sources else source)
    except (ConfigError, SourceError) as exc:
        raise _fail(str(exc)) from None
    _execute(jobs, fmt, dry_run, "etl run " + ("--all" if all_sources else " ".join(source or [])), refresh)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files, folders or zips to load.")],
    mapping: Annotated[
        Path | None, typer.Option(help="Mapping file (municipal exports). Omit for BRO/GEF.")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Source name to record (default: from mapping/file).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and report without writing.")] = False,
    refresh: RefreshOpt = True,
    fmt: FormatOpt = Format.table,
) -> None:
    """Load files ad hoc: a municipal export with --mapping, or BRO IMBRO XML / GEF (type detected)."""
    with tempfile.TemporaryDirectory(prefix="grondslag-ingest-") as work:
        try:
            jobs = etl_jobs.jobs_for_paths(paths, mapping=mapping, source=source, workdir=Path(work))
        except (ConfigError, SourceError) as exc:
            raise _fail(str(exc)) from None
        _execute(jobs, fmt, dry_run, "etl ingest " + " ".join(map(str, paths)), refresh)


@app.command()
def runs(
    limit: Annotated[int, typer.Option(help="How many recent runs.")] = 20, fmt: FormatOpt = Format.table
) -> None:
    """List recent ETL runs with status and counts."""
    with psycopg.connect(StoreSettings().libpq_url) as conn:
        cur = conn.execute(
            """SELECT id, status, started_at, finished_at, round(extract(epoch FROM finished_at - started_at)::numeric,
                      2) AS seconds, n_datasets, n_read, n_loaded, n_quarantined, n_skipped, n_failed, command
               FROM etl_run ORDER BY id DESC LIMIT %s""",
            (limit,),
        )
        cols = [c.name for c in cur.description]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    emit(rows, fmt, title="ETL runs")


QUARANTINE_COLUMNS = ("id", "source", "locator", "field", "reason", "unit", "message")


@app.command()
def quarantine(
    run_id: Annotated[int | None, typer.Option("--run", help="Run id (default: the latest run).")] = None,
    reason: Annotated[str | None, typer.Option(help="Only this reason.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many records.")] = 200,
    fmt: FormatOpt = Format.table,
) -> None:
    """Show what was rejected and why (locator, field, reason, message)."""
    with psycopg.connect(StoreSettings().libpq_url) as conn:
        latest = conn.execute("SELECT max(id) FROM etl_run").fetchone()[0]
        if latest is None:
            typer.echo(
                "note: no ETL runs yet: run `grondslag etl run --all` or `grondslag etl ingest`", err=True
            )
            emit([], fmt, columns=QUARANTINE_COLUMNS)
            return
        if run_id is None:
            run_id = latest
        elif conn.execute("SELECT 1 FROM etl_run WHERE id = %s", (run_id,)).fetchone() is None:
            raise _fail(f"no ETL run {run_id}; runs are numbered 1 to {latest} (see `grondslag etl runs`)")
        in_run = "(q.run_id = %(r)s OR d.run_id = %(r)s)"
        cur = conn.execute(
            f"""SELECT q.id, s.name AS source, q.locator, q.field, q.reason, q.unit, q.message
               FROM quarantine q LEFT JOIN dataset d ON d.id = q.dataset_id
               LEFT JOIN source s ON s.id = d.source_id
               WHERE {in_run} AND (%(reason)s::text IS NULL OR q.reason = %(reason)s)
               ORDER BY q.id LIMIT %(n)s""",
            {"r": run_id, "reason": reason, "n": limit},
        )
        rows = [dict(zip(QUARANTINE_COLUMNS, r, strict=True)) for r in cur.fetchall()]
        if not rows:
            counts = conn.execute(
                f"""SELECT q.reason, count(*) FROM quarantine q LEFT JOIN dataset d ON d.id = q.dataset_id
                    WHERE {in_run} GROUP BY q.reason ORDER BY q.reason""",
                {"r": run_id},
            ).fetchall()
            hint = f"nothing quarantined in run {run_id}" + (f" with reason {reason!r}" if reason else "")
            if counts:
                hint += "; reasons in this run: " + ", ".join(f"{r} ({n})" for r, n in counts)
            if reason:
                other = conn.execute(
                    """SELECT max(coalesce(q.run_id, d.run_id)) FROM quarantine q
                       LEFT JOIN dataset d ON d.id = q.dataset_id WHERE q.reason = %s""",
                    (reason,),
                ).fetchone()[0]
                if other is not None:
                    hint += f"; the latest run with {reason!r} is {other} (--run {other})"
            typer.echo(f"note: {hint}", err=True)
    emit(rows, fmt, title=f"Quarantine of run {run_id}", columns=QUARANTINE_COLUMNS)


@app.command()
def inspect(
    path: Annotated[
        Path, typer.Argument(help="An export to onboard (CSV, XLSX, shapefile, GeoPackage, GeoJSON).")
    ],
    write_mapping: Annotated[
        Path | None,
        typer.Option("--write-mapping", help="Write a draft mapping file (guesses marked REVIEW)."),
    ] = None,
    gemeente: Annotated[
        str | None, typer.Option(help="CBS code of the delivering gemeente, e.g. GM0321.")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Read an unknown export and say what it holds: columns and their guessed roles, CRS, units."""
    from etl.inspect import draft_mapping, inspect_file

    if not path.exists():
        raise _fail(f"{path}: no such file")
    if gemeente is not None:
        try:
            gemeente = check_gemeente(gemeente)
        except ValueError as exc:
            raise _fail(f"--gemeente: {exc}") from None
    try:
        report = inspect_file(path)
    except (ValueError, SourceError) as exc:
        raise _fail(str(exc)) from None
    if fmt is Format.json:
        emit(report.as_dict(), fmt)
    else:
        summary = {k: v for k, v in report.as_dict().items() if k not in ("columns", "details")}
        summary |= {k: v for k, v in report.details.items()}
        summary = {k: v for k, v in summary.items() if v not in ({}, [], None, "")}  # nothing to say: no line
        if summary.get("delimiter") == "\t":
            summary["delimiter"] = "tab"  # a tab character would print as blank space
        emit(summary, Format.table if fmt is Format.table else fmt, title=f"{path.name}")
        emit(
            [
                {
                    "column": c.name,
                    "role": c.role,
                    "parameter": c.parameter,
                    "unit": c.unit,
                    "samples": ", ".join(c.samples),
                    "note": c.note,
                }
                for c in report.columns
            ],
            fmt,
            title="Columns (guessed roles)",
        )
    if write_mapping:
        if write_mapping.exists():
            raise _fail(f"{write_mapping} exists; not overwritten")
        draft = draft_mapping(report, gemeente=gemeente)
        write_mapping.write_text(draft, encoding="utf-8")
        typer.echo(f"Draft mapping written to {write_mapping}: check every line marked REVIEW.", err=True)


def _fetch_rows(report) -> list[dict]:
    """One row per object the fetch acted on (new, changed, corrected, deregistered, failed)."""
    f = report.fetch
    rows = [{"bro_id": i, "action": "new", "detail": ""} for i in f.new]
    for i in f.changed:
        rows.append({"bro_id": i, "action": "corrected" if i in f.corrected else "changed", "detail": ""})
    rows += [{"bro_id": i, "action": "deregistered", "detail": ""} for i in f.deregistered]
    rows += [{"bro_id": i, "action": "failed", "detail": e} for i, e in f.failed.items()]
    return rows


def _print_fetch(report, fmt: Format) -> None:
    if fmt is Format.json:
        emit(report.as_dict(), fmt)
        return
    if fmt is Format.csv:
        emit(_fetch_rows(report), fmt)
        return
    f = report.fetch
    summary = {
        "area": f.area,
        "types": ", ".join(f.types),
        "searches": ", ".join(f"{t}: {p}" for t, p in f.searches.items()),
        "search cells (split)": f"{f.cells} ({f.splits})",
        "found": f.found,
        "outside the polygons": f.outside,
        "new / changed / corrected": f"{len(f.new)} / {len(f.changed)} / {len(f.corrected)}",
        "deregistered": len(f.deregistered),
        "downloaded": len(f.downloaded),
        "resumed (already downloaded)": f.resumed,
        "failed": len(f.failed),
        "requests (retries, 429s)": f"{f.requests} ({f.retries}, {f.throttled})",
        "seconds": round(f.seconds, 1),
    }
    if report.load is not None:
        load = report.load
        summary["ETL run"] = load.summary.run_id if load.summary else "(nothing to load)"
        summary["bro_object.status set"] = ", ".join(f"{k}: {v}" for k, v in load.marked.items()) or "-"
    emit(summary, fmt, title="BRO fetch" + (" (dry run: nothing downloaded or written)" if f.dry_run else ""))
    if report.load is not None and report.load.summary is not None:
        _print_summary(report.load.summary, fmt)
    for bro_id, error in f.failed.items():
        typer.echo(f"FAILED {bro_id}: {error}", err=True)


@app.command("fetch-bro")
def fetch_bro(
    gemeente: Annotated[str | None, typer.Option(help="CBS code of one gemeente, e.g. GM0344.")] = None,
    bbox: Annotated[
        str | None, typer.Option(help="minx,miny,maxx,maxy in RD New metres (or lon,lat: see --bbox-crs).")
    ] = None,
    bbox_crs: Annotated[
        str, typer.Option("--bbox-crs", help="CRS of --bbox: EPSG:28992 or EPSG:4326.")
    ] = "EPSG:28992",
    province: Annotated[bool, typer.Option("--province", help="The whole province (all gemeenten).")] = False,
    object_types: Annotated[
        list[str] | None, typer.Option("--type", help="CPT, BHR-GT, BHR-P, BHR-G, GMW, SFR (repeatable).")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Only objects registered since this date.")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Search without registration period (reconciliation).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Search and report; download and write nothing.")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Fetch new and changed BRO objects of an area from BRO's public REST services, then load them."""
    from pydantic import ValidationError

    from etl.bro_fetch import AreaRequest, BroFetchSettings, FetchError, StateLocked
    from etl.bro_fetch import fetch_bro as run_fetch
    from etl.bro_fetch.endpoints import object_type

    try:
        settings = BroFetchSettings()
        types = [object_type(t).code for t in (object_types or settings.types)]
    except (ValidationError, ValueError) as exc:
        raise _fail(str(exc)) from None
    request = AreaRequest(gemeente=gemeente, bbox=bbox, bbox_crs=bbox_crs, province=province)
    reporter = default_reporter(force_json=fmt is Format.json and not sys.stderr.isatty())
    try:
        report = run_fetch(
            settings,
            StoreSettings().libpq_url,
            request,
            list(dict.fromkeys(types)),
            reporter=reporter,
            since=since.date() if since else None,
            full=full,
            dry_run=dry_run,
            after_load=_after_load,
            command="etl fetch-bro " + " ".join(sys.argv[3:]),
        )
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    except (RunLocked, StateLocked) as exc:
        raise _fail(str(exc), EXIT_LOCKED) from None
    except FetchError as exc:
        raise _fail(f"BRO fetch stopped (run it again to resume): {exc}", 1) from None
    except psycopg.OperationalError as exc:
        first = str(exc).splitlines()[0]
        raise _fail(f"cannot reach the store: {first} (is `grondslag db up` done?)", 1) from None
    _print_fetch(report, fmt)
    raise typer.Exit(report.exit_code)


@app.command()
def validate(
    mappings: Annotated[
        list[Path] | None, typer.Argument(help="Mapping files (default: every file in the sources folder).")
    ] = None,
    sources_dir: Annotated[Path, typer.Option(help="Folder with the mapping files.")] = SOURCES_DIR,
    fmt: FormatOpt = Format.table,
) -> None:
    """Check mapping files against the schema (no data is read); exit 2 when one is invalid."""
    from etl.mapping import load_mapping

    files = mappings or sorted(sources_dir.glob("*.yaml"))
    rows, bad = [], 0
    for f in files:
        try:
            m = load_mapping(f)
            exists = m.file_path.exists()
            rows.append(
                {
                    "mapping": str(f),
                    "name": m.name,
                    "ok": exists,
                    "problem": None if exists else f"file not found: {m.file_path}",
                }
            )
            bad += not exists
        except ConfigError as exc:
            rows.append({"mapping": str(f), "name": None, "ok": False, "problem": str(exc)})
            bad += 1
    emit(rows, fmt, title="Mapping files")
    raise typer.Exit(EXIT_USAGE if bad or not files else 0)
