"""The characteristics search: its request body and its answer.

Request (JSON): ``{"registrationPeriod": {"beginDate", "endDate"}, "area": {"boundingBox":
{"lowerCorner": {"lat", "lon"}, "upperCorner": {...}}}}``; both dates are required when the period is
given. Answer (XML): a ``dispatchCharacteristicsResponse`` whose ``dispatchDocument`` elements hold
either the characteristics of a registered object (``CPT_C``, ``GMW_C``, ``BHR_GT_C``, ...) or a
``BRO_DO`` for an object taken out of registration. Read by local name, so any prefix style works.

The result cap. BRO gives at most 2000 documents per search. A larger result is refused: formerly
with HTTP 200 and ``responseType`` *rejection*, reason "het aantal uitgiftedocumenten is groter dan
2000 ...", since mid-2024 with HTTP 400 (ArtesiaWater/hydropandas#218). Both count as "capped", and
so does a dispatch that reaches the cap (a truncated list); the caller then splits the area.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from lxml import etree

from etl.bro_fetch.area import BBox
from etl.bro_fetch.endpoints import BRO_ID
from etl.bro_fetch.transport import FetchError, Response
from etl.readers.bro_xml import hardened_parser, local

_CAP = re.compile(
    r"(groter dan|meer dan|more than|maxim\w*(?: van| of)?)\s+2\.?000|aantal uitgiftedocumenten", re.I
)


@dataclass(frozen=True, slots=True)
class Characteristic:
    """What a search says about one object: enough to decide whether to download it."""

    bro_id: str
    object_type: str
    deregistered: bool = False
    registration_time: str | None = None
    correction_time: str | None = None
    addition_time: str | None = None
    lat: float | None = None  # standardizedLocation (ETRS89)
    lon: float | None = None

    @property
    def stamp(self) -> str:
        """Changes whenever BRO registers, corrects or adds to the object."""
        return f"{self.registration_time or ''}|{self.correction_time or ''}|{self.addition_time or ''}"

    @property
    def status(self) -> str:
        """bro_object.status this object should get."""
        if self.deregistered:
            return "deregistered"
        return "corrected" if self.correction_time else "registered"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Characteristic:
        return cls(**d)


@dataclass(slots=True)
class SearchAnswer:
    items: list[Characteristic]
    capped: bool = False
    reason: str | None = None


def search_body(bbox: BBox, period: tuple[date, date] | None) -> dict[str, Any]:
    """The JSON body of a characteristics search."""
    body: dict[str, Any] = {}
    if period is not None:
        body["registrationPeriod"] = {"beginDate": period[0].isoformat(), "endDate": period[1].isoformat()}
    body["area"] = bbox.as_area()
    return body


def _is_cap(reason: str | None) -> bool:
    return bool(reason and _CAP.search(reason))


def _child(elem: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in elem.iter() if local(c.tag) == name), None)


def _text(elem: etree._Element, name: str) -> str | None:
    found = _child(elem, name)
    value = (found.text or "").strip() if found is not None else ""
    return value or None


def _location(elem: etree._Element) -> tuple[float | None, float | None]:
    loc = _child(elem, "standardizedLocation")
    pos = _child(loc, "pos") if loc is not None else None
    if pos is None or not pos.text:
        return None, None
    try:
        first, second = (float(v) for v in pos.text.split()[:2])
    except ValueError:
        return None, None
    return first, second  # EPSG:4258 in GML is latitude first


def _document(doc: etree._Element, object_type: str) -> Characteristic | None:
    inner = next((c for c in doc if isinstance(c.tag, str)), None)
    if inner is None:
        return None
    bro_id = _text(inner, "broId")
    if bro_id is None or not BRO_ID.match(bro_id):
        return None
    deregistered = local(inner.tag) == "BRO_DO" or (_text(inner, "deregistered") or "").lower() == "ja"
    lat, lon = _location(inner)
    return Characteristic(
        bro_id=bro_id,
        object_type=object_type,
        deregistered=deregistered,
        registration_time=_text(inner, "objectRegistrationTime"),
        correction_time=_text(inner, "latestCorrectionTime"),
        addition_time=_text(inner, "latestAdditionTime"),
        lat=lat,
        lon=lon,
    )


def _json_reason(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors:
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    return str(data.get("message") or data.get("detail") or "") or None if isinstance(data, dict) else None


def parse_answer(response: Response, object_type: str, cap: int, url: str) -> SearchAnswer:
    """Characteristics from an answer; ``capped`` when BRO refused or truncated for its result cap."""
    body = response.body.lstrip()
    if body.startswith(b"{"):
        reason = _json_reason(body)
        if response.status == 400 and _is_cap(reason):
            return SearchAnswer([], capped=True, reason=reason)
        raise FetchError(f"POST {url}: HTTP {response.status}: {reason or response.text[:300]}")
    try:
        root = etree.fromstring(body, hardened_parser())
    except etree.XMLSyntaxError:
        raise FetchError(f"POST {url}: HTTP {response.status}, not XML: {response.text[:300]!r}") from None
    response_type = (_text(root, "responseType") or "").lower()
    reason = _text(root, "rejectionReason")
    if response_type == "rejection" or response.status >= 400:
        if _is_cap(reason) or (reason is None and _is_cap(response.text)):
            return SearchAnswer([], capped=True, reason=reason)
        errors = [e.text.strip() for e in root.iter() if local(e.tag) == "specification" and e.text]
        detail = "; ".join(filter(None, [reason, *errors])) or response.text[:300]
        raise FetchError(f"POST {url}: BRO refused the search (HTTP {response.status}): {detail}")
    items = [c for d in root.iter() if local(d.tag) == "dispatchDocument" if (c := _document(d, object_type))]
    declared = _text(root, "numberOfDocuments") or root.get("numberOfDocuments")
    count = int(declared) if declared and declared.isdigit() else len(items)
    if max(count, len(items)) >= cap:
        return SearchAnswer(items, capped=True, reason=f"{count} documents: at BRO's cap of {cap}")
    return SearchAnswer(items)
