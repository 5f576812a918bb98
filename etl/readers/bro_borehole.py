"""BRO borehole readers: BHR-GT (geotechnisch), BHR-P (bodemkundig) and BHR-G (geologisch) IMBRO-XML.

:func:`iter_boreholes` streams a file and yields a :class:`~etl.records.BroObject` per borehole or a
:class:`~etl.errors.RecordError` for one that cannot be used (e.g. ``missing_coordinates``); a file
unusable as a whole raises :class:`~etl.errors.SourceError`. Dispatch responses, registration and
correction requests (old ``isbhr-gt/1.0`` and current schemas) and SOAP responses are all read.

Layers (:func:`extract_layers`, shared with the SFR reader) become :class:`~etl.records.BoreholeLayer`:
``soil_name`` is the first name found of :data:`SOIL_NAME_ELEMENTS` and ``classification`` the name of
the element it came from (the naming system, e.g. ``geotechnicalSoilName``); every other property of
the soil (or rock) description goes into ``admixtures`` with snake_case keys (tertiary constituents,
organic matter class, sand median class, other soil names, horizon code, ...); ``colour`` is the
first non-nil ``colour``; ``description_kind`` is the description the layer belongs to
(``descriptiveBoreholeLog``, ``boreholeSampleDescription``, ``soilProfile``). Boundaries are metres
below surface as delivered.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from etl.errors import RecordError
from etl.readers.bro_xml import (
    StreamedObject,
    base_object,
    descendant,
    find,
    is_nil,
    iter_parsed,
    leaf_values,
    local,
    number,
    parse_bro_date,
    snake,
    text,
)
from etl.records import BoreholeLayer, BroObject

BOREHOLE_TYPES = ("BHR-GT", "BHR-P", "BHR-G")
SOIL_NAME_ELEMENTS = (
    "geotechnicalSoilName",
    "standardSoilName",
    "soilNameNEN5104",
    "pedologicalSoilName",
    "rockType",
    "specialMaterial",
)
LAYER_ELEMENTS = frozenset({"layer", "Layer", "soilLayer", "SoilLayer"})
_DESCRIPTION_KINDS = {
    "descriptiveBoreholeLog": "descriptiveBoreholeLog",
    "DescriptiveBoreholeLog": "descriptiveBoreholeLog",
    "boreholeSampleDescription": "boreholeSampleDescription",
    "BoreholeSampleDescription": "boreholeSampleDescription",
    "soilProfile": "soilProfile",
    "SoilProfile": "soilProfile",
}
_LAYER_SKIP = frozenset({"upperBoundary", "lowerBoundary", "colour"})


def iter_boreholes(path: str | Path) -> Iterator[BroObject | RecordError]:
    """Stream the BHR-GT/BHR-P/BHR-G objects of a file: BroObject per borehole, RecordError per bad one."""
    return iter_parsed(path, dict.fromkeys(BOREHOLE_TYPES, parse_borehole))


def parse_borehole(so: StreamedObject) -> BroObject:
    """A streamed BHR-GT/BHR-P/BHR-G object element -> BroObject with layers."""
    obj = base_object(so)
    el = so.elem
    loc = so.locator("/boring")
    boring = find(el, "boring")
    if boring is not None and find(boring, "Boring") is not None:  # BHR-G wraps the boring (bhrgcommon 3)
        boring = find(boring, "Boring")
    obj.final_depth = number(boring, "finalDepthBoring", locator=loc)
    if obj.final_depth is None:  # BHR-P: the bored trajectory
        obj.final_depth = number(boring, "boredTrajectory/endDepth", locator=loc)
    attrs = obj.attributes
    for key in ("boringStartDate", "boringEndDate"):
        attrs[snake(key)] = parse_bro_date(find(boring, key))[0]
    if boring is not None:
        attrs["final_depth_sampling"] = number(boring, "finalDepthSampling", locator=loc)
        attrs["boring_procedure"] = text(boring, "boringProcedure") or text(
            boring, "boringProcedure/boringStandard"
        )
        attrs["stop_criterion"] = text(boring, "stopCriterion")
    description = descendant(el, "boreholeSampleDescription")
    if description is not None and find(description, "BoreholeSampleDescription") is not None:
        description = find(description, "BoreholeSampleDescription")
    if description is not None:
        attrs["description_report_date"] = parse_bro_date(find(description, "descriptionReportDate"))[0]
        attrs["description_procedure"] = text(description, "descriptionProcedure") or text(
            description, "descriptionMethod"
        )
        classification = find(description, "soilClassification")
        if classification is not None:
            attrs["soil_classification"] = leaf_values(classification)
    site = find(el, "siteCharacteristic")
    if site is not None:
        attrs["site_characteristic"] = leaf_values(site)
    attrs["lab_analysis"] = descendant(el, "boreholeSampleAnalysis") is not None
    obj.layers = extract_layers(so, el)
    return obj


def extract_layers(so: StreamedObject, el: etree._Element) -> list[BoreholeLayer]:
    """All described layers of an object (every log / profile), in document order."""
    layers: list[BoreholeLayer] = []
    log_numbers: dict[int, int] = {}
    for node in el.iter("{*}layer", "{*}Layer", "{*}soilLayer", "{*}SoilLayer"):
        if find(node, "upperBoundary") is None and find(node, "lowerBoundary") is None:
            continue  # a wrapper (bhrgcommon 3 / SFR: <layer><Layer>..)
        kind, log = _description_of(node)
        log_index = log_numbers.setdefault(id(log), len(log_numbers) + 1) if log is not None else 1
        layers.append(_layer(so, node, kind, log_index))
    return layers


def _description_of(node: etree._Element) -> tuple[str | None, etree._Element | None]:
    for ancestor in node.iterancestors():
        kind = _DESCRIPTION_KINDS.get(local(ancestor.tag))
        if kind is not None:
            return kind, ancestor
    return None, None


def _layer(so: StreamedObject, node: etree._Element, kind: str | None, log_index: int) -> BoreholeLayer:
    loc = so.locator(f"//{local(node.tag)}", elem=node)
    soil_name = classification = None
    container: etree._Element | None = None
    for name in SOIL_NAME_ELEMENTS:
        for candidate in node.iter("{*}" + name):
            if not is_nil(candidate) and (candidate.text or "").strip():
                soil_name, classification = candidate.text.strip(), name
                container = candidate.getparent()
                break
        if soil_name is not None:
            break
    if container is None:
        container = next((c for c in node if local(c.tag) in ("soil", "rock")), None)
    admixtures: dict[str, Any] = {}
    if container is not None and container is not node:
        admixtures.update(
            (k, v)
            for k, v in leaf_values(container, skip={classification or "", "colour"}).items()
            if v is not None
        )
    for key, value in leaf_values(node, skip=_LAYER_SKIP | {classification or ""}, depth=0).items():
        if value is not None and key not in admixtures:
            admixtures[key] = value
    horizon = text(descendant(node, "horizonCode"))
    if horizon is not None:
        admixtures.setdefault("horizon_code", horizon)
    components = [c for c in node if local(c.tag) in ("layerComponent", "homogeneousMaterial")]
    if len(components) > 1:
        admixtures["n_components"] = len(components)
    if log_index > 1:
        admixtures["log_index"] = log_index
    colour = next((text(c) for c in node.iter("{*}colour") if text(c)), None)
    return BoreholeLayer(
        upper_boundary=number(node, "upperBoundary", locator=loc),
        lower_boundary=number(node, "lowerBoundary", locator=loc),
        soil_name=soil_name,
        classification=classification,
        admixtures=admixtures,
        colour=colour,
        description_kind=kind,
    )
