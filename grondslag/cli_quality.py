"""`grondslag quality …`: refresh and report the soil-quality assessment and data-quality metrics."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

import typer

from db import quality, store
from db.settings import StoreSettings
from grondslag.output import Format, emit

app = typer.Typer(
    help="Soil-quality assessment (toetsing) and data-quality metrics per gemeente, omgevingsdienst and "
    "province.",
    no_args_is_help=True,
)

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]

# the columns a table shows (json and csv give every column)
SUMMARY = (
    "n_locations",
    "n_samples",
    "n_measurements",
    "n_bro_objects",
    "share_samples_with_date",
    "median_age_years",
    "share_locations_older_10y",
    "share_position_quarantined",
    "quarantine_rate",
    "share_locations_bro_100m",
    "share_locations_niet_toepasbaar",
    "share_lead_topsoil_above_wonen",
)


class Level(StrEnum):
    gemeente = "gemeente"
    omgevingsdienst = "omgevingsdienst"
    provincie = "provincie"


KEYS = {
    Level.gemeente: ("gemeente_code", "gemeente_name"),
    Level.omgevingsdienst: ("omgevingsdienst_code", "omgevingsdienst_name"),
    Level.provincie: ("provincie", "provincie_name"),
}


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _round(value: Any) -> Any:
    return round(value, 3) if isinstance(value, float) else value


@app.command()
def refresh(
    plain: Annotated[
        bool,
        typer.Option(
            "--plain", help="Plain refresh: faster, but readers of a view wait while it is rebuilt."
        ),
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Recompute the assessment and the metrics (materialized views; CONCURRENTLY when populated)."""
    engine = store.make_engine(StoreSettings())
    with engine.begin() as conn:
        seconds = quality.refresh(conn, concurrently=False if plain else None)
    engine.dispose()
    rows = [{"view": view, "seconds": round(sec, 3)} for view, sec in seconds.items()]
    rows.append({"view": "total", "seconds": round(sum(seconds.values()), 3)})
    emit(rows, fmt, title="Quality views refreshed")


@app.command()
def report(
    level: Annotated[Level, typer.Option("--level", "-l", help="Area level of the rows.")] = Level.gemeente,
    gemeente: Annotated[
        str | None, typer.Option("--gemeente", help="Only this gemeente (GM0344, 344 or its name).")
    ] = None,
    omgevingsdienst: Annotated[
        str | None, typer.Option("--omgevingsdienst", help="Only this omgevingsdienst (ODRU, RUDU, ODU).")
    ] = None,
    on_date: Annotated[
        str | None,
        typer.Option(
            "--date", help="Membership date for --level omgevingsdienst (YYYY-MM-DD; default today)."
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Print the metrics of the last refresh, one row per area (json: a list of rows)."""
    if gemeente is not None and level is not Level.gemeente:
        raise _fail("--gemeente goes with --level gemeente")
    if omgevingsdienst is not None and level is not Level.omgevingsdienst:
        raise _fail("--omgevingsdienst goes with --level omgevingsdienst")
    if on_date is not None and level is not Level.omgevingsdienst:
        raise _fail("--date goes with --level omgevingsdienst (memberships change over time)")
    day: date | None = None
    if on_date is not None:
        try:
            day = date.fromisoformat(on_date)
        except ValueError:
            raise _fail(f"--date {on_date!r} is not a date (YYYY-MM-DD)") from None
    engine = store.make_engine(StoreSettings())
    try:
        with engine.connect() as conn:
            rows = quality.report(conn, level.value, gemeente or omgevingsdienst, day)
    except quality.UnknownAreaError as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    if not rows and level is Level.omgevingsdienst:
        typer.echo(f"note: no omgevingsdienst had member gemeenten on {day or date.today()}", err=True)
    if fmt is not Format.table:
        emit(rows, fmt)
        return
    key, name = KEYS[level]
    if len(rows) == 1:
        emit({k: _round(v) for k, v in rows[0].items()}, fmt, title=f"Quality of {rows[0][name]}")
    else:
        emit(
            [{key: r[key], name: r[name], **{c: _round(r[c]) for c in SUMMARY}} for r in rows],
            fmt,
            title=f"Quality per {level.value} (--format json|csv for every column)",
        )
    typer.echo(f"note: shares are fractions 0..1. {quality.NORMS_CAVEAT}", err=True)
