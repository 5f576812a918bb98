"""SIKB0101 reader (IMSIKB0101 FeatureCollection), also for BRO SAD messages that embed one.

The file is streamed with ``lxml.etree.iterparse``: every ``featureMember`` is reduced to a small
summary and cleared, elements are matched by local name (any namespace prefix or version). At the
end the ``gml:id`` references are resolved: a Sample's analyses are its ``sam:relatedObservation``
links plus the Analyses whose ``om:featureOfInterest`` is the sample; its location is the first
Borehole / MeasurementPoint / Trench reached over ``sam:relatedSamplingFeature`` links (a Filter or
the samples a composite sample is made of lie in between). Analyses on a borehole, filter or layer
themselves (field measurements) are not sample analyses and are not read.

``read`` yields one long-format RawRecord per sample analysis, with fixed column names that
``etl.mapping.SIKB0101_MAPPING`` maps: the parameter is the SIKB domain-table URN
(``urn:immetingen:parameter:id:1116``), matched through the catalogue's ``sikb_id``. Locations
without geometry (the SIKB example file has none) end in quarantine as ``missing_coordinates``.
Geometry is read with its ``srsName``; the axis order follows the CRS (EPSG:4326 is lat/lon) and
the record's ``x``/``y`` are always easting/longitude and northing/latitude.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from pyproj import CRS
from pyproj.exceptions import CRSError

from etl.errors import SourceError
from etl.records import Locator, RawRecord

GML_ID = "{http://www.opengis.net/gml/3.2}id"
_HREF = "{http://www.w3.org/1999/xlink}href"
LOCATION_TYPES = frozenset({"Borehole", "MeasurementPoint", "Trench", "SamplingPoint", "Excavation"})
SAMPLING_FEATURES = frozenset({"Filter", "Layer", "Finishing", "Sample"}) | LOCATION_TYPES

# urn:immetingen:Eenheid:id:<n> -> unit. Only ids whose meaning the sample files themselves show (the
# alphanumericValue repeats the unit as text: "0.078 cm", "0.078 mg/kg ds", "633,2 mg/l", "0,02 ug/l").
SIKB_UNITS: dict[int, str] = {14: "ug/l", 19: "cm", 58: "mg/kg ds", 60: "mg/l"}
_DEPTH_TO_M = {"cm": 0.01, "m": 1.0, "mm": 0.001}
_URN_ID = re.compile(r":id:(\d+)\s*$", re.IGNORECASE)
_ALNUM_UNIT = re.compile(r"^\s*[<>]?\s*[-+]?[\d.,]+\s*(?P<unit>\S.*?)\s*$")


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _href(el: etree._Element) -> str | None:
    ref = el.get(_HREF)
    return ref[1:] if ref and ref.startswith("#") else ref


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    text = (el.text or "").strip()
    return text or None


def _child(el: etree._Element, name: str) -> etree._Element | None:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _find(el: etree._Element, name: str) -> etree._Element | None:
    for c in el.iter():
        if _local(c.tag) == name:
            return c
    return None


def sikb_unit(urn: str | None) -> str | None:
    """The unit a ``urn:immetingen:Eenheid:id:<n>`` stands for, if known."""
    m = _URN_ID.search(urn or "")
    return SIKB_UNITS.get(int(m.group(1))) if m else None


@dataclass(slots=True)
class _Feature:
    kind: str
    gml_id: str
    member: int  # featureMember number (1-based)
    line: int | None
    name: str | None = None
    related: list[str] = field(default_factory=list)  # relatedSamplingFeature hrefs
    observations: list[str] = field(default_factory=list)  # relatedObservation hrefs
    feature_of_interest: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _depth(el: etree._Element, name: str) -> tuple[str | None, str | None]:
    holder = _child(el, name)
    value = _find(holder, "value") if holder is not None else None
    if value is None:
        return None, None
    return _text(value), sikb_unit(value.get("uom")) or value.get("uom")


def _geometry(el: etree._Element) -> tuple[float | None, float | None, str | None]:
    """(x, y, crs) of the location's point (easting/lon, northing/lat), from gml:pos or a posList."""
    for holder_name in ("geometry", "shape"):
        holder = _child(el, holder_name)
        if holder is None or len(holder) == 0:
            continue
        pos = _find(holder, "pos")
        coords: list[float] = []
        if pos is not None and pos.text:
            coords = [float(v) for v in pos.text.split()[:2]]
        else:
            plist = _find(holder, "posList")
            if plist is not None and plist.text:
                vals = [float(v) for v in plist.text.split()]
                pairs = list(zip(vals[0::2], vals[1::2], strict=False))
                if pairs:
                    coords = [sum(p[0] for p in pairs) / len(pairs), sum(p[1] for p in pairs) / len(pairs)]
        if len(coords) < 2:
            continue
        srs = next((e.get("srsName") for e in holder.iter() if e.get("srsName")), None)
        a, b = coords
        crs = None
        if srs:
            try:
                parsed = CRS.from_user_input(srs)
                crs = f"EPSG:{parsed.to_epsg()}" if parsed.to_epsg() else parsed.to_string()
                if parsed.axis_info and parsed.axis_info[0].direction.lower() in ("north", "south"):
                    a, b = b, a  # lat/lon or northing/easting axis order
            except CRSError:
                crs = srs
        return a, b, crs
    return None, None, None


