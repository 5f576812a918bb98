"""Settings of the store: where the database is, or where the local cluster lives.

All settings come from environment variables prefixed ``GRONDSLAG_`` (or a ``.env`` file).
They are built once by the entry point and passed down; nothing reads them at import time.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StoreSettings(BaseSettings):
    """Database settings. Without ``GRONDSLAG_DATABASE_URL`` a local PostGIS cluster is used."""

    model_config = SettingsConfigDict(env_prefix="GRONDSLAG_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy/libpq URL of an external PostGIS (production). Unset: local cluster.",
    )
    data_dir: Path = Field(
        default=Path(".grondslag/pg"), description="Data directory of the self-managed local cluster."
    )
    pg_port: int = Field(default=54329, description="Port of the local cluster on 127.0.0.1.")
    pg_bindir: Path | None = Field(
        default=None, description="Directory with initdb/pg_ctl; default: found from PATH or Debian."
    )
    db_name: str = Field(default="grondslag", description="Database name in the local cluster.")

    @property
    def external(self) -> bool:
        return bool(self.database_url)

    @cached_property
    def url(self) -> str:
        """The psycopg (v3) SQLAlchemy URL of the store."""
        if self.database_url:
            return normalise_url(self.database_url)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.pg_port}/{self.db_name}"

    @property
    def libpq_url(self) -> str:
        """The same URL in plain libpq form (for psql, pg_dump, asyncpg)."""
        return self.url.replace("postgresql+psycopg://", "postgresql://", 1)


def normalise_url(url: str) -> str:
    """Accept postgres://, postgresql:// and postgresql+driver:// and return the psycopg 3 form."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+asyncpg://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
