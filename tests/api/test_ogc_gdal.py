"""A real client: GDAL's OAPIF driver (``ogrinfo``) opens every collection of the test server.

GDAL 3.6 (Debian 12) has no OGC API – Features Part 2 support (its ``CRS`` open option arrived in
3.7), so on 3.6 EPSG:28992 is requested by appending ``crs=`` to the connection URL, which the
driver passes on to every request; on 3.7+ the ``CRS`` open option is used.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from api.collections import COLLECTIONS
from api.params import EPSG28992
from tests.api.conftest import Server

pytestmark = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="ogrinfo (gdal-bin) is not installed")
BBOX = (5.0, 52.0, 5.2, 52.2)  # lon/lat: most of the city of Utrecht
TODAY_OD = (
    "SELECT count(DISTINCT omgevingsdienst_code) FROM omgevingsdienst_membership WHERE "
    "coalesce(valid_from, '-infinity') <= current_date AND current_date < coalesce(valid_to, 'infinity')"
)


def ogrinfo(*args: str) -> str:
    proc = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "ERROR" not in proc.stderr, proc.stderr
    return proc.stdout


def gdal_version() -> tuple[int, int]:
    out = subprocess.run(["ogrinfo", "--version"], capture_output=True, text=True).stdout
    major, minor = re.search(r"GDAL (\d+)\.(\d+)", out).groups()
    return int(major), int(minor)


def rd_new(server: Server) -> list[str]:
    """ogrinfo arguments opening the server's OGC API with features in EPSG:28992."""
    if gdal_version() >= (3, 7):
        return ["-oo", "CRS=EPSG:28992", f"OAPIF:{server.url}/ogc"]
    return [f"OAPIF:{server.url}/ogc?crs={EPSG28992}"]


def feature_count(out: str) -> int:
    return int(re.search(r"Feature Count: (\d+)", out).group(1))


def expected_count(db, cid: str, bbox: tuple[float, ...] | None = None) -> int:
    if cid == "omgevingsdiensten":
        return db(TODAY_OD)
    c = COLLECTIONS[cid]
    table = c.from_.split(" ")[0]
    geom = "l.geom" if cid == "samples" else "t.geom"
    join = " JOIN location l ON l.id = t.location_id" if cid == "samples" else ""
    where = [c.where] if c.where else []
    if bbox:
        where.append(
            f"ST_Intersects(ST_Transform({geom}, 4326), ST_MakeEnvelope({', '.join(map(str, bbox))}, 4326))"
        )
    clause = " WHERE " + " AND ".join(where) if where else ""
    return db(f"SELECT count(*) FROM {table} t{join}{clause}")


def test_driver_lists_every_collection(server: Server) -> None:
    out = ogrinfo(f"OAPIF:{server.url}/ogc")
    for cid, c in COLLECTIONS.items():
        assert (f": {cid} (" in out) == c.ogc, cid


@pytest.mark.parametrize("cid", [c for c, v in COLLECTIONS.items() if v.ogc])
def test_counts_through_gdal(server: Server, db, cid: str) -> None:
    full = ogrinfo("-so", "-oo", "PAGE_SIZE=1000", f"OAPIF:{server.url}/ogc", cid)
    assert feature_count(full) == expected_count(db, cid)
    if cid != "omgevingsdiensten":
        spat = ogrinfo("-so", "-spat", *map(str, BBOX), f"OAPIF:{server.url}/ogc", cid)
        assert feature_count(spat) == expected_count(db, cid, BBOX)


def test_reading_every_feature_through_gdal(server: Server, db) -> None:
    out = ogrinfo("-al", "-q", "-oo", "PAGE_SIZE=7", f"OAPIF:{server.url}/ogc", "locations")
    fids = [int(v) for v in re.findall(r"OGRFeature\(locations\):(\d+)", out)]
    assert len(fids) == len(set(fids)) == db("SELECT count(*) FROM location")
    assert "klasse (String)" in out or db("SELECT to_regclass('location_assessment')") is None


def test_features_in_rd_new(server: Server, db) -> None:
    args = rd_new(server)
    out = ogrinfo("-al", "-q", *args, "bro_cpt")
    points = [tuple(map(float, p)) for p in re.findall(r"POINT \(([\d.]+) ([\d.]+)\)", out)]
    ids = re.findall(r"bro_id \(String\) = (\S+)", out)
    assert len(points) == len(ids) == 3
    for bro_id, (x, y) in zip(ids, points, strict=True):
        assert x == pytest.approx(
            db(f"SELECT ST_X(geom) FROM bro_object WHERE bro_id = '{bro_id}'"), abs=0.001
        )
        assert y == pytest.approx(
            db(f"SELECT ST_Y(geom) FROM bro_object WHERE bro_id = '{bro_id}'"), abs=0.001
        )


def test_quarantined_locations_open_in_gdal_with_reason_and_message(server: Server, db) -> None:
    """The rejected positions of a load, as a layer: only records that have a position, in RD New."""
    args = rd_new(server)
    out = ogrinfo("-al", "-q", *args, "quarantined_locations")
    reasons = re.findall(r"reason \(String\) = (\S+)", out)
    assert reasons == ["outside_gemeente"] * db("SELECT count(*) FROM quarantine WHERE geom IS NOT NULL")
    assert (
        db("SELECT count(*) FROM quarantine WHERE geom IS NULL") >= 1
    )  # e.g. missing_coordinates: not served
    messages = re.findall(r"message \(String\) = (.+)", out)
    assert all("lies more than 100 m outside gemeente GM0344; it lies in gemeente" in m for m in messages)
    points = [tuple(map(float, p)) for p in re.findall(r"POINT \(([\d.]+) ([\d.]+)\)", out)]
    expected = [
        (
            db(f"SELECT ST_X(geom) FROM quarantine WHERE locator = '{loc}'"),
            db(f"SELECT ST_Y(geom) FROM quarantine WHERE locator = '{loc}'"),
        )
        for loc in re.findall(r"locator \(String\) = (.+)", out)
    ]
    assert len(points) == len(expected) == len(reasons)
    for (x, y), (ex, ey) in zip(points, expected, strict=True):
        assert (x, y) == (pytest.approx(ex, abs=0.001), pytest.approx(ey, abs=0.001))
