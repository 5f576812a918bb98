"""The area to fetch: a WGS84 bounding box, from a bbox given on the command line or from PostGIS.

BRO's characteristics search takes a rectangle in latitude/longitude. A bbox in RD New is turned into
the WGS84 box that covers it (edges densified, so no corner of RD is cut off). A gemeente or the
whole province comes from the ``gemeente`` polygons: the envelope in RD, segmentised, transformed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import psycopg

from etl.errors import ConfigError

RD = "EPSG:28992"
WGS84 = "EPSG:4326"


@dataclass(frozen=True, slots=True)
class BBox:
    """A rectangle in WGS84 degrees (longitude = x, latitude = y)."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def __post_init__(self) -> None:
        if not (-180 <= self.min_lon < self.max_lon <= 180 and -90 <= self.min_lat < self.max_lat <= 90):
            raise ConfigError(
                f"not a WGS84 bbox (min_lon < max_lon, min_lat < max_lat, in degrees): "
                f"{self.min_lon},{self.min_lat},{self.max_lon},{self.max_lat}"
            )

    @property
    def width(self) -> float:
        return self.max_lon - self.min_lon

    @property
    def height(self) -> float:
        return self.max_lat - self.min_lat

    @property
    def key(self) -> str:
        return f"{self.min_lon:.7f},{self.min_lat:.7f},{self.max_lon:.7f},{self.max_lat:.7f}"

    def quadrants(self) -> tuple[BBox, BBox, BBox, BBox]:
        """The four quarters (SW, SE, NW, NE); shared edges may list an object twice (deduplicated)."""
        mid_lon = (self.min_lon + self.max_lon) / 2
        mid_lat = (self.min_lat + self.max_lat) / 2
        return (
            BBox(self.min_lon, self.min_lat, mid_lon, mid_lat),
            BBox(mid_lon, self.min_lat, self.max_lon, mid_lat),
            BBox(self.min_lon, mid_lat, mid_lon, self.max_lat),
            BBox(mid_lon, mid_lat, self.max_lon, self.max_lat),
        )

    def as_area(self) -> dict:
        """The ``area`` member of a characteristics search (rounded outwards to 1e-7 degrees, ~1 cm)."""
        down, up = (lambda v: math.floor(v * 1e7) / 1e7), (lambda v: math.ceil(v * 1e7) / 1e7)
        return {
            "boundingBox": {
                "lowerCorner": {"lat": down(self.min_lat), "lon": down(self.min_lon)},
                "upperCorner": {"lat": up(self.max_lat), "lon": up(self.max_lon)},
            }
        }


@dataclass(frozen=True, slots=True)
class Area:
    """What to fetch: a stable key for the fetch state, a label, the search box, the gemeenten if any."""

    key: str
    label: str
    bbox: BBox
    gemeente: str | None = None  # a CBS code; None with polygons=True means the whole province
    polygons: bool = False  # keep only objects inside the gemeente polygons (bbox corners hold others)


def parse_bbox(text: str, crs: str = RD) -> BBox:
    """``minx,miny,maxx,maxy`` in RD New (metres) or WGS84 (lon,lat degrees) as a WGS84 BBox."""
    try:
        minx, miny, maxx, maxy = (float(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"--bbox wants minx,miny,maxx,maxy (four numbers), got {text!r}") from None
    crs = crs.upper()
    if crs in ("EPSG:4326", "EPSG:4258", "WGS84"):
        return BBox(minx, miny, maxx, maxy)
    if crs != RD:
        raise ConfigError(f"--bbox-crs must be EPSG:28992 or EPSG:4326, got {crs!r}")
    if not (minx < maxx and miny < maxy):
        raise ConfigError(f"not a bbox (minx < maxx, miny < maxy): {text!r}")
    if not (minx >= -8000 and maxx <= 300000 and miny >= 289000 and maxy <= 629000):
        raise ConfigError(f"{text!r} is outside RD New's area (x -7000..300000, y 289000..629000)")
    from pyproj import Transformer

    transformer = Transformer.from_crs(RD, WGS84, always_xy=True)
    return BBox(*transformer.transform_bounds(minx, miny, maxx, maxy, densify_pts=21))


def bbox_area(bbox: BBox) -> Area:
    return Area(key=f"bbox:{bbox.key}", label=f"bbox {bbox.key} (WGS84)", bbox=bbox)


_EXTENT_SQL = """
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), n
FROM (SELECT ST_Extent(ST_Transform(ST_Segmentize(ST_Envelope(geom), 250), 4326)) AS e, count(*) AS n
      FROM gemeente WHERE %(code)s::text IS NULL OR code = %(code)s) s
"""


def area_from_store(conn: psycopg.Connection, gemeente: str | None) -> Area:
    """The area of one gemeente (CBS code) or, with ``None``, of the whole province, from PostGIS."""
    if gemeente is not None:
        gemeente = gemeente.upper()
    row = conn.execute(_EXTENT_SQL, {"code": gemeente}).fetchone()
    if row is None or not row[4]:
        if gemeente:
            raise ConfigError(
                f"unknown gemeente {gemeente!r} (a CBS code such as GM0344; is `db seed` done?)"
            )
        raise ConfigError("no gemeente polygons in the store: run `grondslag db seed` first")
    bbox = BBox(*(float(v) for v in row[:4]))
    if gemeente:
        return Area(f"gemeente:{gemeente}", f"gemeente {gemeente}", bbox, gemeente, polygons=True)
    return Area("province", "province of Utrecht", bbox, None, polygons=True)


_INSIDE_SQL = """
SELECT p.id FROM unnest(%(ids)s::text[], %(lon)s::float8[], %(lat)s::float8[]) AS p(id, lon, lat)
WHERE EXISTS (
    SELECT 1 FROM gemeente g
    WHERE (%(code)s::text IS NULL OR g.code = %(code)s)
      AND ST_DWithin(g.geom, ST_Transform(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4258), 28992), %(tol)s))
"""


def inside_polygons(
    conn: psycopg.Connection,
    gemeente: str | None,
    points: dict[str, tuple[float, float]],
    tolerance_m: float = 50,
) -> set[str]:
    """Ids of ``points`` (id -> (lat, lon), ETRS89 as BRO gives them) within the gemeente polygons."""
    if not points:
        return set()
    ids = list(points)
    rows = conn.execute(
        _INSIDE_SQL,
        {
            "ids": ids,
            "lat": [points[i][0] for i in ids],
            "lon": [points[i][1] for i in ids],
            "code": gemeente,
            "tol": tolerance_m,
        },
    ).fetchall()
    return {r[0] for r in rows}