def _summarise(el: etree._Element, member: int) -> _Feature | None:
    kind = _local(el.tag)
    gml_id = el.get(GML_ID)
    if not gml_id:
        return None
    f = _Feature(kind, gml_id, member, el.sourceline)
    f.name = _text(_child(el, "name"))
    for c in el.iter():
        name = _local(c.tag)
        if name == "relatedSamplingFeature" and c.get(_HREF):
            f.related.append(_href(c))  # type: ignore[arg-type]
        elif (
            name == "relatedObservation"
            and c.get(_HREF)
            and _local(c.getparent().tag) != "ObservationContext"
        ):
            f.observations.append(_href(c))  # type: ignore[arg-type]
        elif name == "featureOfInterest" and c.get(_HREF):
            f.feature_of_interest = _href(c)
    if kind == "Analysis":
        result = _child(el, "result")
        num = _find(result, "numericValue") if result is not None else None
        alnum = _text(_find(result, "alphanumericValue")) if result is not None else None
        prop = _find(el, "PhysicalProperty")
        unit = sikb_unit(num.get("uom")) if num is not None else None
        if unit is None and alnum:
            m = _ALNUM_UNIT.match(alnum)
            unit = m.group("unit") if m else None
        if unit is None and num is not None:
            unit = num.get("uom")
        limit = _text(_find(result, "limitSymbol")) if result is not None else None
        quantity = _text(_child(prop, "quantity")) if prop is not None else None
        parameter = _text(_child(prop, "parameter")) if prop is not None else None
        f.data = {
            "value": _text(num) if num is not None and _text(num) else alnum,
            "unit": unit,
            "limit_symbol": limit or "",
            "alphanumeric_value": alnum,
            "quantity": quantity,
            "parameter": parameter or quantity,
            "condition": _text(_child(prop, "condition")) if prop is not None else None,
        }
    elif kind == "Sample":
        sampling_time = _child(el, "samplingTime")
        time = _find(sampling_time, "timePosition") if sampling_time is not None else None
        material = _child(el, "materialClass")
        f.data = {
            "date": _text(time) or _text(_child(el, "startTime")),
            "compartment": material.get(_HREF) if material is not None else None,
            "depth_from": _depth(el, "upperDepth"),
            "depth_to": _depth(el, "lowerDepth"),
        }
    elif kind in LOCATION_TYPES:
        x, y, crs = _geometry(el)
        f.data = {"x": x, "y": y, "crs": crs, "start": _text(_child(el, "startTime"))}
    elif kind == "Project":
        f.data = {"code": _text(_child(el, "projectCode")) or _text(_child(el, "reportNumber"))}
        f.related = [_href(c) for c in el.iter() if _local(c.tag) == "measurementObjects" and c.get(_HREF)]  # type: ignore[misc]
    return f


def _parse(path: Path) -> tuple[dict[str, _Feature], dict[str, Any]]:
    features: dict[str, _Feature] = {}
    meta: dict[str, Any] = {"kinds": Counter(), "root": None, "version": None}
    member = 0
    try:
        for event, el in etree.iterparse(
            str(path), events=("start", "end"), huge_tree=True, remove_comments=True
        ):
            name = _local(el.tag)
            if event == "start":
                if meta["root"] is None:
                    meta["root"] = name
                continue
            if name == "featureMember":
                member += 1
                for feature in el:
                    f = _summarise(feature, member)
                    if f is not None:
                        meta["kinds"][f.kind] += 1
                        features.setdefault(f.gml_id, f)
                el.clear()
                parent = el.getparent()
                while parent is not None and el.getprevious() is not None:
                    del parent[0]
            elif name == "version" and meta["version"] is None and _local(el.getparent().tag) == "metaData":
                meta["version"] = _text(el)
            elif name in ("reportDate", "qualityRegime", "objectIdAccountableParty", "deliveryContext"):
                meta[name] = _text(el)
    except etree.XMLSyntaxError as exc:
        raise SourceError(str(path), f"not well-formed XML: {exc}") from exc
    if not member:
        raise SourceError(str(path), "no IMSIKB0101 featureMember elements found")
    return features, meta


