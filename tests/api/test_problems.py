"""Errors are RFC 9457 problem documents naming the bad parameter; the parameter dataclasses alone."""

from __future__ import annotations

import httpx
import pytest

from api.params import BBoxParams, FormatParam, Paging, parse_crs, parse_interval
from api.problems import Problem
from api.settings import ApiSettings

ITEMS = "/ogc/collections/locations/items"


def _problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    doc = r.json()
    assert {"type", "title", "status", "detail"} <= set(doc) and doc["status"] == status
    assert "Traceback" not in r.text and "asyncpg" not in r.text
    return doc


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"limit": 10_001}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "5,52,4,53"}, "bbox"),
        ({"bbox-crs": "EPSG:9999"}, "bbox-crs"),
        ({"crs": "urn:nope"}, "crs"),
        ({"datetime": "yesterday"}, "datetime"),
        ({"after": "abc"}, "after"),
        ({"filter": "name = "}, "filter"),
        ({"filter": "secret = 1"}, "filter"),
        ({"filter-lang": "cql2-json"}, "filter-lang"),
        ({"filter": "dataset_id = 99999999999999999999"}, "filter"),
        ({"f": "xml"}, "f"),
        ({"dataset_id": "one"}, "dataset_id"),
        ({"filter": "name = 1"}, "filter"),
    ],
)
def test_422_names_the_parameter(client: httpx.Client, params: dict, name: str) -> None:
    doc = _problem(client.get(ITEMS, params=params), 422)
    assert doc["parameter"] == name
    assert doc["invalid-params"][0]["name"] == name


def test_unknown_parameter_is_400(client: httpx.Client) -> None:
    assert _problem(client.get(ITEMS, params={"colour": "red"}), 400)["parameter"] == "colour"


def test_404_405_and_auth(client: httpx.Client) -> None:
    _problem(client.get("/nope"), 404)
    _problem(client.get("/ogc/collections/nope/items"), 404)
    _problem(client.delete("/gemeenten"), 405)
    _problem(client.post("/etl/refresh-cache"), 401)
    _problem(client.post("/etl/refresh-cache", headers={"X-API-Key": "x"}), 403)


def test_request_bounds(client: httpx.Client) -> None:
    _problem(client.get(ITEMS, params={"filter": "name = '" + "x" * 9000 + "'"}), 414)
    _problem(client.post("/etl/refresh-cache", content=b"x" * 70_000), 413)


def test_paging_dataclass_alone() -> None:
    settings = ApiSettings(database_url="postgresql://x/y", max_limit=50, default_limit=7)
    assert Paging().size(settings) == 7
    with pytest.raises(Problem) as err:
        Paging(limit=51).size(settings)
    assert err.value.param == "limit"
    assert Paging(after="12").keyset("integer") == ("12", False)
    assert Paging(before="GM0307").keyset("string") == ("GM0307", True)
    with pytest.raises(Problem):
        Paging(after="1", before="2").keyset("integer")


def test_bbox_crs_interval_format_alone() -> None:
    assert BBoxParams("52,5,53,6", "http://www.opengis.net/def/crs/EPSG/0/4326").parse() == (
        (5, 52, 6, 53),
        4326,
    )
    assert BBoxParams("1,2,0,3,4,0").parse() == ((1, 2, 3, 4), 4326)
    assert parse_crs("EPSG:28992", "crs").srid == 28992 and parse_crs(None, "crs").flip is False
    assert parse_interval("2020-01-01/..") == (parse_interval("2020-01-01")[0], None)
    assert FormatParam().pick("text/csv") == "csv" and FormatParam().pick("text/html") == "json"
    assert FormatParam(f="html").pick(None, ("json", "html")) == "html"


def test_cors_is_configurable_and_covers_problems() -> None:
    import asyncio

    from api.app import create_app

    origin = "https://kaart.example.nl"
    app = create_app(ApiSettings(database_url="postgresql://x/y", cors_origins=[origin]))
    preflight = {"Access-Control-Request-Method": "GET"}

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)  # no lifespan: these answers never reach the database
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return [
                await c.options("/ogc", headers={"Origin": origin, **preflight}),
                await c.get("/ogc", params={"q": "x" * 9000}, headers={"Origin": origin}),
                await c.options("/ogc", headers={"Origin": "https://evil.example", **preflight}),
            ]

    pre, long, other = asyncio.run(run())
    assert pre.headers["access-control-allow-origin"] == origin
    assert long.status_code == 414 and long.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-origin" not in other.headers
