"""Query parameters as small dataclasses used as FastAPI dependencies (described, typed, validated).

Parsing that FastAPI cannot express (bbox lists, CRS URIs, datetime intervals, limits bound by the
settings) happens in methods that raise a 422 :class:`~api.problems.Problem` naming the parameter.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Query

from api.problems import invalid
from api.settings import ApiSettings

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG28992 = "http://www.opengis.net/def/crs/EPSG/0/28992"


@dataclass(frozen=True)
class CrsDef:
    uri: str
    srid: int
    flip: bool  # latitude-first axis order (EPSG:4326)
    digits: int


CRS: dict[str, CrsDef] = {
    CRS84: CrsDef(CRS84, 4326, False, 7),
    EPSG4326: CrsDef(EPSG4326, 4326, True, 7),
    EPSG28992: CrsDef(EPSG28992, 28992, False, 3),
}
_ALIASES = {
    "crs84": CRS84, "ogc:crs84": CRS84, "urn:ogc:def:crs:ogc:1.3:crs84": CRS84, "epsg:4326": EPSG4326,
    "urn:ogc:def:crs:epsg::4326": EPSG4326, "epsg:28992": EPSG28992, "urn:ogc:def:crs:epsg::28992": EPSG28992,
}  # fmt: skip
CRS_LIST = list(CRS)


def parse_crs(value: str | None, param: str) -> CrsDef:
    """A supported CRS from a URI or short form; CRS84 when not given."""
    if value is None or value == "":
        return CRS[CRS84]
    key = value.strip().strip("[]").replace("https://", "http://")
    uri = key if key in CRS else _ALIASES.get(key.lower())
    if uri is None:
        raise invalid(param, f"Unsupported CRS '{value}'; use one of {', '.join(CRS_LIST)}")
    return CRS[uri]


@dataclass
class Paging:
    """Page size and position: ``limit`` + ``offset``, or keyset paging with ``after``/``before``."""

    limit: Annotated[
        int | None, Query(ge=1, description="Number of items per page (default and maximum: see settings).")
    ] = None
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Number of items to skip.")] = 0
    after: Annotated[
        str | None,
        Query(max_length=64, description="Keyset paging: items whose id sorts after this id (next links)."),
    ] = None
    before: Annotated[
        str | None,
        Query(max_length=64, description="Keyset paging: items whose id sorts before this id (prev links)."),
    ] = None

    def size(self, settings: ApiSettings) -> int:
        """The effective limit; a 422 naming ``limit`` when above ``settings.max_limit``."""
        if self.limit is None:
            return settings.default_limit
        if self.limit > settings.max_limit:
            raise invalid("limit", f"limit must be at most {settings.max_limit} (got {self.limit})")
        return self.limit

    def keyset(self, id_kind: str) -> tuple[str | None, bool]:
        """(key, descending) for keyset paging; checks the key's type."""
        if self.after is not None and self.before is not None:
            raise invalid("before", "give either 'after' or 'before', not both")
        key, name = (self.before, "before") if self.before is not None else (self.after, "after")
        if key is not None and id_kind == "integer" and not (key.lstrip("-").isdigit() and len(key) < 19):
            raise invalid(name, f"'{name}' must be an integer id for this collection")
        return key, self.before is not None


@dataclass
class BBoxParams:
    """Spatial filter by bounding box."""

    bbox: Annotated[
        str | None,
        Query(
            max_length=200,
            description="minx,miny,maxx,maxy in bbox-crs (CRS84 default: lon,lat; EPSG:4326: lat,lon; "
            "EPSG:28992: x,y). Six numbers (3D) are accepted, heights ignored.",
        ),
    ] = None
    bbox_crs: Annotated[
        str | None,
        Query(
            alias="bbox-crs", description="CRS of bbox (CRS84 default).", json_schema_extra={"enum": CRS_LIST}
        ),
    ] = None

    def parse(self) -> tuple[tuple[float, float, float, float], int] | None:
        """((minx, miny, maxx, maxy) in x/y order, srid) or None."""
        if self.bbox is None:
            if self.bbox_crs is not None:
                parse_crs(self.bbox_crs, "bbox-crs")
            return None
        crs = parse_crs(self.bbox_crs, "bbox-crs")
        try:
            nums = [float(v) for v in self.bbox.split(",")]
        except ValueError:
            raise invalid("bbox", "bbox must be 4 (or 6) comma-separated numbers") from None
        if len(nums) == 6:
            nums = [nums[0], nums[1], nums[3], nums[4]]
        if len(nums) != 4 or not all(math.isfinite(n) for n in nums):
            raise invalid("bbox", "bbox must be 4 (or 6) comma-separated finite numbers")
        if crs.flip:
            nums = [nums[1], nums[0], nums[3], nums[2]]
        if nums[0] > nums[2] or nums[1] > nums[3]:
            raise invalid("bbox", "bbox minimum must not exceed maximum")
        if crs.srid == 4326 and not (-180 <= nums[0] <= 180 and -90 <= nums[1] <= 90 and nums[3] <= 90):
            raise invalid("bbox", "bbox is outside the valid longitude/latitude range")
        return (nums[0], nums[1], nums[2], nums[3]), crs.srid


