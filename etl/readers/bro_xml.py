"""Shared plumbing of the BRO IMBRO-XML readers: hardened streaming parser, local-name lookup,
locations, dates, object-type detection and rejection documents.

Streaming model. :func:`stream_objects` walks a file with ``lxml.etree.iterparse`` and hands out one
:class:`StreamedObject` per BRO object element (``CPT_O``, ``BHR_GT_O``, ``GMW_PO``, the source
document of a registration/correction request, the object inside a SOAP ``Body``, ...). The object's
subtree is complete when it is handed out and is cleared (with its already-seen siblings) as soon as
the consumer asks for the next one, so memory stays flat on files of hundreds of MB.

Errors. A file that cannot be used at all raises :class:`~etl.errors.SourceError` (malformed or
truncated XML with its line, unknown root, BRO rejection document, SOAP fault). A bad object is
reported as a :class:`~etl.errors.RecordError` that the ``iter_*`` functions of the type modules
*yield* in place of the object, so one bad object never stops the others (see :func:`iter_parsed`).

Lookup is by local name only (``{*}name``), because real files use every prefix style: default
namespaces, generated ``ns12:`` prefixes, per-element redeclarations, old and new schema versions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from etl.errors import RecordError, SourceError
from etl.records import BroObject, Locator

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
RD_EPSG = 28992

# Elements that hold the object of a message (dispatch response, request, SOAP envelope).
CONTAINERS = frozenset({"dispatchDocument", "sourceDocument", "Body"})
# Roots a BRO message may have (the object itself is also accepted as root, e.g. an iscpt CPT).
MESSAGE_ROOTS = frozenset(
    {
        "dispatchDataResponse",
        "registrationRequest",
        "correctionRequest",
        "deregistrationRequest",
        "moveRequest",
        "Envelope",
    }
)

_OBJECT_NAME_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^CPT(_.*)?$"), "CPT"),
    (re.compile(r"^BHR_GT(_.*)?$"), "BHR-GT"),
    (re.compile(r"^BHR_G(_.*)?$"), "BHR-G"),
    (re.compile(r"^BHR_P(_.*)?$|^BHR_O(_.*)?$"), "BHR-P"),
    (re.compile(r"^GMW(_.*)?$"), "GMW"),
    (re.compile(r"^GLD(_.*)?$"), "GLD"),
    (re.compile(r"^SFR(_.*)?$"), "SFR"),
    (re.compile(r"^SAD(_.*)?$"), "SAD"),
)
# Namespace of the message schemas: http://www.broservices.nl/xsd/<ds|is><type>/<version>
_NS_TYPE = re.compile(r"/xsd/(?:ds|is)(cpt|bhr-gt|bhrg|bhr|gmw|gld|sfr|sad)/", re.IGNORECASE)
_NS_TYPES = {
    "cpt": "CPT",
    "bhr-gt": "BHR-GT",
    "bhrg": "BHR-G",
    "bhr": "BHR-P",
    "gmw": "GMW",
    "gld": "GLD",
    "sfr": "SFR",
    "sad": "SAD",
}
BRO_TYPES = ("CPT", "BHR-GT", "BHR-P", "BHR-G", "GMW", "GLD", "SFR", "SAD")


# --- parser -------------------------------------------------------------------------------------


def hardened_parser() -> etree.XMLParser:
    """An XML parser that resolves no entities, loads no DTD, never touches the network."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, remove_comments=True
    )


def secure_iterparse(source: str | Path, events: tuple[str, ...] = ("end",)) -> Any:
    """``etree.iterparse`` with the same hardening as :func:`hardened_parser` (huge_tree for big files)."""
    return etree.iterparse(
        str(source),
        events=events,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
        remove_comments=True,
    )


def syntax_error(file: str, exc: etree.XMLSyntaxError) -> SourceError:
    """The one SourceError for malformed/truncated XML, with the line libxml2 stopped at."""
    msg = getattr(exc, "msg", None) or str(exc)
    line = getattr(exc, "lineno", None) or (exc.position[0] if getattr(exc, "position", None) else None)
    return SourceError(file, f"malformed or truncated XML: {msg}", where=f"line {line}" if line else None)


