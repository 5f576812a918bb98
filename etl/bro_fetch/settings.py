"""Settings of the BRO fetcher: environment variables prefixed ``GRONDSLAG_BRO_`` (or a ``.env`` file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from etl.bro_fetch.endpoints import DEFAULT_TYPES, OBJECT_TYPES


class BroFetchSettings(BaseSettings):
    """Where BRO is, how politely to call it, and where downloads and the fetch state live."""

    model_config = SettingsConfigDict(env_prefix="GRONDSLAG_BRO_", env_file=".env", extra="ignore")

    base_url: str = Field(
        default="https://publiek.broservices.nl", description="Base URL of BRO's public REST services."
    )
    requests_per_second: float = Field(default=2.0, gt=0, description="Upper bound on the request rate.")
    burst: int = Field(default=1, ge=1, description="Requests allowed back to back after an idle spell.")
    max_retries: int = Field(default=5, ge=0, description="Retries per request on 429, 5xx and timeouts.")
    timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for a connection or data.")
    backoff_seconds: float = Field(default=1.0, ge=0, description="First back-off; doubles per retry.")
    max_backoff_seconds: float = Field(default=60.0, ge=0, description="Longest back-off between retries.")
    max_retry_after_seconds: float = Field(
        default=900.0, ge=0, description="Longest Retry-After honoured; a longer one fails the request."
    )
    download_dir: Path = Field(
        default=Path(".grondslag/bro"), description="Downloaded objects and the fetch state (state.json)."
    )
    types: list[str] = Field(default=list(DEFAULT_TYPES), description="Object types fetched by default.")
    result_cap: int = Field(default=2000, ge=1, description="BRO's maximum of documents per search.")
    min_cell_degrees: float = Field(
        default=0.0005, gt=0, description="Smallest search cell (degrees) when splitting a capped area."
    )
    full_scan_days: int = Field(
        default=7, ge=0, description="Search without registration period every N days (0: every run)."
    )
    overlap_days: int = Field(
        default=1, ge=0, description="Days an incremental search overlaps the last run."
    )
    source_name: str = Field(default="bro", description="Source name the loaded objects are recorded under.")
    request_reference: str = Field(default="grondslag", description="requestReference sent with searches.")
    user_agent: str = Field(default="grondslag-bro-fetch/0.1", description="User-Agent header.")

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t.upper() not in OBJECT_TYPES]
        if unknown:
            raise ValueError(f"unknown BRO object type(s) {unknown}; known: {sorted(OBJECT_TYPES)}")
        return [t.upper() for t in value]

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {value!r}")
        return value.rstrip("/")
