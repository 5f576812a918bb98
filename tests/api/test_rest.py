"""REST endpoints for analysts, against the running test server and compared with the database."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from tests.api.conftest import API_KEY, BRO, COUNTS


def _json(client: httpx.Client, url: str, **params) -> dict:
    r = client.get(url, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _csv(r: httpx.Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.text)))


@pytest.fixture(scope="module")
def has_quality(db) -> bool:
    present = db("SELECT to_regclass('quality_gemeente')") is not None
    if not present:
        print("migration 0002 (quality views) absent: metric assertions skip")
    return present


def test_gemeenten_list_geojson_and_csv(client: httpx.Client) -> None:
    doc = _json(client, "/gemeenten", limit=100)
    assert doc["type"] == "FeatureCollection" and doc["numberMatched"] == 26 == len(doc["features"])
    assert {"code", "name", "omgevingsdienst"} <= set(doc["features"][0]["properties"])
    rows = _csv(client.get("/gemeenten", params={"f": "csv", "limit": 100}))
    assert len(rows) == 26 and rows[0]["code"].startswith("GM")
    rows = _csv(client.get("/gemeenten", params={"limit": 3}, headers={"Accept": "text/csv"}))
    assert len(rows) == 3


def test_one_gemeente_and_unknown(client: httpx.Client, has_quality: bool) -> None:
    doc = _json(client, "/gemeenten/GM0344")
    assert doc["id"] == "GM0344" and doc["properties"]["name"] == "Utrecht"
    if has_quality:
        assert doc["properties"]["n_locations"] == COUNTS["GM0344"]
    r = client.get("/gemeenten/GM9999")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = client.get("/gemeenten/utrecht")
    assert r.status_code == 422 and r.json()["parameter"] == "code"


@pytest.mark.parametrize("code", list(COUNTS))
def test_gemeente_locations_count_and_paging(client: httpx.Client, code: str) -> None:
    doc = _json(client, f"/gemeenten/{code}/locations", limit=10)
    assert doc["numberMatched"] == COUNTS[code]
    seen = [f["id"] for f in doc["features"]]
    while nxt := [li["href"] for li in doc["links"] if li["rel"] == "next"]:
        doc = client.get(nxt[0]).json()
        seen += [f["id"] for f in doc["features"]]
    assert len(seen) == len(set(seen)) == COUNTS[code]
    assert all(f["properties"]["gemeente_code"] == code for f in doc["features"])


def test_location_filters(client: httpx.Client, db, has_quality: bool) -> None:
    url = "/gemeenten/GM0344/locations"
    with_pb = db(
        "SELECT count(DISTINCT s.location_id) FROM sample s JOIN measurement m ON m.sample_id = s.id "
        "JOIN location l ON l.id = s.location_id WHERE m.parameter_code = 'Pb' AND l.gemeente_code = 'GM0344'"
    )
    assert _json(client, url, parameter="Pb", limit=1)["numberMatched"] == with_pb > 0
    assert _json(client, url, parameter="Hg", limit=1)["numberMatched"] == 0
    assert _json(client, url, source="test-utrecht", limit=1)["numberMatched"] == COUNTS["GM0344"]
    assert _json(client, url, source="test-regio", limit=1)["numberMatched"] == 0
    dated = db(
        "SELECT count(*) FROM location l JOIN investigation i ON i.id = l.investigation_id "
        "WHERE l.gemeente_code = 'GM0344' AND i.investigation_date BETWEEN '2015-01-01' AND '2016-12-31'"
    )
    assert _json(client, url, **{"from": "2015-01-01", "to": "2016-12-31"}, limit=1)["numberMatched"] == dated
    rd = db(
        "SELECT count(*) FROM location WHERE gemeente_code = 'GM0344' AND "
        "ST_Intersects(geom, ST_MakeEnvelope(130000, 450000, 137000, 460000, 28992))"
    )
    box = {"bbox": "130000,450000,137000,460000", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/28992"}
    assert _json(client, url, **box, limit=1)["numberMatched"] == rd
    if has_quality:
        industrie = db(
            "SELECT count(*) FROM location_assessment WHERE gemeente_code = 'GM0344' AND klasse = 'industrie'"
        )
        assert _json(client, url, klasse="industrie", limit=1)["numberMatched"] == industrie
    r = client.get(url, params={"from": "2020-01-01", "to": "2019-01-01"})
    assert r.status_code == 422 and r.json()["parameter"] == "to"


def test_location_detail_with_provenance(client: httpx.Client, db, has_quality: bool) -> None:
    lid = db("SELECT min(location_id) FROM sample")
    doc = _json(client, f"/locations/{lid}")
    props = doc["properties"]
    assert props["provenance"]["locator"] == db(f"SELECT locator FROM location WHERE id = {lid}")
    assert props["provenance"]["dataset"]["path"].startswith("data/municipal/")
    assert len(props["samples"]) == 2 and len(props["investigations"]) == 1
    sample = props["samples"][0]
    assert sample["provenance"]["locator"] and len(sample["measurements"]) == 3
    m = sample["measurements"][0]
    assert m["provenance"]["locator"].endswith("column " + m["parameter_code"])
    assert m["provenance"]["path"] == props["provenance"]["dataset"]["path"]
    if has_quality:
        assert props["assessment"]["klasse"] and sample["assessment"]["klasse"]
    rows = _csv(client.get(f"/locations/{lid}", params={"f": "csv"}))
    assert len(rows) == 6 and {"measurement_locator", "dataset_path", "value"} <= set(rows[0])
    assert client.get("/locations/999999999").status_code == 404


@pytest.mark.parametrize(("bro_id", "kind"), [(b[0], b[1]) for b in BRO])
def test_bro_object_children(client: httpx.Client, bro_id: str, kind: str) -> None:
    doc = _json(client, f"/bro/{bro_id}")
    assert doc["properties"]["object_type"] == kind
    key, n = {"CPT": ("cpt_measurements", 50), "GMW": ("well_tubes", 2)}.get(kind, ("borehole_layers", 4))
    assert len(doc[key]) == n
    assert len(_csv(client.get(f"/bro/{bro_id}", params={"f": "csv"}))) == n


def test_bro_unknown_and_gemeente_bro(client: httpx.Client) -> None:
    assert client.get("/bro/CPT999999999999").status_code == 404
    assert client.get("/bro/not-an-id").status_code == 422
    doc = _json(client, "/gemeenten/GM0344/bro")
    assert doc["numberMatched"] == sum(1 for b in BRO if b[2] == "GM0344")
    assert _json(client, "/gemeenten/GM0344/bro", type="CPT")["numberMatched"] == 2
    assert client.get("/gemeenten/GM0344/bro", params={"type": "XYZ"}).json()["parameter"] == "type"


def test_omgevingsdiensten_members_on_a_date(client: httpx.Client) -> None:
    doc = _json(client, "/omgevingsdiensten", date="2020-01-01")
    assert sorted(f["id"] for f in doc["features"]) == ["ODRU", "RUDU"]
    odru = _json(client, "/omgevingsdiensten/ODRU", date="2020-01-01")
    assert len(odru["members"]) == 15 and odru["date"] == "2020-01-01"
    assert "GM0620" not in [m["code"] for m in odru["members"]]  # Vianen ended 2019-01-01
    assert len(_json(client, "/omgevingsdiensten/ODRU", date="2018-06-01")["members"]) == 15
    gone = _json(client, "/omgevingsdiensten/ODRU", date="2026-06-01")
    assert gone["members"] == [] and gone["geometry"] is None
    assert len(_csv(client.get("/omgevingsdiensten/RUDU", params={"date": "2020-01-01", "f": "csv"}))) == 12
    assert client.get("/omgevingsdiensten/XYZ").status_code == 404


def test_metrics(client: httpx.Client, has_quality: bool) -> None:
    if not has_quality:
        r = client.get("/gemeenten/GM0344/metrics")
        assert r.status_code == 503
        pytest.skip("migration 0002 absent: metrics endpoints answer 503")
    doc = _json(client, "/gemeenten/GM0344/metrics")
    assert (
        doc["metrics"]["n_locations"] == COUNTS["GM0344"]
        and "share_lead_topsoil_above_wonen" in doc["metrics"]
    )
    assert {p["parameter_code"] for p in doc["parameters"]} == {"Pb", "Zn", "Cu"}
    assert len(_csv(client.get("/gemeenten/GM0344/metrics", params={"f": "csv"}))) == 3
    od = _json(client, "/omgevingsdiensten/ODU/metrics", date="2026-06-01")
    assert od["metrics"]["n_locations"] == sum(COUNTS.values())
    assert client.get("/gemeenten/GM9999/metrics").status_code == 404


def test_catalogue(client: httpx.Client, db) -> None:
    params = _json(client, "/parameters")["parameters"]
    assert len(params) == db("SELECT count(*) FROM parameter")
    pb = next(p for p in params if p["code"] == "Pb")
    assert pb["interventiewaarde"] == db(
        "SELECT interventiewaarde FROM soil_norm WHERE parameter_code = 'Pb'"
    )
    sources = {s["name"]: s for s in _json(client, "/sources")["sources"]}
    assert sources["test-utrecht"]["n_datasets"] == 1
    runs = _json(client, "/etl/runs", limit=1)
    assert len(runs["runs"]) == 1 and runs["runs"][0]["id"] == db("SELECT max(id) FROM etl_run")
    if db("SELECT count(*) FROM etl_run") > 1:
        assert any(li["rel"] == "next" for li in runs["links"])


def test_refresh_cache_needs_api_key(client: httpx.Client) -> None:
    assert client.post("/etl/refresh-cache").status_code == 401
    assert client.post("/etl/refresh-cache", headers={"X-API-Key": "wrong"}).status_code == 403
    r = client.post("/etl/refresh-cache", headers={"X-API-Key": API_KEY})
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert client.get("/etl/refresh-cache").status_code == 405