# --- local-name lookup --------------------------------------------------------------------------


def local(tag: Any) -> str:
    """Local name of an element tag (``{ns}name`` -> ``name``); '' for comments/PIs."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _path(path: str) -> str:
    return "/".join(p if p in (".", "..", "") else "{*}" + p for p in path.split("/"))


def find(elem: etree._Element | None, path: str) -> etree._Element | None:
    """First element at ``path`` (local names separated by '/', '' for any depth: 'a//b')."""
    if elem is None:
        return None
    return elem.find(_path(path))


def findall(elem: etree._Element | None, path: str) -> list[etree._Element]:
    """All elements at ``path`` (local names, see :func:`find`)."""
    return [] if elem is None else elem.findall(_path(path))


def descendant(elem: etree._Element | None, name: str) -> etree._Element | None:
    """First descendant with local name ``name`` at any depth."""
    if elem is None:
        return None
    return next(elem.iter("{*}" + name), None)


def is_nil(elem: etree._Element) -> bool:
    return elem.get(XSI_NIL) in ("true", "1")


def text(elem: etree._Element | None, path: str | None = None) -> str | None:
    """Stripped text at ``path`` (or of ``elem``); None when absent, empty or xsi:nil."""
    node = elem if path is None else find(elem, path)
    if node is None or is_nil(node):
        return None
    value = (node.text or "").strip()
    return value or None


def number(
    elem: etree._Element | None, path: str | None = None, *, locator: Locator | None = None
) -> float | None:
    """Float at ``path``; None when absent/nil. Non-numeric text raises RecordError when given a locator."""
    value = text(elem, path)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        if locator is None:
            return None
        raise RecordError(locator, "non_numeric_value", f"{value!r} is not a number", field=path) from None


_CAMEL_1 = re.compile(r"(.)([A-Z][a-z]+)")
_CAMEL_2 = re.compile(r"([a-z0-9])([A-Z])")


@lru_cache(maxsize=4096)
def snake(name: str) -> str:
    """camelCase BRO name -> snake_case (``porePressureU1`` -> ``pore_pressure_u1``)."""
    return _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", name)).lower()


_DATE_CHILDREN = frozenset({"date", "yearMonth", "year", "voidReason"})


def leaf_value(elem: etree._Element) -> Any:
    """Value of a leaf: None for nil, float when it carries a ``uom``, else text (or xlink:href)."""
    if is_nil(elem):
        return None
    value = (elem.text or "").strip()
    if not value:
        return elem.get(XLINK_HREF)
    if elem.get("uom") is not None:
        try:
            return float(value)
        except ValueError:
            return value
    return value


def leaf_values(elem: etree._Element | None, *, skip: Collection[str] = (), depth: int = 4) -> dict[str, Any]:
    """Children of ``elem`` as a dict with snake_case keys: leaves as values, date containers as dates,
    nested elements as nested dicts (up to ``depth``). Repeated names become lists."""
    out: dict[str, Any] = {}
    if elem is None:
        return out
    for child in elem:
        name = local(child.tag)
        if not name or name in skip:
            continue
        if len(child) == 0:
            value: Any = leaf_value(child)
        elif local(child[0].tag) in _DATE_CHILDREN:
            value = parse_bro_date(child)[0]
        elif depth > 0:
            value = leaf_values(child, depth=depth - 1)
        else:
            continue
        key = snake(name)
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    return out


# --- dates --------------------------------------------------------------------------------------

_DATE_RE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ].*)?\s*$")


def parse_date_text(value: str | None) -> tuple[date | None, str | None]:
    """'2017-10-05', '2017-10', '2017' or an ISO datetime -> (date, precision 'day'|'month'|'year').

    A year-month becomes the first of the month, a year the first of January; the precision says so.
    """
    if not value:
        return None, None
    m = _DATE_RE.match(value)
    if not m:
        return None, None
    year, month, day = m.group(1), m.group(2), m.group(3)
    try:
        if day:
            return date(int(year), int(month), int(day)), "day"
        if month:
            return date(int(year), int(month), 1), "month"
        return date(int(year), 1, 1), "year"
    except ValueError:
        return None, None


def parse_bro_date(elem: etree._Element | None) -> tuple[date | None, str | None]:
    """A BRO date element: ``<x><brocom:date>..``, ``yearMonth``, ``year``, ``voidReason`` or plain text."""
    if elem is None or is_nil(elem):
        return None, None
    for child in elem:
        name = local(child.tag)
        if name in ("date", "yearMonth", "year"):
            return parse_date_text((child.text or "").strip())
        if name == "voidReason":
            return None, None
    return parse_date_text((elem.text or "").strip())


# --- locations ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Location:
    x: float  # EPSG:28992
    y: float
    source_crs: str
    source_x: float  # as delivered, easting/longitude
    source_y: float  # as delivered, northing/latitude
    kind: str  # "delivered" or "standardized"


_EPSG_RE = re.compile(r"EPSG(?::[\d.]*)?:+(\d+)$|/EPSG/[^/]*/(\d+)$|^(\d+)$", re.IGNORECASE)


def srs_epsg(srs_name: str | None) -> int | None:
    """EPSG code of an srsName ('urn:ogc:def:crs:EPSG::28992', 'EPSG:4258', '.../EPSG/0/4326')."""
    if not srs_name:
        return None
    m = _EPSG_RE.search(srs_name.strip())
    if not m:
        return None
    return int(next(g for g in m.groups() if g))


@lru_cache(maxsize=32)
def _lat_first(epsg: int) -> bool:
    """True when the CRS's first axis points north (EPSG:4258/4326: latitude first in GML)."""
    from pyproj import CRS

    axes = CRS.from_epsg(epsg).axis_info
    return bool(axes) and axes[0].direction.lower() in ("north", "south")


