"""`grondslag db …`: the store — local cluster, migrations, reference data, status."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Annotated

import typer

from db import store
from db.cluster import ClusterError
from db.settings import StoreSettings
from grondslag.output import Format, emit

app = typer.Typer(
    help="The PostGIS store: start/stop the local cluster, migrate, seed, status.", no_args_is_help=True
)

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def _settings() -> StoreSettings:
    return StoreSettings()


def bring_up(settings: StoreSettings, echo=typer.echo) -> None:
    """Start the local cluster (if local), create the database and the postgis extension."""
    if settings.external:
        echo("Using the external database from GRONDSLAG_DATABASE_URL; no local cluster is touched.")
    else:
        cluster = store.local_cluster(settings)
        created = cluster.init()
        started = cluster.start()
        if created:
            echo(f"Created a PostgreSQL cluster in {cluster.data_dir}")
        echo(
            f"Local PostGIS {'started' if started else 'already running'} on 127.0.0.1:{cluster.port} "
            f"(data: {cluster.data_dir})"
        )
    if store.ensure_database(settings):
        echo("Created database with the postgis extension")


@app.command()
def up() -> None:
    """Start the store: initdb + start the local cluster (no-op when running), create the database."""
    try:
        bring_up(_settings())
    except ClusterError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def down() -> None:
    """Stop the local cluster (nothing to do for an external database)."""
    settings = _settings()
    if settings.external:
        typer.echo("GRONDSLAG_DATABASE_URL is set: the external database is not stopped by Grondslag.")
        return
    stopped = store.local_cluster(settings).stop()
    typer.echo("Local PostGIS stopped." if stopped else "Local PostGIS was not running.")


@app.command()
def status(fmt: FormatOpt = Format.table) -> None:
    """Say where the store is, whether it answers, its PostGIS version and migration revision."""
    st = store.store_status(_settings())
    row = {
        "mode": st.mode,
        "url": st.url,
        "reachable": st.reachable,
        "postgis_version": st.postgis_version,
        "migration": st.migration,
        "migration_head": store.head_revision(),
    }
    if st.cluster is not None:
        row |= {
            "data_dir": str(st.cluster.data_dir),
            "port": st.cluster.port,
            "initialised": st.cluster.initialised,
            "running": st.cluster.running,
            "pid": st.cluster.pid,
        }
    if st.error:
        row["error"] = st.error
    emit(row, fmt, title="Grondslag store")
    if not st.reachable:
        raise typer.Exit(1)


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Upgrade the schema with the Alembic migrations in db/migrations."""
    store.migrate(_settings(), revision)
    typer.echo(f"Schema at {revision}.")


@app.command()
def downgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "-1") -> None:
    """Downgrade the schema (default: one step)."""
    store.downgrade(_settings(), revision)
    typer.echo(f"Schema downgraded to {revision}.")


@app.command()
def seed(fmt: FormatOpt = Format.table) -> None:
    """Load the reference data (gemeenten, omgevingsdiensten, parameters, norms). Idempotent."""
    from db.seed import seed as run_seed

    engine = store.make_engine(_settings())
    with engine.begin() as conn:
        counts = run_seed(conn)
    emit(counts, fmt, title="Reference data loaded")


@app.command()
def backup(path: Annotated[Path, typer.Argument(help="Output file (pg_dump custom format).")]) -> None:
    """Back up the store with pg_dump (custom format)."""
    settings = _settings()
    subprocess.run(["pg_dump", "-Fc", "-f", str(path), settings.libpq_url], check=True)
    typer.echo(f"Backup written to {path}")


@app.command()
def restore(path: Annotated[Path, typer.Argument(help="A file written by `grondslag db backup`.")]) -> None:
    """Restore the store from a pg_dump file (replaces existing objects)."""
    settings = _settings()
    subprocess.run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "-d", settings.libpq_url, str(path)],
        check=True,
    )
    typer.echo(f"Restored from {path}")
