"""The map page (/map) in a real headless Chromium against the demo data, driven by Playwright.

Debian's ``chromium`` is launched by path (``playwright install`` is never run). The API runs in a thread
with the map mounted, over a module database loaded with ``etl run --all`` and the bundled BRO samples.
A screenshot is saved to ``test-artifacts/map_page.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from api.app import create_app
from api.map import mount_map
from api.settings import ApiSettings
from db import store
from db.settings import StoreSettings
from tests.conftest import REPO, run_cli, serving

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTEFACTS = REPO / "test-artifacts"
VIEWPORT = {"width": 1280, "height": 800}
PROXY_PREFIX = "/proxy/grondslag"
BRO_SAMPLES = sorted([*(REPO / "data" / "samples").glob("bro_*"), *(REPO / "data" / "samples").glob("gef_*")])

pytestmark = pytest.mark.timeout(180)


@dataclass
class Browser:
    page: object  # playwright Page
    errors: list[str] = field(default_factory=list)  # console errors, page errors, failed responses
    foreign: list[str] = field(default_factory=list)  # requests to anything but the server

    def js(self, script: str, arg: object = None):
        return self.page.evaluate(script, arg)


@pytest.fixture(scope="module")
def demo_db(etl_db: StoreSettings) -> Iterator[sa.Engine]:
    proc = run_cli(etl_db, "etl", "run", "--all", "--format", "json", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    files = [str(p) for p in BRO_SAMPLES]
    proc = run_cli(etl_db, "etl", "ingest", *files, "--source", "bro-samples", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # 1: a sample file failed (reported), rest loaded
    engine = store.make_engine(etl_db)
    yield engine
    engine.dispose()


def behind_proxy(app, prefix: str = PROXY_PREFIX):
    """ASGI: requests under ``prefix`` reach ``app`` with the prefix removed, as a reverse proxy does."""

    async def asgi(scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(prefix + "/"):
            scope = {**scope, "path": scope["path"][len(prefix) :], "raw_path": None}
        await app(scope, receive, send)

    return asgi


@pytest.fixture(scope="module")
def base_url(etl_db: StoreSettings, demo_db: sa.Engine) -> Iterator[str]:
    """The API with the map mounted, served by uvicorn on 127.0.0.1:<free port> in a thread."""
    app = create_app(ApiSettings(database_url=etl_db.libpq_url, pool_min=1, pool_max=4))
    mount_map(app)
    with serving(behind_proxy(app)) as url:
        yield url


@pytest.fixture(scope="module")
def chromium(base_url: str):
    """Debian's Chromium (headless, software WebGL), launched by Playwright; skip when it is absent."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium): the browser tests need it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_map(chromium, root: str) -> Browser:
    """A new page on ``root``/map, once the gemeenten are drawn; console errors and foreign requests kept."""
    page = chromium.new_page(viewport=VIEWPORT)
    b = Browser(page)
    page.on("console", lambda m: b.errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: b.errors.append(f"page error: {e}"))
    page.on("response", lambda r: b.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on(
        "request",
        lambda r: None if r.url.startswith((root + "/", "data:", "blob:")) else b.foreign.append(r.url),
    )
    page.goto(root + "/map")
    page.wait_for_selector("body[data-ready='1']", state="attached", timeout=30_000)
    return b


@pytest.fixture(scope="module")
def browser(chromium, base_url: str) -> Iterator[Browser]:
    b = open_map(chromium, base_url)
    yield b
    b.page.close()


def wait_drawn(b: Browser, layer: str) -> int:
    """Wait until the map is idle with features of ``layer`` rendered; their number."""
    b.page.wait_for_function(
        "layer => window.grondslagMap.loaded() && window.grondslagMap.queryRenderedFeatures({layers: [layer]}).length > 0",
        arg=layer,
        timeout=20_000,
    )
    return b.js("layer => window.grondslagMap.queryRenderedFeatures({layers: [layer]}).length", layer)


def jump(b: Browser, lon: float, lat: float, zoom: float) -> None:
    b.js("([lon, lat, zoom]) => window.grondslagMap.jumpTo({center: [lon, lat], zoom})", [lon, lat, zoom])


def click_lonlat(b: Browser, lon: float, lat: float) -> tuple[float, float]:
    x, y = b.js("p => { const q = window.grondslagMap.project(p); return [q.x, q.y]; }", [lon, lat])
    assert 0 < x < VIEWPORT["width"] and 0 < y < VIEWPORT["height"], (x, y)
    b.page.mouse.click(x, y)
    return x, y


def screenshot(b: Browser, name: str) -> None:
    ARTEFACTS.mkdir(exist_ok=True)
    b.page.screenshot(path=str(ARTEFACTS / name))


def test_page_loads_from_the_server_alone(browser: Browser) -> None:
    assert browser.js("() => document.body.dataset.ready") == "1"
    assert browser.js("() => typeof maplibregl.getVersion()") == "string"
    assert browser.foreign == [], "the page must not fetch anything from the internet"
    assert browser.errors == []


def test_gemeenten_and_omgevingsdiensten_are_drawn(browser: Browser) -> None:
    codes = browser.js(
        "() => [...new Set(window.grondslagMap.querySourceFeatures('gemeenten', {sourceLayer: 'gemeenten'})"
        ".map(f => f.properties.code))]"
    )
    assert len(codes) == 26
    rendered = browser.js(
        "() => new Set(window.grondslagMap.queryRenderedFeatures({layers: ['gemeenten-fill']})"
        ".map(f => f.properties.code)).size"
    )
    assert rendered == 26
    browser.page.wait_for_function(
        "() => window.grondslagMap.querySourceFeatures('omgevingsdiensten').length > 0"
    )
    assert browser.page.locator("#legend-od .item").count() >= 1
    assert browser.errors == []


def test_choosing_a_metric_recolours_the_gemeenten(browser: Browser) -> None:
    paint = "() => JSON.stringify(window.grondslagMap.getPaintProperty('gemeenten-fill', 'fill-color'))"
    before = browser.js(paint)
    assert "n_samples" in before
    browser.page.select_option("#metric", "median_age_years")
    after = browser.js(paint)
    assert after != before and "median_age_years" in after
    assert "median" in browser.page.locator("#metric option:checked").inner_text().lower()
    browser.page.select_option("#metric", "n_samples")
    assert browser.js(paint) == before
    assert browser.errors == []


def test_click_on_a_gemeente_shows_its_metrics(browser: Browser, demo_db: sa.Engine, base_url: str) -> None:
    with demo_db.connect() as conn:  # a point well inside Stichtse Vecht (3 km from its border)
        lon, lat, radius = conn.execute(
            sa.text(
                "SELECT ST_X(c), ST_Y(c), r FROM (SELECT ST_Transform(m.center, 4326) AS c, m.radius AS r "
                "FROM gemeente g, ST_MaximumInscribedCircle(g.geom) m WHERE g.code = 'GM1904') t"
            )
        ).one()
    assert radius > 1000
    browser.page.click("#home")  # the whole province
    browser.page.wait_for_function("() => !window.grondslagMap.isMoving() && window.grondslagMap.loaded()")
    x, y = browser.js("p => { const q = window.grondslagMap.project(p); return [q.x, q.y]; }", [lon, lat])
    under = browser.js(
        "p => window.grondslagMap.queryRenderedFeatures(p, {layers: ['gemeenten-fill']}).map(f => f.properties.code)",
        [x, y],
    )
    assert under == ["GM1904"], "the click point must be inside Stichtse Vecht on the map"
    click_lonlat(browser, lon, lat)
    n_samples = browser.page.locator("#panel td[data-metric='n_samples']")
    n_samples.wait_for(timeout=10_000)
    assert n_samples.get_attribute("data-value") == "2132"
    assert n_samples.inner_text().replace(",", "").replace(".", "").replace("\u202f", "") == "2132"
    panel = browser.page.locator("#panel")
    assert "Stichtse Vecht" in panel.locator("h2").inner_text()
    for key in ("n_locations", "n_measurements", "n_bro_objects", "median_age_years", "quarantine_rate"):
        assert panel.locator(f"td[data-metric='{key}']").inner_text() not in ("", "–"), key
    assert panel.locator("td[data-metric='n_locations']").get_attribute("data-value") == "1483"
    on = browser.page.input_value("#od-date")
    ods = httpx.get(f"{base_url}/omgevingsdiensten", params={"date": on}).json()["features"]
    names = [f["properties"]["name"] for f in ods if "GM1904" in (f["properties"]["members"] or [])]
    assert names and names[0] in panel.locator("#panel-od").inner_text()
    screenshot(browser, "map_page.png")
    assert browser.errors == []


def test_zoomed_in_locations_samples_and_cpts_draw_and_a_location_click_shows_its_samples(
    browser: Browser, demo_db: sa.Engine
) -> None:
    with demo_db.connect() as conn:  # a Stichtse Vecht location with no other location within 25 m
        loc_id, external_id, lon, lat = conn.execute(
            sa.text(
                "SELECT l.id, l.external_id, ST_X(ST_Transform(l.geom, 4326)), ST_Y(ST_Transform(l.geom, 4326)) "
                "FROM location l WHERE l.gemeente_code = 'GM1904' AND EXISTS (SELECT 1 FROM sample s "
                "WHERE s.location_id = l.id) AND NOT EXISTS (SELECT 1 FROM location o WHERE o.id <> l.id "
                "AND ST_DWithin(o.geom, l.geom, 25)) ORDER BY l.id LIMIT 1"
            )
        ).one()
        samples = conn.execute(
            sa.text("SELECT external_id FROM sample WHERE location_id = :id ORDER BY id"), {"id": loc_id}
        ).scalars().all()  # fmt: skip
        cpt_lon, cpt_lat = conn.execute(
            sa.text(
                "SELECT ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)) FROM bro_object "
                "WHERE object_type = 'CPT' AND gemeente_code IS NOT NULL ORDER BY bro_id LIMIT 1"
            )
        ).one()

    jump(browser, 4.99, 52.17, 12)
    assert wait_drawn(browser, "locations") > 0
    assert wait_drawn(browser, "samples") > 0
    browser.page.uncheck("input[data-layer='locations']")
    assert browser.js("() => window.grondslagMap.getLayoutProperty('locations', 'visibility')") == "none"
    browser.page.check("input[data-layer='locations']")

    jump(browser, lon, lat, 16)
    wait_drawn(browser, "locations")
    click_lonlat(browser, lon, lat)
    table = browser.page.locator("#panel table.samples")
    table.wait_for(timeout=10_000)
    assert external_id in browser.page.locator("#panel").inner_text()
    assert table.locator("tr").count() == len(samples) + 1
    for sample in samples:
        assert sample in table.inner_text()
    screenshot(browser, "map_page_location.png")

    jump(browser, cpt_lon, cpt_lat, 14)
    assert wait_drawn(browser, "bro-cpt") > 0
    assert browser.errors == []
    assert browser.foreign == []


def test_the_page_works_behind_a_proxy_prefix(chromium, base_url: str) -> None:
    b = open_map(chromium, base_url + PROXY_PREFIX)
    try:
        assert b.js("() => new Set(window.grondslagMap.queryRenderedFeatures({layers: ['gemeenten-fill']})"
                    ".map(f => f.properties.code)).size") == 26  # fmt: skip
        assert b.foreign == [], "every request stays under the prefix"
        assert b.errors == []
    finally:
        b.page.close()


def test_start_page_and_static_files(base_url: str) -> None:
    to_map = httpx.get(base_url + "/", headers={"Accept": "text/html"})
    assert to_map.status_code == 303 and to_map.headers["location"] == "map"
    links = httpx.get(base_url + "/").json()["links"]
    assert links[0]["href"] == base_url + "/map"
    page = httpx.get(base_url + "/map")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "static/map.js" in page.text
    assert not re.search(r'(src|href)="(https?:)?//', page.text), "no URL outside the server"
    js = httpx.get(base_url + "/static/vendor/maplibre-gl/maplibre-gl.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert httpx.get(base_url + "/static/vendor/maplibre-gl/LICENSE.txt").status_code == 200
