"""Connecting to the store and making sure it is ready: database, PostGIS, migrations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from db.cluster import ClusterStatus, LocalCluster
from db.settings import StoreSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def local_cluster(settings: StoreSettings) -> LocalCluster:
    """The self-managed cluster described by the settings (never used with an external URL)."""
    if settings.external:
        raise RuntimeError("GRONDSLAG_DATABASE_URL is set: the local cluster is not used")
    return LocalCluster(settings.data_dir, settings.pg_port, settings.pg_bindir)


def make_engine(settings: StoreSettings, **kwargs) -> Engine:
    """A SQLAlchemy engine for the store."""
    return sa.create_engine(settings.url, pool_pre_ping=True, future=True, **kwargs)


def ensure_database(settings: StoreSettings) -> bool:
    """Create the database (local cluster only) and the postgis extension. True when created."""
    created = False
    url = make_url(settings.url)
    if not settings.external:
        admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
            )
            if exists.first() is None:
                conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
                created = True
        admin.dispose()
    engine = make_engine(settings)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    return created


@dataclass(frozen=True)
class StoreStatus:
    mode: str  # "local" or "external"
    url: str  # password masked
    reachable: bool
    postgis_version: str | None
    migration: str | None
    cluster: ClusterStatus | None
    error: str | None = None


def store_status(settings: StoreSettings) -> StoreStatus:
    """Where the store is and whether it answers (used by `db status` and /health)."""
    cluster = None if settings.external else local_cluster(settings).status()
    masked = make_url(settings.url).render_as_string(hide_password=True)
    mode = "external" if settings.external else "local"
    if cluster is not None and not cluster.running:
        return StoreStatus(mode, masked, False, None, None, cluster, "local cluster not running")
    try:
        engine = make_engine(settings, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            pg = conn.execute(sa.text("SELECT postgis_lib_version()")).scalar()
            has_version = conn.execute(sa.text("SELECT to_regclass('public.alembic_version')")).scalar()
            head = (
                conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
                if has_version
                else None
            )
        engine.dispose()
        return StoreStatus(mode, masked, True, pg, head, cluster)
    except Exception as exc:  # noqa: BLE001 - status reports any failure as text
        return StoreStatus(mode, masked, False, None, None, cluster, str(exc).splitlines()[0])


def prepare(settings: StoreSettings) -> None:
    """The start-up path: create the database (+ postgis), migrate to head, load the reference data."""
    from db.seed import seed

    ensure_database(settings)
    migrate(settings)
    engine = make_engine(settings)
    try:
        with engine.begin() as conn:
            seed(conn)
    finally:
        engine.dispose()


def alembic_config(settings: StoreSettings):
    """Alembic configuration pointing at db/migrations and the store's URL."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", settings.url.replace("%", "%%"))
    return cfg


def migrate(settings: StoreSettings, revision: str = "head") -> None:
    """Upgrade the schema to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: StoreSettings, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(settings), revision)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from db.settings import StoreSettings as _S

    return ScriptDirectory.from_config(alembic_config(_S(database_url="postgresql://x/y"))).get_current_head()
