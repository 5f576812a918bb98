"""Settings of the API service (prefix ``GRONDSLAG_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from db.settings import StoreSettings


class ApiSettings(StoreSettings):
    """Store settings plus what the web service needs."""

    model_config = SettingsConfigDict(env_prefix="GRONDSLAG_", env_file=".env", extra="ignore")

    api_keys: list[str] = Field(default_factory=list, description="Keys that may call endpoints that write.")
    cors_origins: list[str] = Field(default_factory=list, description="Allowed CORS origins ('*' for any).")
    max_limit: int = Field(default=10_000, description="Largest page size (`limit`) the API accepts.")
    default_limit: int = Field(default=100, description="Page size when `limit` is not given.")
    pool_min: int = Field(default=2, description="Minimum connections in the API's database pool.")
    pool_max: int = Field(default=10, description="Maximum connections in the API's database pool.")
    access_log: bool = Field(default=True, description="One JSON log line per request on stderr.")
    public_url: str | None = Field(default=None, description="Base URL for links when behind a proxy.")
    statement_timeout_ms: int = Field(
        default=30_000, description="PostgreSQL statement_timeout of the API's connections (ms)."
    )
    max_url_chars: int = Field(
        default=8_192, description="Longest request target (path + query) accepted; longer gets 414."
    )
    max_body_bytes: int = Field(default=65_536, description="Largest request body accepted; larger gets 413.")
    readahead_min_limit: int = Field(
        default=1000, description="Pages this large (bulk downloads) get their next page built ahead."
    )
    version_check_seconds: float = Field(
        default=1.0, description="How often (at most) the API asks the database whether data changed."
    )