@dataclass
class CrsParam:
    """Output CRS (OGC API – Features Part 2)."""

    crs: Annotated[
        str | None,
        Query(
            description="CRS of the returned geometries (CRS84 default).",
            json_schema_extra={"enum": CRS_LIST},
        ),
    ] = None

    def parse(self) -> CrsDef:
        return parse_crs(self.crs, "crs")


@dataclass
class FilterParams:
    """OGC filtering: datetime and CQL2 text."""

    datetime: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Date or interval (2020-01-01/2020-12-31, ../2020-12-31, 2020-01-01/..)",
        ),
    ] = None
    filter: Annotated[
        str | None, Query(max_length=4000, description="CQL2 text filter over the queryables.")
    ] = None
    filter_lang: Annotated[
        Literal["cql2-text"] | None, Query(alias="filter-lang", description="Only cql2-text.")
    ] = None
    filter_crs: Annotated[
        str | None,
        Query(alias="filter-crs", description="CRS of geometry literals in filter (CRS84 default)."),
    ] = None


def _day(text: str, param: str) -> date:
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text).date()
    except ValueError:
        raise invalid(param, f"'{text}' is not an RFC 3339 date or date-time") from None


def parse_interval(value: str | None, param: str = "datetime") -> tuple[date | None, date | None] | None:
    """An instant or interval as (start, end) dates, open ends as None."""
    if value is None:
        return None
    parts = value.split("/")
    if len(parts) == 1:
        d = _day(parts[0], param)
        return d, d
    if len(parts) != 2:
        raise invalid(param, "use an instant or start/end")
    start = None if parts[0] in ("", "..") else _day(parts[0], param)
    end = None if parts[1] in ("", "..") else _day(parts[1], param)
    if start and end and start > end:
        raise invalid(param, "interval start is after its end")
    return start, end


@dataclass
class RestFilters:
    """REST filters on soil data."""

    parameter: Annotated[
        str | None, Query(max_length=64, description="Only items with a measurement of this parameter code.")
    ] = None
    klasse: Annotated[
        str | None, Query(max_length=64, description="Assessment class (e.g. 'wonen', 'industrie').")
    ] = None
    source: Annotated[str | None, Query(max_length=200, description="Source name (see /sources).")] = None
    from_: Annotated[date | None, Query(alias="from", description="Earliest date (inclusive).")] = None
    to: Annotated[date | None, Query(description="Latest date (inclusive).")] = None


@dataclass
class FormatParam:
    """Output format of data: GeoJSON/JSON or CSV; the Accept header is used when ``f`` is not given."""

    f: Annotated[
        Literal["json", "geojson", "csv"] | None,
        Query(description="Output format: json/geojson (default) or csv (also: Accept: text/csv)."),
    ] = None

    def pick(self, accept: str | None, allowed: tuple[str, ...] = ("json", "csv")) -> str:
        """The format to answer with (one of ``allowed``, first one is the default)."""
        f = "json" if self.f == "geojson" else self.f
        if f is not None:
            if f not in allowed:
                raise invalid("f", f"format '{self.f}' is not offered here; use one of {', '.join(allowed)}")
            return f
        accept = (accept or "").lower()
        if "text/csv" in accept and "csv" in allowed:
            return "csv"
        if "text/html" in accept and "html" in allowed:
            return "html"
        return allowed[0]


@dataclass
class PageFormat(FormatParam):
    """Output format of metadata pages: JSON for machines, HTML for people (Accept: text/html)."""

    f: Annotated[  # type: ignore[assignment]
        Literal["json", "html"] | None,
        Query(description="Output format: json (default) or html (also: Accept: text/html)."),
    ] = None


def dependency(cls: type) -> Any:
    """``Depends`` on an async builder of ``cls`` with the dataclass's own (described) signature.

    FastAPI runs a class dependency in a worker thread; an async builder runs on the event loop,
    which saves a thread hop per parameter group on every request.
    """

    async def build(**kwargs: Any) -> Any:
        return cls(**kwargs)

    build.__signature__ = inspect.signature(cls)  # type: ignore[attr-defined]
    build.__name__ = f"{cls.__name__}_params"
    return Depends(build)


PagingDep = Annotated[Paging, dependency(Paging)]
BBoxDep = Annotated[BBoxParams, dependency(BBoxParams)]
CrsDep = Annotated[CrsParam, dependency(CrsParam)]
FilterDep = Annotated[FilterParams, dependency(FilterParams)]
RestFiltersDep = Annotated[RestFilters, dependency(RestFilters)]
FormatDep = Annotated[FormatParam, dependency(FormatParam)]
PageFormatDep = Annotated[PageFormat, dependency(PageFormat)]
