"""End of a harmonisation run: location coordinates, then the batch (locations, samples, analyses).

Coordinates are decided for the whole file at once: with ``crs: detect`` the CRS and axis order
follow from the majority of the coordinate pairs; a location whose pair is swapped relative to that
decision, or missing, is rejected with all its samples and analyses (never repaired).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import shapely
from pyproj.exceptions import CRSError

from etl.harmonise.coordinates import (
    CrsDecision,
    coord_decimals,
    detect_crs,
    is_swapped,
    to_rd,
    valid_pair,
)
from etl.harmonise.model import MISSING_COORDINATES, XY_SWAPPED, LocationState, Problem
from etl.harmonise.values import parse_number
from etl.mapping import Mapping, normalise_crs
from etl.records import HarmonisedBatch, HLocation, HSample, QuarantineRecord


def _float(raw: object, decimal: str) -> float | None:
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return None if raw != raw else float(raw)
    return parse_number(str(raw), decimal)


def _points(loc: LocationState, mapping: Mapping) -> list[tuple[float | None, float | None, object]]:
    """Every distinct (x, y, geometry) the location was delivered with, as floats in source order."""
    if mapping.columns is not None and mapping.columns.geometry:
        out: list[tuple[float | None, float | None, object]] = []
        for wkb in loc.wkbs:
            geom = shapely.from_wkb(wkb) if wkb is not None else None
            if geom is None or geom.is_empty:
                out.append((None, None, None))
            elif geom.geom_type == "Point":
                out.append((geom.x, geom.y, None))
            else:
                pt = geom.representative_point()
                out.append((pt.x, pt.y, geom))
        return out
    return [(_float(x, mapping.decimal), _float(y, mapping.decimal), None) for x, y in loc.coords]


def _crs_of(loc: LocationState, mapping: Mapping) -> str | None:
    if loc.crs:
        try:
            return normalise_crs(loc.crs)
        except CRSError:
            return None
    return None if mapping.crs == "detect" else mapping.crs


def resolve_coordinates(locs: list[LocationState], mapping: Mapping) -> None:
    """Set ``x``/``y`` (EPSG:28992) on good locations and ``problem`` on rejected ones."""
    points = {loc.key: _points(loc, mapping) for loc in locs}
    detected: CrsDecision | None = None
    if mapping.crs == "detect":
        pairs = [
            (x, y)
            for loc in locs
            if not loc.crs
            for x, y, _ in points[loc.key][:1]
            if valid_pair(x, y)  # type: ignore[arg-type]
        ]
        detected = detect_crs(pairs)  # type: ignore[arg-type]
    cols = mapping.columns
    field = "geometry" if cols is None or cols.geometry else f"{cols.x}/{cols.y}"
    todo: dict[tuple[str, bool], list[tuple[LocationState, float, float, object]]] = defaultdict(list)
    for loc in locs:
        crs = _crs_of(loc, mapping)
        if crs is None and detected is None:
            loc.problem = Problem(
                MISSING_COORDINATES, cols.crs if cols else "crs", f"unknown CRS {loc.crs!r}"
            )
            continue
        decision = CrsDecision(crs) if crs else detected
        assert decision is not None
        pts = points[loc.key]
        if not pts:
            loc.problem = Problem(MISSING_COORDINATES, field, "no coordinates")
            continue
        for x, y, _geom in pts:
            if not valid_pair(x, y):
                loc.problem = Problem(MISSING_COORDINATES, field, f"missing coordinates ({x!r}, {y!r})")
                break
            if is_swapped(x, y, decision):  # type: ignore[arg-type]
                msg = f"x/y swapped: ({x}, {y}) does not fit {decision.crs} the way the file is written"
                loc.problem = Problem(XY_SWAPPED, field, msg)
                break
        if loc.problem is not None:
            continue
        x, y, geom = pts[0]
        if decision.swap:
            x, y = y, x
        todo[(decision.crs, decision.swap)].append((loc, x, y, geom))  # type: ignore[arg-type]
        if loc.coords:
            dx, dy = (coord_decimals(v) for v in loc.coords[0])
            loc.coord_decimals = (
                max(d for d in (dx, dy) if d is not None) if dx is not None or dy is not None else None
            )
    for (crs, swap), items in todo.items():
        xs, ys = to_rd([i[1] for i in items], [i[2] for i in items], crs)
        for (loc, _x, _y, geom), x, y in zip(items, xs, ys, strict=True):
            loc.x, loc.y = round(float(x), 3), round(float(y), 3)
            if geom is not None:
                loc.geometry_wkt = _geometry_wkt(geom, crs, swap)


def _geometry_wkt(geom: shapely.Geometry, crs: str, swap: bool) -> str:
    def _fn(coords: np.ndarray) -> np.ndarray:
        xs, ys = (coords[:, 1], coords[:, 0]) if swap else (coords[:, 0], coords[:, 1])
        return np.column_stack(to_rd(xs, ys, crs))

    return shapely.transform(geom, _fn).wkt


def emit(locs: Iterable[LocationState], batch: HarmonisedBatch) -> None:
    """Append good locations/samples/analyses and the quarantine of the rejected ones to ``batch``."""
    for loc in locs:
        if loc.problem is not None:
            p = loc.problem
            batch.quarantine.append(
                QuarantineRecord(loc.locator, p.reason, p.field, p.message, loc.raw, "location", loc.key)
            )
            continue
        dates = []
        for s in loc.samples:
            if s.problem is not None:
                p = s.problem
                batch.quarantine.append(
                    QuarantineRecord(s.locator, p.reason, p.field, p.message, s.raw, "sample")
                )
                continue
            lutum = organic = None
            for m in s.measurements:
                if m.parameter_code == "lutum":
                    lutum = m.value
                elif m.parameter_code == "organische_stof":
                    organic = m.value
            batch.samples.append(
                HSample(
                    key=s.key,
                    location_key=loc.key,
                    depth_from_m=s.depth_from_m,
                    depth_to_m=s.depth_to_m,
                    sample_date=s.sample_date,
                    investigation_key=s.investigation_key,
                    lutum_pct=lutum,
                    organic_matter_pct=organic,
                    locator=s.locator,
                )
            )
            batch.measurements.extend(s.measurements)
            batch.quarantine.extend(s.quarantine)
            if s.sample_date is not None:
                dates.append(s.sample_date)
        batch.locations.append(
            HLocation(
                key=loc.key,
                x=loc.x,
                y=loc.y,
                name=loc.name,
                investigation_key=loc.investigation_key,
                investigation_date=min(dates) if dates else None,
                coord_decimals=loc.coord_decimals,
                locator=loc.locator,
                raw=loc.raw,
                geometry_wkt=loc.geometry_wkt,
            )
        )