@lru_cache(maxsize=32)
def _transformer_to_rd(epsg: int) -> Any:
    from pyproj import Transformer

    # always_xy=True: we pass (easting|longitude, northing|latitude) and get (x, y) back;
    # the GML axis order is undone explicitly in to_rd(), not left to the CRS definition.
    return Transformer.from_crs(f"EPSG:{epsg}", f"EPSG:{RD_EPSG}", always_xy=True)


def axis_xy(epsg: int, first: float, second: float) -> tuple[float, float]:
    """GML ``pos`` (CRS axis order) -> (easting|longitude, northing|latitude)."""
    return (second, first) if _lat_first(epsg) else (first, second)


def to_rd(epsg: int, x: float, y: float) -> tuple[float, float]:
    """(easting|longitude, northing|latitude) in ``epsg`` -> EPSG:28992 (x, y)."""
    if epsg == RD_EPSG:
        return x, y
    rx, ry = _transformer_to_rd(epsg).transform(x, y)
    return float(rx), float(ry)


def _srs_of(pos: etree._Element, stop: etree._Element) -> str | None:
    node: etree._Element | None = pos
    while node is not None:
        srs = node.get("srsName")
        if srs:
            return srs
        if node is stop:
            return None
        node = node.getparent()
    return None


def read_point(container: etree._Element | None) -> tuple[int | None, float, float] | None:
    """(epsg, easting|lon, northing|lat) of the first gml:pos (or gml:coordinates) under ``container``.

    Returns None when there is no position; raises ValueError for a position that is not two numbers.
    """
    if container is None:
        return None
    pos = descendant(container, "pos")
    if pos is not None:
        parts = (pos.text or "").split()
    else:
        coords = descendant(container, "coordinates")
        if coords is None:
            return None
        pos = coords
        parts = (coords.text or "").replace(",", " ").split()
    if not parts:
        return None
    if len(parts) < 2:
        raise ValueError(f"position {' '.join(parts)!r} has fewer than two coordinates")
    first, second = float(parts[0]), float(parts[1])
    epsg = srs_epsg(_srs_of(pos, container))
    if epsg is None:
        return None, first, second
    ex, ny = axis_xy(epsg, first, second)
    return epsg, ex, ny