def _location_of(
    sample: _Feature, features: dict[str, _Feature], reverse: dict[str, list[str]]
) -> _Feature | None:
    seen = {sample.gml_id}
    queue = list(sample.related)
    backward = list(reverse.get(sample.gml_id, ()))
    while queue or backward:
        ref = queue.pop(0) if queue else backward.pop(0)
        if ref in seen:
            continue
        seen.add(ref)
        f = features.get(ref)
        if f is None:
            continue
        if f.kind in LOCATION_TYPES:
            return f
        if f.kind in SAMPLING_FEATURES:
            queue.extend(f.related)
    return None


def _unique_names(items: list[_Feature]) -> dict[str, str]:
    counts = Counter(f.name or f.gml_id for f in items)
    return {
        f.gml_id: (f.name if f.name and counts[f.name] == 1 else f"{f.name or ''}{f.gml_id}") for f in items
    }


def read(path: str | Path, /) -> Iterator[RawRecord]:
    """Yield one long-format RawRecord per analysis of a sample (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise SourceError(str(path), "file not found")
    features, meta = _parse(path)
    samples = [f for f in features.values() if f.kind == "Sample"]
    analyses_of: dict[str, list[str]] = {}
    reverse: dict[str, list[str]] = {}
    project_of: dict[str, str] = {}
    for f in features.values():
        if f.kind == "Analysis" and f.feature_of_interest:
            analyses_of.setdefault(f.feature_of_interest, []).append(f.gml_id)
        for ref in f.related:
            reverse.setdefault(ref, []).append(f.gml_id)
        if f.kind == "Project" and f.data.get("code"):
            for ref in f.related:
                project_of.setdefault(ref, f.data["code"])
    locs = {s.gml_id: _location_of(s, features, reverse) for s in samples}
    loc_names = _unique_names([loc for loc in {id(v): v for v in locs.values() if v}.values()])
    sample_names = _unique_names(samples)
    name = path.name
    root = meta["root"]
    for s in samples:
        loc = locs[s.gml_id]
        # an Analysis with a featureOfInterest belongs to that feature only; relatedObservation links
        # count for analyses without one
        linked = [
            r
            for r in s.observations
            if features.get(r) and features[r].feature_of_interest in (None, s.gml_id)
        ]
        refs = list(dict.fromkeys([*linked, *analyses_of.get(s.gml_id, ())]))
        d_from, d_to = (_depth_m(*s.data[k]) for k in ("depth_from", "depth_to"))
        base = {
            "location_id": loc_names[loc.gml_id] if loc else None,
            "location_type": loc.kind if loc else None,
            "x": loc.data["x"] if loc else None,
            "y": loc.data["y"] if loc else None,
            "crs": loc.data["crs"] if loc else None,
            "project": project_of.get(loc.gml_id) if loc else None,
            "sample_id": sample_names[s.gml_id],
            "sample_gml_id": s.gml_id,
            "compartment": s.data["compartment"],
            "date": s.data["date"],
            "depth_from_m": d_from,
            "depth_to_m": d_to,
        }
        for ref in refs:
            a = features.get(ref)
            if a is None or a.kind != "Analysis":
                continue
            values = dict(base)
            values.update(a.data)
            values["analysis_gml_id"] = a.gml_id
            xpath = f"/{root}//featureMember[{a.member}]/Analysis[@gml:id='{a.gml_id}']"
            yield RawRecord(Locator(name, xpath=xpath, line=a.line), values)


def _depth_m(value: str | None, unit: str | None) -> float | str | None:
    if value is None:
        return None
    factor = _DEPTH_TO_M.get(unit or "")
    if factor is None:
        return f"{value} {unit}"  # unknown unit: harmonisation reports invalid_depth
    try:
        return round(float(value) * factor, 6)
    except ValueError:
        return value


def inspect(path: str | Path) -> dict[str, Any]:
    """Root element, IMSIKB0101 version, features per type, samples/analyses/locations and CRSs."""
    path = Path(path)
    features, meta = _parse(path)
    records = list(read(path))
    return {
        "format": "sikb0101",
        "file": path.name,
        "root": meta["root"],
        "sad": meta["root"] != "FeatureCollectionIMSIKB0101",
        "version": meta["version"],
        "features": dict(meta["kinds"]),
        "samples": sum(1 for f in features.values() if f.kind == "Sample"),
        "sample_analyses": len(records),
        "locations": sorted({r.values["location_id"] for r in records if r.values["location_id"]}),
        "crs": sorted(
            {f.data["crs"] for f in features.values() if f.kind in LOCATION_TYPES and f.data.get("crs")}
        ),
        **{
            k: meta[k]
            for k in ("reportDate", "qualityRegime", "objectIdAccountableParty", "deliveryContext")
            if k in meta
        },
    }
