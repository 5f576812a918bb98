"""OGC API – Features against the running test server, compared with the database."""

from __future__ import annotations

import time

import httpx
import pytest
import sqlalchemy as sa

from api.collections import COLLECTIONS
from api.ogc.cql2 import to_sql
from api.params import CRS, CRS84, EPSG4326, EPSG28992
from api.problems import Problem
from api.queries.catalog import Layer
from api.sql import Args

ITEMS = "/ogc/collections/{}/items"


def _get(client: httpx.Client, url: str, **params) -> dict:
    r = client.get(url, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_landing_json_and_html(client: httpx.Client) -> None:
    doc = _get(client, "/ogc")
    rels = {li["rel"] for li in doc["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    html = client.get("/ogc", headers={"Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html") and "<h1>" in html.text
    assert client.get("/ogc", params={"f": "html"}).headers["content-type"].startswith("text/html")


def test_conformance_and_openapi30(client: httpx.Client) -> None:
    classes = _get(client, "/ogc/conformance")["conformsTo"]
    for c in (
        "ogcapi-features-1/1.0/conf/core",
        "conf/geojson",
        "conf/oas30",
        "ogcapi-features-2/1.0/conf/crs",
        "cql2/1.0/conf/cql2-text",
    ):
        assert any(c in x for x in classes), c
    r = client.get("/ogc/api")
    assert r.headers["content-type"].startswith("application/vnd.oai.openapi+json;version=3.0")
    doc = r.json()
    assert doc["openapi"].startswith("3.0")
    limit = next(
        p
        for p in doc["paths"]["/ogc/collections/{collectionId}/items"]["get"]["parameters"]
        if p["name"] == "limit"
    )
    assert limit["schema"]["maximum"] == 10_000
    assert "anyOf" not in str(doc) or '"type": "null"' not in str(doc)


def test_collections_metadata(client: httpx.Client) -> None:
    doc = _get(client, "/ogc/collections")
    ids = [c["id"] for c in doc["collections"]]
    assert ids == [
        "gemeenten",
        "omgevingsdiensten",
        "locations",
        "samples",
        "bro_cpt",
        "bro_boreholes",
        "bro_wells",
        "quarantined_locations",
    ]
    loc = _get(client, "/ogc/collections/locations")
    assert loc["storageCrs"] == EPSG28992 and CRS84 in loc["crs"]
    minx, miny, maxx, maxy = loc["extent"]["spatial"]["bbox"][0]
    assert 4.7 < minx < maxx < 5.7 and 51.8 < miny < maxy < 52.4
    assert client.get("/ogc/collections/nope").status_code == 404


def test_queryables_are_the_whitelist(client: httpx.Client) -> None:
    q = _get(client, "/ogc/collections/locations/queryables")
    assert q["properties"]["gemeente_code"]["type"] == "string"
    assert q["properties"]["investigation_date"]["format"] == "date"
    assert "geom" not in q["properties"] and q["additionalProperties"] is False


@pytest.mark.parametrize("cid", [c for c, v in COLLECTIONS.items() if v.ogc and not v.on_date])
def test_counts_match_database(client: httpx.Client, db, cid: str) -> None:
    c = COLLECTIONS[cid]
    where = f" WHERE {c.where}" if c.where else ""
    expected = db(f"SELECT count(*) FROM {c.from_.split(' ')[0]} t{where}")
    doc = _get(client, ITEMS.format(cid), limit=5)
    assert doc["numberMatched"] == expected
    assert doc["numberReturned"] == min(5, expected) == len(doc["features"])


def test_keyset_paging_walks_everything_once(client: httpx.Client, db) -> None:
    url, ids, pages = ITEMS.format("locations") + "?limit=7", [], 0
    while url:
        doc = client.get(url).json()
        ids += [f["id"] for f in doc["features"]]
        nxt = [li["href"] for li in doc["links"] if li["rel"] == "next"]
        if pages:
            assert any(li["rel"] == "prev" for li in doc["links"])
        url, pages = (nxt[0] if nxt else None), pages + 1
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == db("SELECT count(*) FROM location")
    assert pages == -(-len(ids) // 7)


def test_prev_link_returns_previous_page(client: httpx.Client) -> None:
    first = _get(client, ITEMS.format("locations"), limit=5)
    second = client.get(next(li["href"] for li in first["links"] if li["rel"] == "next")).json()
    back = client.get(next(li["href"] for li in second["links"] if li["rel"] == "prev")).json()
    assert [f["id"] for f in back["features"]] == [f["id"] for f in first["features"]]


def test_offset_paging(client: httpx.Client) -> None:
    all_ids = [f["id"] for f in _get(client, ITEMS.format("locations"), limit=20)["features"]]
    doc = _get(client, ITEMS.format("locations"), limit=5, offset=10)
    assert [f["id"] for f in doc["features"]] == all_ids[10:15]


def test_crs_28992_and_4326_axis_order(client: httpx.Client, db) -> None:
    lid = db("SELECT min(id) FROM location")
    x, y = (
        db(f"SELECT ST_X(geom) FROM location WHERE id = {lid}"),
        db(f"SELECT ST_Y(geom) FROM location WHERE id = {lid}"),
    )
    r = client.get(ITEMS.format("locations") + f"/{lid}", params={"crs": EPSG28992})
    assert r.headers["content-crs"] == f"<{EPSG28992}>"
    assert r.json()["geometry"]["coordinates"] == pytest.approx([x, y], abs=0.001)
    lon, lat = client.get(ITEMS.format("locations") + f"/{lid}").json()["geometry"]["coordinates"]
    lat2, lon2 = client.get(ITEMS.format("locations") + f"/{lid}", params={"crs": EPSG4326}).json()[
        "geometry"
    ]["coordinates"]
    assert (lat2, lon2) == (lat, lon) and 5 < lon < 6 and 51 < lat < 53


@pytest.mark.parametrize(
    ("bbox", "crs"),
    [
        ("130000,450000,140000,460000", EPSG28992),
        ("5.0,52.0,5.2,52.2", None),
        ("52.0,5.0,52.2,5.2", EPSG4326),
    ],
)
def test_bbox_in_each_crs(client: httpx.Client, db, bbox: str, crs: str | None) -> None:
    nums = [float(v) for v in bbox.split(",")]
    if crs == EPSG4326:
        nums = [nums[1], nums[0], nums[3], nums[2]]
    srid = 28992 if crs == EPSG28992 else 4326
    env = f"ST_MakeEnvelope({nums[0]}, {nums[1]}, {nums[2]}, {nums[3]}, {srid})"
    expected = db(f"SELECT count(*) FROM location WHERE ST_Intersects(ST_Transform(geom, {srid}), {env})")
    params = {"bbox": bbox, "limit": 1} | ({"bbox-crs": crs} if crs else {})
    assert _get(client, ITEMS.format("locations"), **params)["numberMatched"] == expected > 0


def test_datetime_and_property_filters(client: httpx.Client, db) -> None:
    expected = db("SELECT count(*) FROM sample WHERE sample_date BETWEEN '2017-01-01' AND '2018-12-31'")
    doc = _get(client, ITEMS.format("samples"), datetime="2017-01-01/2018-12-31", limit=1)
    assert doc["numberMatched"] == expected > 0
    open_end = _get(client, ITEMS.format("samples"), datetime="2017-01-01/..", limit=1)["numberMatched"]
    assert open_end == db("SELECT count(*) FROM sample WHERE sample_date >= '2017-01-01'")
    doc = _get(client, ITEMS.format("locations"), gemeente_code="GM0345", limit=1)
    assert doc["numberMatched"] == 15


CQL = [
    ("gemeente_code = 'GM0307'", "gemeente_code = 'GM0307'"),
    ("gemeente_code <> 'GM0307' AND dataset_id > 0", "gemeente_code <> 'GM0307'"),
    ("gemeente_code = 'GM0307' OR gemeente_code = 'GM0345'", "gemeente_code IN ('GM0307', 'GM0345')"),
    ("gemeente_code IN ('GM0307', 'GM0345')", "gemeente_code IN ('GM0307', 'GM0345')"),
    ("external_id LIKE 'GM0344-01%'", "external_id LIKE 'GM0344-01%'"),
    ("investigation_id BETWEEN 2 AND 3", "investigation_id BETWEEN 2 AND 3"),
    (
        "S_INTERSECTS(geometry, BBOX(5.0, 52.0, 5.2, 52.2))",
        "ST_Intersects(ST_Transform(geom, 4326), ST_MakeEnvelope(5.0, 52.0, 5.2, 52.2, 4326))",
    ),
    (
        "S_INTERSECTS(geometry, POLYGON((5.0 52.0, 5.2 52.0, 5.2 52.2, 5.0 52.2, 5.0 52.0))) AND NOT name IS NULL",
        "ST_Intersects(ST_Transform(geom, 4326), ST_MakeEnvelope(5.0, 52.0, 5.2, 52.2, 4326))",
    ),
]


@pytest.mark.parametrize(("cql", "where"), CQL)
def test_cql2_filters_match_sql(client: httpx.Client, db, cql: str, where: str) -> None:
    if "investigation_id" in cql:
        lo, hi = db("SELECT min(id) FROM investigation"), db("SELECT min(id) + 1 FROM investigation")
        cql = cql.replace("2 AND 3", f"{lo} AND {hi}")
        where = where.replace("2 AND 3", f"{lo} AND {hi}")
    expected = db(f"SELECT count(*) FROM location WHERE {where}")
    doc = _get(client, ITEMS.format("locations"), filter=cql, limit=2)
    assert doc["numberMatched"] == expected > 0


def test_cql2_is_parameterised_and_whitelisted() -> None:
    c = COLLECTIONS["locations"]
    layer = Layer(c, c.from_, c.props, None, c.props)
    args = Args()
    sql = to_sql(
        "name = 'x OR 1=1; DROP TABLE location --' AND dataset_id IN (1, 2)", layer, args, CRS[CRS84]
    )
    assert "DROP" not in sql and "$1" in sql and args.values == ["x OR 1=1; DROP TABLE location --", 1, 2]
    with pytest.raises(Problem) as err:
        to_sql("pg_sleep = 1", layer, Args(), CRS[CRS84])
    assert err.value.param == "filter" and err.value.status == 422
    with pytest.raises(Problem):
        to_sql("name = 'a'; DROP TABLE location", layer, Args(), CRS[CRS84])


def test_injection_attempt_is_a_literal(client: httpx.Client, db) -> None:
    doc = _get(client, ITEMS.format("locations"), filter="name = 'x; DROP TABLE location; --'", limit=1)
    assert doc["numberMatched"] == 0
    assert db("SELECT count(*) FROM location") == 80


def test_single_feature_and_404(client: httpx.Client) -> None:
    doc = _get(client, ITEMS.format("bro_cpt") + "/CPT000000000001")
    assert doc["properties"]["object_type"] == "CPT"
    assert {li["rel"] for li in doc["links"]} == {"self", "collection"}
    assert client.get(ITEMS.format("bro_cpt") + "/GMW000000000001").status_code == 404
    assert client.get(ITEMS.format("locations") + "/abc").status_code == 404


def test_gemeenten_carry_metrics_and_omgevingsdienst(client: httpx.Client, db) -> None:
    doc = _get(client, ITEMS.format("gemeenten"), limit=30)
    assert doc["numberMatched"] == 26
    utrecht = next(f for f in doc["features"] if f["id"] == "GM0344")
    assert utrecht["geometry"]["type"] == "MultiPolygon"
    if db("SELECT to_regclass('quality_gemeente')") is None:
        pytest.skip("migration 0002 (quality_gemeente) absent: metric attributes not checked")
    assert utrecht["properties"]["n_locations"] == 40
    assert "share_lead_topsoil_above_wonen" in utrecht["properties"]
    assert utrecht["properties"]["omgevingsdienst"] == db(
        "SELECT omgevingsdienst_code FROM omgevingsdienst_membership WHERE gemeente_code = 'GM0344' "
        "AND coalesce(valid_from, '-infinity') <= current_date AND current_date < coalesce(valid_to, 'infinity')"
    )


def test_omgevingsdiensten_on_a_date(client: httpx.Client) -> None:
    past = _get(client, ITEMS.format("omgevingsdiensten"), datetime="2020-01-01")
    assert sorted(f["id"] for f in past["features"]) == ["ODRU", "RUDU"]
    rudu = next(f for f in past["features"] if f["id"] == "RUDU")
    assert "PV26" in rudu["properties"]["members"] and rudu["geometry"]["type"] == "MultiPolygon"
    later = _get(client, ITEMS.format("omgevingsdiensten"), datetime="2026-06-01")
    assert [f["id"] for f in later["features"]] == ["ODU"]


def test_unfiltered_count_cache_follows_etl_runs(client: httpx.Client, api_engine: sa.Engine) -> None:
    before = _get(client, ITEMS.format("locations"), limit=1)["numberMatched"]
    with api_engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO location (dataset_id, external_id, gemeente_code, geom) SELECT min(id), 'cache-test', "
                "'GM0344', ST_SetSRID(ST_MakePoint(136000, 456000), 28992) FROM dataset"
            )
        )
        conn.execute(sa.text("INSERT INTO etl_run (finished_at, status) VALUES (now(), 'succeeded')"))
    try:
        deadline, after = time.monotonic() + 5, before
        while after == before and time.monotonic() < deadline:
            time.sleep(0.2)
            after = _get(client, ITEMS.format("locations"), limit=1)["numberMatched"]
        assert after == before + 1
    finally:
        with api_engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM location WHERE external_id = 'cache-test'"))
            conn.execute(sa.text("INSERT INTO etl_run (finished_at, status) VALUES (now(), 'succeeded')"))
        time.sleep(0.5)


def test_quarantined_locations_filter_by_reason_and_source(client: httpx.Client) -> None:
    base = "/ogc/collections/quarantined_locations/items"
    doc = _get(client, base, reason="outside_gemeente", source="test-utrecht")
    assert doc["numberMatched"] == len(doc["features"]) == 4  # the one without coordinates has no position
    assert {f["properties"]["reason"] for f in doc["features"]} == {"outside_gemeente"}
    assert all(f["geometry"]["type"] == "Point" for f in doc["features"])
    assert _get(client, base, source="test-regio")["numberMatched"] == 0
    assert _get(client, base, reason="missing_coordinates")["numberMatched"] == 0
