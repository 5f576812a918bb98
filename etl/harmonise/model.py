"""Intermediate state of a harmonisation run: locations and samples as they are collected.

Quarantine decisions on locations (coordinates) are taken at the end, when the whole file has been
seen (``crs: detect`` decides per file); samples and analyses are kept per location until then so
that a rejected location takes all its samples and analyses with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from etl.records import HMeasurement, Locator, QuarantineRecord

# stable quarantine reason codes (outside_gemeente is decided later by the loader, in PostGIS)
MISSING_COORDINATES = "missing_coordinates"
XY_SWAPPED = "xy_swapped"
INVALID_DATE = "invalid_date"
FUTURE_DATE = "future_date"
DEPTH_FROM_GT_TO = "depth_from_gt_to"
INVALID_DEPTH = "invalid_depth"
NEGATIVE_VALUE = "negative_value"
NON_NUMERIC_VALUE = "non_numeric_value"
UNKNOWN_PARAMETER = "unknown_parameter"
UNKNOWN_UNIT = "unknown_unit"
DUPLICATE_ROW = "duplicate_row"
MISSING_ID = "missing_id"  # a row without location id: it cannot be attached to anything

REASONS = (
    MISSING_COORDINATES,
    XY_SWAPPED,
    INVALID_DATE,
    FUTURE_DATE,
    DEPTH_FROM_GT_TO,
    INVALID_DEPTH,
    NEGATIVE_VALUE,
    NON_NUMERIC_VALUE,
    UNKNOWN_PARAMETER,
    UNKNOWN_UNIT,
    DUPLICATE_ROW,
    MISSING_ID,
)


@dataclass(slots=True)
class Problem:
    """Why a location or sample is rejected."""

    reason: str
    field: str | None
    message: str


@dataclass(slots=True)
class SampleState:
    key: str
    location_key: str
    locator: Locator
    raw: dict[str, Any]
    signature: tuple[Any, ...]  # raw (date, depth from, depth to) of the first row
    sample_date: date | None = None
    depth_from_m: float | None = None
    depth_to_m: float | None = None
    investigation_key: str | None = None
    problem: Problem | None = None
    measurements: list[HMeasurement] = field(default_factory=list)
    quarantine: list[QuarantineRecord] = field(default_factory=list)  # analysis-level


@dataclass(slots=True)
class LocationState:
    key: str
    locator: Locator
    raw: dict[str, Any]
    first_xy: tuple[Any, Any] = (None, None)  # raw (x, y) of the first row: cheap per-row comparison
    first_wkb: bytes | None = None
    samples_by_id: dict[Any, SampleState] = field(default_factory=dict)  # raw sample id -> sample
    coords: list[tuple[Any, Any]] = field(default_factory=list)  # distinct raw (x, y) pairs seen
    wkbs: list[bytes | None] = field(default_factory=list)  # distinct geometries seen (vector)
    crs: str | None = None  # CRS of this location's coordinates when given per record
    name: str | None = None
    investigation_key: str | None = None
    samples: list[SampleState] = field(default_factory=list)
    problem: Problem | None = None
    x: float | None = None  # EPSG:28992 after finishing
    y: float | None = None
    geometry_wkt: str | None = None
    coord_decimals: int | None = None