def extract_location(obj: etree._Element) -> Location | None:
    """Location of a BRO object in EPSG:28992.

    Preference: the delivered location when it is RD New; else the standardised (ETRS89) location
    transformed with pyproj; else the delivered location in another CRS, transformed. ``source_*``
    always describe the delivered location when there is one. A position without srsName is taken
    as RD New. Returns None when the object has no position at all.
    """
    delivered = read_point(find(obj, "deliveredLocation"))
    standardized = read_point(find(obj, "standardizedLocation"))
    if delivered is None and standardized is None:
        return None
    source = delivered or standardized
    assert source is not None
    s_epsg = source[0] if source[0] is not None else RD_EPSG
    source_crs = f"EPSG:{s_epsg}"
    kind = "delivered" if delivered is not None else "standardized"
    if delivered is not None and (delivered[0] in (None, RD_EPSG)):
        x, y = delivered[1], delivered[2]
    elif standardized is not None and standardized[0] is not None:
        x, y = to_rd(standardized[0], standardized[1], standardized[2])
        kind = "standardized"
    else:
        x, y = to_rd(s_epsg, source[1], source[2])
    return Location(x=x, y=y, source_crs=source_crs, source_x=source[1], source_y=source[2], kind=kind)


# --- object types -------------------------------------------------------------------------------


def type_from_namespace(namespace: str | None) -> str | None:
    """BRO type of a message namespace (dscpt, isbhr-gt, dsgmw, issad, ...), or None."""
    if not namespace:
        return None
    m = _NS_TYPE.search(namespace + "/")
    return _NS_TYPES[m.group(1).lower()] if m else None


def type_from_object_name(name: str) -> str | None:
    """BRO type of an object element name (CPT_O, BHR_GT_O_DP, BHR_O, GMW_Construction, ...)."""
    for pattern, object_type in _OBJECT_NAME_PATTERNS:
        if pattern.match(name):
            return object_type
    return None


def object_type_of(elem: etree._Element, name: str, parent_name: str | None) -> str | None:
    """BRO type when ``elem`` is an object element (child of a message container, or the root)."""
    if parent_name is not None and parent_name not in CONTAINERS:
        return None
    if parent_name is None and name in MESSAGE_ROOTS:
        return None
    object_type = type_from_object_name(name)
    if object_type == "BHR-P" and name.startswith("BHR_O"):
        # dsbhr (BHR-P) dispatches call the object BHR_O; trust the namespace when it says otherwise.
        object_type = type_from_namespace(etree.QName(elem).namespace) or object_type
    return object_type


# --- streaming ----------------------------------------------------------------------------------


@dataclass(slots=True)
class StreamedObject:
    """One complete BRO object element handed out by :func:`stream_objects` (valid until the next)."""

    elem: etree._Element
    object_type: str
    name: str  # local name, e.g. CPT_O
    ordinal: int  # 1-based number of the object in the file
    xpath: str
    file: str
    context: dict[str, str] = field(default_factory=dict)  # message-level leaves: broId, qualityRegime..

    def locator(
        self, sub: str = "", *, row: int | None = None, elem: etree._Element | None = None
    ) -> Locator:
        node = self.elem if elem is None else elem
        return Locator(file=self.file, xpath=self.xpath + sub, row=row, line=node.sourceline)

    def label(self) -> str:
        bro_id = text(self.elem, "broId") or self.context.get("broId")
        return f"{self.object_type} {bro_id}" if bro_id else f"{self.object_type} object #{self.ordinal}"


def _release(elem: etree._Element) -> None:
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def _rejection(file: str, reason: str) -> SourceError:
    return SourceError(file, f"BRO rejection document: {reason}")


