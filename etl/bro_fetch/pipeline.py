"""The nightly BRO fetch end to end: resolve the area, fetch, load, set statuses (used by the CLI)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg

from etl.bro_fetch.area import RD, Area, area_from_store, bbox_area, inside_polygons, parse_bbox
from etl.bro_fetch.fetcher import BroFetcher, FetchResult, PointFilter
from etl.bro_fetch.load import LoadOutcome, load_fetched
from etl.bro_fetch.settings import BroFetchSettings
from etl.bro_fetch.state import FetchState
from etl.errors import ConfigError
from etl.progress import Reporter
from etl.run import EXIT_FAILED, EXIT_OK, LOCK_KEY, AfterLoad, EtlRunner, RunLocked


@dataclass(frozen=True, slots=True)
class AreaRequest:
    """The area as asked for: exactly one of a gemeente, a bbox or the province."""

    gemeente: str | None = None
    bbox: str | None = None
    bbox_crs: str = RD
    province: bool = False

    def check(self) -> None:
        if sum((self.gemeente is not None, self.bbox is not None, self.province)) != 1:
            raise ConfigError(
                "say which area: exactly one of --gemeente CODE, --bbox minx,miny,maxx,maxy, --province"
            )


@dataclass(slots=True)
class FetchReport:
    fetch: FetchResult
    load: LoadOutcome | None = None

    @property
    def exit_code(self) -> int:
        load_failed = self.load is not None and (
            self.load.failed or (self.load.summary is not None and self.load.summary.exit_code != EXIT_OK)
        )
        return EXIT_FAILED if (not self.fetch.complete or load_failed) else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "fetch": self.fetch.as_dict(),
            "load": self.load.as_dict() if self.load else None,
        }


def resolve_area(request: AreaRequest, store_url: str) -> Area:
    """The WGS84 search area; gemeente and province come from the polygons in PostGIS."""
    request.check()
    if request.bbox is not None:
        return bbox_area(parse_bbox(request.bbox, request.bbox_crs))
    with psycopg.connect(store_url) as conn:
        return area_from_store(conn, request.gemeente)


def _polygon_filter(area: Area, store_url: str) -> PointFilter | None:
    if not area.polygons:
        return None

    def keep(points: dict[str, tuple[float, float]]) -> set[str]:
        with psycopg.connect(store_url) as conn:
            return inside_polygons(conn, area.gemeente, points)

    return keep


def _check_etl_lock(store_url: str) -> None:
    """Fail early (before hours of downloading) when another ETL run holds the lock."""
    with psycopg.connect(store_url, autocommit=True) as conn:
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
            raise RunLocked("another Grondslag ETL run holds the lock; try again when it has finished")
        conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def fetch_bro(
    settings: BroFetchSettings,
    store_url: str,
    request: AreaRequest,
    types: list[str],
    *,
    reporter: Reporter,
    since: date | None = None,
    full: bool = False,
    dry_run: bool = False,
    after_load: AfterLoad | None = None,
    command: str = "etl fetch-bro",
    on_event: Callable[..., None] | None = None,
) -> FetchReport:
    """Fetch ``types`` in the requested area and (unless ``dry_run``) load them. Raises ConfigError,
    RunLocked, StateLocked, FetchError (BRO unreachable) and psycopg.OperationalError."""
    area = resolve_area(request, store_url)
    if not dry_run:
        _check_etl_lock(store_url)
    with FetchState.open(settings.download_dir, persist=not dry_run) as state:
        fetcher = BroFetcher(settings, state, on_event=on_event or reporter.event)
        result = fetcher.fetch(
            area,
            types,
            since=since,
            full=full,
            dry_run=dry_run,
            point_filter=_polygon_filter(area, store_url),
        )
        if dry_run:
            return FetchReport(result)
        runner = EtlRunner(store_url, reporter, command=command)
        return FetchReport(result, load_fetched(state, settings, runner, after_load=after_load))
