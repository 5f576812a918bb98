"""Vector tiles: metadata, decoded tiles compared with the database, ETag and empty tiles."""

from __future__ import annotations

import math

import httpx
import mapbox_vector_tile
import pytest

TILE = "/ogc/collections/{}/tiles/WebMercatorQuad/{}/{}/{}"
MARGIN = 64 / 4096


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def expected(db, table_sql: str, z: int, x: int, y: int) -> int:
    return db(
        f"SELECT count(*) FROM ({table_sql}) s WHERE ST_Intersects(ST_Transform(s.geom, 3857), "
        f"ST_TileEnvelope({z}, {x}, {y}, margin => {MARGIN}))"
    )


def test_tileset_metadata(client: httpx.Client) -> None:
    tms = client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert tms["id"] == "WebMercatorQuad" and len(tms["tileMatrices"]) == 23
    assert tms["tileMatrices"][0]["scaleDenominator"] == pytest.approx(559082264.028717, rel=1e-9)
    sets = client.get("/ogc/collections/locations/tiles").json()["tilesets"]
    assert sets[0]["tileMatrixSetURI"].endswith("WebMercatorQuad")
    meta = client.get("/ogc/collections/gemeenten/tiles/WebMercatorQuad").json()
    assert any(li["rel"] == "item" and "{tileMatrix}" in li["href"] for li in meta["links"])
    tj = client.get("/ogc/collections/locations/tiles/WebMercatorQuad/tilejson.json").json()
    assert tj["tilejson"] == "3.0.0" and tj["tiles"][0].endswith("/{z}/{x}/{y}")
    assert client.get("/ogc/collections/bro_wells/tiles").status_code == 404
    assert client.get("/ogc/tileMatrixSets/WorldCRS84Quad").status_code == 404


@pytest.mark.parametrize(
    ("cid", "sql", "z"),
    [
        ("locations", "SELECT geom FROM location", 10),
        ("locations", "SELECT geom FROM location", 13),
        ("samples", "SELECT l.geom FROM sample s JOIN location l ON l.id = s.location_id", 11),
        ("bro_cpt", "SELECT geom FROM bro_object WHERE object_type = 'CPT'", 9),
        ("gemeenten", "SELECT geom FROM gemeente", 9),
    ],
)
def test_tile_features_match_database(client: httpx.Client, db, cid: str, sql: str, z: int) -> None:
    lon = db(f"SELECT ST_X(ST_Transform(ST_Centroid(geom), 4326)) FROM ({sql}) s LIMIT 1")
    lat = db(f"SELECT ST_Y(ST_Transform(ST_Centroid(geom), 4326)) FROM ({sql}) s LIMIT 1")
    x, y = tile_of(lon, lat, z)
    r = client.get(TILE.format(cid, z, x, y))
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = mapbox_vector_tile.decode(r.content)[cid]
    assert len(layer["features"]) == expected(db, sql, z, x, y) > 0
    if cid == "gemeenten" and db("SELECT to_regclass('quality_gemeente')") is not None:
        props = layer["features"][0]["properties"]
        assert "n_locations" in props and "code" in props
    if cid == "locations":
        assert all(isinstance(f["id"], int) for f in layer["features"])


def test_etag_and_empty_tiles(client: httpx.Client) -> None:
    x, y = tile_of(5.12, 52.09, 10)
    r = client.get(TILE.format("locations", 10, x, y))
    etag = r.headers["etag"]
    assert etag.startswith('W/"') and "max-age" in r.headers["cache-control"]
    again = client.get(TILE.format("locations", 10, x, y), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    empty = client.get(TILE.format("locations", 10, 0, 0))
    assert empty.status_code == 204 and empty.content == b""
    assert client.get(TILE.format("locations", 3, 8, 0)).status_code == 404
    assert client.get(TILE.format("locations", 23, 0, 0)).json()["parameter"] == "z"