def stream_objects(path: str | Path, types: Collection[str] | None = None) -> Iterator[StreamedObject]:
    """Stream the BRO objects of ``path`` (only those of ``types`` when given), clearing each after use.

    Raises SourceError for malformed/truncated XML (with line), an unknown root element, a BRO
    rejection document or a SOAP fault, and when the file holds no object of the requested types.
    """
    file = str(path)
    context: dict[str, str] = {}
    stack: list[tuple[str, dict[str, int]]] = []
    parts: list[str] = []
    current: etree._Element | None = None
    current_type = ""
    ordinal = 0
    handed_out = 0
    seen_types: set[str] = set()
    root_name = ""
    try:
        for event, elem in secure_iterparse(path, events=("start", "end")):
            if current is not None and elem is not current:
                continue
            if event == "start":
                name = local(elem.tag)
                parent_name = stack[-1][0] if stack else None
                if not stack:
                    root_name = name
                    if name not in MESSAGE_ROOTS and type_from_object_name(name) is None:
                        raise SourceError(
                            file, f"unknown root element {elem.tag!r}", where=f"line {elem.sourceline}"
                        )
                counters = stack[-1][1] if stack else {}
                idx = counters.get(name, 0) + 1
                counters[name] = idx
                stack.append((name, {}))
                parts.append(f"{name}[{idx}]" if idx > 1 else name)
                object_type = object_type_of(elem, name, parent_name)
                if object_type is not None:
                    current, current_type = elem, object_type
                continue
            # end event
            name = stack[-1][0]
            xpath = "/" + "/".join(parts)
            stack.pop()
            parts.pop()
            if elem is current:
                ordinal += 1
                seen_types.add(current_type)
                if types is None or current_type in types:
                    handed_out += 1
                    yield StreamedObject(elem, current_type, name, ordinal, xpath, file, dict(context))
                current = None
                _release(elem)
                continue
            if len(elem) == 0:
                value = (elem.text or "").strip()
                if value and name not in context:
                    context[name] = value
                if name == "rejectionReason":
                    raise _rejection(file, value or "(no reason given)")
            elif name == "Fault":
                reason = text(elem, "faultstring") or text(elem, "Reason//Text") or "(no faultstring)"
                raise SourceError(file, f"SOAP fault: {reason}")
            if stack:
                _release(elem)
    except etree.XMLSyntaxError as exc:
        raise syntax_error(file, exc) from None
    if context.get("responseType", "").lower() == "rejection":
        raise _rejection(file, context.get("rejectionReason", "(no reason given)"))
    if handed_out == 0:
        wanted = "/".join(sorted(types)) if types else "BRO"
        found = ", ".join(sorted(seen_types)) or "none"
        raise SourceError(file, f"no {wanted} object found under root {root_name!r} (objects found: {found})")


Parser = Callable[[StreamedObject], BroObject]


def iter_parsed(path: str | Path, parsers: dict[str, Parser]) -> Iterator[BroObject | RecordError]:
    """Stream ``path`` and parse each object with the parser of its type.

    Yields a BroObject per good object and a RecordError per bad one (in file order); raises
    SourceError when the file as a whole is unusable (objects before a truncation are still yielded).
    """
    for streamed in stream_objects(path, parsers.keys()):
        try:
            yield parsers[streamed.object_type](streamed)
        except RecordError as exc:
            yield exc
        except (ValueError, TypeError, LookupError, ArithmeticError) as exc:
            # Content no reader rule foresaw: quarantine this object, keep streaming the others.
            yield RecordError(streamed.locator(), "invalid_object", f"{streamed.label()}: {exc!r}")


# --- common object fields -----------------------------------------------------------------------


_BASE_FIELDS = frozenset({"bro_id", "delivery_accountable_party", "quality_regime", "research_report_date"})


