"""Coordinates: CRS/axis-order decision per file, swapped or missing points, transform to RD New.

The ``x``/``y`` of a record are easting/longitude and northing/latitude, whatever the axis order an
EPSG definition prescribes. With ``crs: detect`` the CRS *and* the axis order are decided once for the
whole file by majority over the coordinate ranges:

- RD New (EPSG:28992): x 0..300 000, y 300 000..625 000;
- WGS84 (EPSG:4326) in the Netherlands region: lon 2..8, lat 50..54.5; written lon/lat or lat/lon.

A record whose pair fits the decided CRS only with x and y exchanged is reported as swapped (the
caller quarantines it as ``xy_swapped``; it is never repaired). A record without a usable pair
(empty, text, 0/0) is missing (``missing_coordinates``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

RD = "EPSG:28992"
WGS84 = "EPSG:4326"
RD_X = (0.0, 300_000.0)
RD_Y = (300_000.0, 625_000.0)
LON = (2.0, 8.0)
LAT = (50.0, 54.5)


def _inside(v: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= v <= bounds[1]


def classify(x: float, y: float) -> str | None:
    """``rd``, ``rd_swapped``, ``lonlat``, ``latlon`` or None for a pair that fits none of them."""
    if _inside(x, RD_X) and _inside(y, RD_Y) and x > 1000:
        return "rd"
    if _inside(y, RD_X) and _inside(x, RD_Y) and y > 1000:
        return "rd_swapped"
    if _inside(x, LON) and _inside(y, LAT):
        return "lonlat"
    if _inside(y, LON) and _inside(x, LAT):
        return "latlon"
    return None


@dataclass(frozen=True, slots=True)
class CrsDecision:
    """The CRS of a file's coordinates and whether its x column holds northing/latitude."""

    crs: str
    swap: bool = False
    detected: bool = False


_DECISIONS = {
    "rd": CrsDecision(RD, False, True),
    "rd_swapped": CrsDecision(RD, True, True),
    "lonlat": CrsDecision(WGS84, False, True),
    "latlon": CrsDecision(WGS84, True, True),
}


def detect_crs(pairs: Iterable[tuple[float, float]]) -> CrsDecision:
    """Decide CRS and axis order for a whole file from its (x, y) pairs (majority vote)."""
    votes = Counter(c for c in (classify(x, y) for x, y in pairs) if c)
    if not votes:
        return CrsDecision(RD, False, True)
    return _DECISIONS[votes.most_common(1)[0][0]]


@lru_cache(maxsize=64)
def crs_kind(crs: str) -> str:
    """``rd`` for RD New, ``geographic`` for lon/lat CRSs, ``other`` otherwise (no range checks)."""
    try:
        parsed = CRS.from_user_input(crs)
    except CRSError:
        return "other"
    if parsed.to_epsg() == 28992:
        return "rd"
    return "geographic" if parsed.is_geographic else "other"


def is_swapped(x: float, y: float, decision: CrsDecision) -> bool:
    """Whether (x, y) fits the decided CRS only with its axes exchanged."""
    kind = crs_kind(decision.crs)
    cls = classify(x, y)
    if kind == "rd":
        return cls == ("rd" if decision.swap else "rd_swapped")
    if kind == "geographic":
        return cls == ("lonlat" if decision.swap else "latlon")
    return False


def valid_pair(x: float | None, y: float | None) -> bool:
    """False for missing, non-finite or 0/0 coordinates."""
    if x is None or y is None:
        return False
    if not (math.isfinite(x) and math.isfinite(y)):
        return False
    return not (x == 0 and y == 0)


@lru_cache(maxsize=64)
def _transformer(crs: str) -> Transformer:
    return Transformer.from_crs(crs, RD, always_xy=True)


def to_rd(xs: Sequence[float], ys: Sequence[float], crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Transform easting/longitude and northing/latitude arrays from ``crs`` to EPSG:28992."""
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    if crs_kind(crs) == "rd" or not len(x):
        return x, y
    return _transformer(crs).transform(x, y)


def coord_decimals(raw: object) -> int | None:
    """Number of decimals of a coordinate as delivered (``119058,57`` -> 2, ``141163.1`` -> 1)."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return 0
    if isinstance(raw, float):
        text = repr(raw)
        if not math.isfinite(raw) or "e" in text.lower():
            return None
        return len(text.split(".")[1].rstrip("0")) if "." in text else 0
    text = str(raw).strip()
    if not text:
        return None
    for sep in (",", "."):
        if sep in text:
            return len(text.rsplit(sep, 1)[1])
    return 0
