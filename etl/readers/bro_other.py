"""BRO GLD (grondwaterstandonderzoek) and SFR (wandonderzoek) IMBRO-XML readers.

Both register as a :class:`~etl.records.BroObject` with the common fields (id, regime, party,
location when there is one, dates) and their raw attributes. :func:`iter_other` streams a file and
yields a BroObject per object or a :class:`~etl.errors.RecordError` per bad one; a file unusable as
a whole raises :class:`~etl.errors.SourceError`.

GLD has no coordinates of its own (no missing-coordinates error for it): the well it belongs to is
kept in ``attributes["gmw_bro_id"]``/``["tube_number"]``, the networks in ``["gmn_bro_ids"]``, the
observations as ``attributes["observations"]`` (type, status, period, number of points) and the
measured points as ``attributes["points"]`` = ``[(time, value_m, status_quality_control), ...]``.
SFR layers (soil profile) become :class:`~etl.records.BoreholeLayer` as in the borehole reader.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from etl.errors import RecordError
from etl.readers.bro_borehole import extract_layers
from etl.readers.bro_xml import (
    XLINK_HREF,
    StreamedObject,
    base_object,
    descendant,
    find,
    findall,
    iter_parsed,
    leaf_values,
    local,
    number,
    parse_bro_date,
    parse_date_text,
    text,
)
from etl.records import BroObject


def iter_other(path: str | Path) -> Iterator[BroObject | RecordError]:
    """Stream the GLD and SFR objects of a file: a BroObject per object, a RecordError per bad one."""
    return iter_parsed(path, {"GLD": parse_gld, "SFR": parse_sfr})


def parse_sfr(so: StreamedObject) -> BroObject:
    """A streamed SFR object element -> BroObject with the soil-profile layers."""
    obj = base_object(so)
    el = so.elem
    uncovering = find(el, "soilUncovering/SoilUncovering")
    if uncovering is None:
        uncovering = find(el, "soilUncovering")
    obj.final_depth = number(uncovering, "endDepthSoilFace", locator=so.locator("/soilUncovering"))
    attrs = obj.attributes
    attrs["soil_uncovering"] = {k: v for k, v in leaf_values(uncovering).items() if v is not None}
    attrs["fieldwork_date"] = parse_bro_date(find(el, "fieldworkDate"))[0]
    description = descendant(el, "SoilFaceDescription")
    if description is None:
        description = find(el, "soilFaceDescription")
    attrs["description_procedure"] = text(description, "descriptionProcedure")
    classification = descendant(description, "SoilClassification")
    if classification is None:
        classification = find(description, "soilClassification")
    if classification is not None:
        attrs["soil_classification"] = leaf_values(classification)
    obj.layers = extract_layers(so, el)
    return obj


def parse_gld(so: StreamedObject) -> BroObject:
    """A streamed GLD object element (dispatch or addition request) -> BroObject, no location needed."""
    obj = base_object(so, require_location=False)
    el = so.elem
    attrs = obj.attributes
    tube = descendant(el, "GroundwaterMonitoringTube")
    attrs["gmw_bro_id"] = text(tube, "broId")
    attrs["tube_number"] = text(tube, "tubeNumber")
    attrs["gmn_bro_ids"] = [
        text(n, "broId") for n in el.iter("{*}GroundwaterMonitoringNet") if text(n, "broId")
    ]
    for key in ("researchFirstDate", "researchLastDate"):
        value, _ = parse_bro_date(find(el, key))
        attrs["research_first_date" if key == "researchFirstDate" else "research_last_date"] = value
    observations: list[dict[str, Any]] = []
    points: list[tuple[str | None, float | None, str | None]] = []
    for observation in findall(el, "observation/OM_Observation"):
        observation_points = _points(observation)
        points.extend(observation_points)
        observations.append(
            {
                "observation_type": _named_value(observation, "observationType"),
                "status": _href_tail(find(observation, "metadata/ObservationMetadata/status")),
                "begin": parse_date_text(text(observation, "phenomenonTime//beginPosition"))[0],
                "end": parse_date_text(text(observation, "phenomenonTime//endPosition"))[0],
                "result_time": text(observation, "resultTime//timePosition"),
                "n_points": len(observation_points),
            }
        )
    attrs["observations"] = observations
    attrs["points"] = points
    return obj


def _href_tail(elem: etree._Element | None) -> str | None:
    href = elem.get(XLINK_HREF) if elem is not None else None
    return href.rpartition(":")[2] if href else None


def _named_value(observation: etree._Element, name: str) -> str | None:
    for named in observation.iter("{*}NamedValue"):
        href = find(named, "name")
        if href is not None and (href.get(XLINK_HREF) or "").endswith(":" + name):
            value = find(named, "value")
            return text(value) if value is not None else None
    return None


def _points(observation: etree._Element) -> list[tuple[str | None, float | None, str | None]]:
    out: list[tuple[str | None, float | None, str | None]] = []
    for tvp in observation.iter("{*}MeasurementTVP"):
        value_text = text(tvp, "value")
        try:
            value = float(value_text) if value_text is not None else None
        except ValueError:
            value = None
        quality = None
        for category in tvp.iter("{*}Category"):
            if local(category.tag) == "Category":
                quality = text(category, "value")
                break
        out.append((text(tvp, "time"), value, quality))
    return out