def base_object(so: StreamedObject, *, require_location: bool = True) -> BroObject:
    """A BroObject with the fields every BRO object shares: id, regime, party, location, vertical
    position, research report and registration dates and the object's simple top-level attributes.

    Raises RecordError 'missing_coordinates' when ``require_location`` and there is no position.
    """
    el = so.elem
    ctx = so.context
    loc = so.locator()
    try:
        location = extract_location(el)
    except (ValueError, RuntimeError) as exc:  # not two numbers; a CRS pyproj does not know (CRSError)
        raise RecordError(
            so.locator("/deliveredLocation"), "invalid_coordinates", f"{so.label()}: {exc}", field="location"
        ) from None
    if location is None and require_location:
        raise RecordError(
            so.locator("/deliveredLocation"),
            "missing_coordinates",
            f"{so.label()}: no gml:pos in deliveredLocation or standardizedLocation",
            field="location",
        )
    vertical = find(el, "deliveredVerticalPosition")
    report_date, precision = parse_bro_date(find(el, "researchReportDate"))
    registration = text(el, "registrationHistory/objectRegistrationTime")
    attributes: dict[str, Any] = {
        key: value
        for key, value in leaf_values(el, depth=0).items()
        if key not in _BASE_FIELDS and value is not None
    }
    if precision and precision != "day":
        attributes["research_report_date_precision"] = precision
    if vertical is not None:
        attributes["local_vertical_reference_point"] = text(vertical, "localVerticalReferencePoint")
    if location is not None:
        attributes["location_used"] = location.kind
    for key in ("requestReference", "correctionReason", "dispatchTime"):
        if key in ctx:
            attributes[snake(key)] = ctx[key]
    return BroObject(
        bro_id=text(el, "broId") or ctx.get("broId"),
        object_type=so.object_type,
        x=location.x if location else None,
        y=location.y if location else None,
        source_crs=location.source_crs if location else None,
        source_x=location.source_x if location else None,
        source_y=location.source_y if location else None,
        quality_regime=text(el, "qualityRegime") or ctx.get("qualityRegime"),
        research_report_date=report_date,
        registration_date=parse_date_text(registration)[0],
        delivery_accountable_party=text(el, "deliveryAccountableParty")
        or ctx.get("deliveryAccountableParty"),
        vertical_datum=text(vertical, "verticalDatum"),
        offset=number(vertical, "offset", locator=loc),
        attributes=attributes,
        source_format="IMBRO-XML",
        locator=loc,
    )


# --- detection ----------------------------------------------------------------------------------


def detect_xml_type(path: str | Path) -> str:
    """BRO type of an XML file, read only as far as the first object element.

    Raises SourceError for malformed XML, an unknown root, a rejection document or a SOAP fault.
    """
    file = str(path)
    namespace_type: str | None = None
    names: list[str] = []
    context: dict[str, str] = {}
    try:
        for event, elem in secure_iterparse(path, events=("start", "end")):
            name = local(elem.tag)
            if event == "start":
                parent_name = names[-1] if names else None
                if not names and name not in MESSAGE_ROOTS and type_from_object_name(name) is None:
                    raise SourceError(
                        file, f"unknown root element {elem.tag!r}", where=f"line {elem.sourceline}"
                    )
                names.append(name)
                namespace_type = namespace_type or type_from_namespace(etree.QName(elem).namespace)
                object_type = object_type_of(elem, name, parent_name)
                if object_type is not None:
                    return object_type
                continue
            names.pop()
            if len(elem) == 0:
                context.setdefault(name, (elem.text or "").strip())
                if name == "rejectionReason":
                    raise _rejection(file, context[name] or "(no reason given)")
            elif name == "Fault":
                raise SourceError(file, f"SOAP fault: {text(elem, 'faultstring') or '(no faultstring)'}")
    except etree.XMLSyntaxError as exc:
        raise syntax_error(file, exc) from None
    if context.get("responseType", "").lower() == "rejection":
        raise _rejection(file, context.get("rejectionReason") or "(no reason given)")
    if namespace_type:
        return namespace_type
    raise SourceError(file, "no BRO object element found")
