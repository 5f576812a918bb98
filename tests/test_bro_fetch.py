"""BRO fetcher against a local imitation of BRO's public REST services (127.0.0.1, real sample files).

The fake BRO answers characteristics searches with ``dispatchCharacteristicsResponse`` documents built
from the real IMBRO files in data/samples (broId, standardizedLocation, registration times; one
``BRO_DO`` for a deregistered object), refuses a search whose area holds more than ``cap`` objects
the way BRO refuses more than 2000 (HTTP 400, rejection "groter dan 2000"), serves
``/objects/{broId}`` with the real file bytes, and can be told to fail a request (429 with
Retry-After, 503). Every request is logged with its arrival time, so the tests measure at the server.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock

import psycopg
import pytest
from lxml import etree

from db.settings import StoreSettings
from etl.bro_fetch import BBox, BroFetcher, BroFetchSettings, FetchError, FetchState
from etl.bro_fetch.area import bbox_area, parse_bbox
from etl.bro_fetch.characteristics import parse_answer
from etl.bro_fetch.transport import BroTransport, Response, TokenBucket, parse_retry_after
from etl.run import LOCK_KEY
from tests.conftest import data_file, run_cli

BROCOM = "http://www.broservices.nl/xsd/brocommon/3.0"
GML = "http://www.opengis.net/gml/3.2"
SERVICES = {"/sr/cpt/v1": "CPT", "/gm/gmw/v1": "GMW", "/sr/bhrgt/v2": "BHR-GT", "/sr/bhrp/v2": "BHR-P"}
DS_NS = {
    "CPT": "http://www.broservices.nl/xsd/dscpt/1.1",
    "GMW": "http://www.broservices.nl/xsd/dsgmw/1.1",
    "BHR-GT": "http://www.broservices.nl/xsd/dsbhr-gt/2.1",
    "BHR-P": "http://www.broservices.nl/xsd/dsbhr/2.0",
}
C_NAME = {"CPT": "CPT_C", "GMW": "GMW_C", "BHR-GT": "BHR_GT_C", "BHR-P": "BHR_C"}
CAP_REASON = (
    "het aantal uitgiftedocumenten is groter dan 2000. Pas de kenmerken van uw verzoek tot verzending "
    "kengegevens aan."
)
NETHERLANDS = "3.3,50.7,7.3,53.6"  # lon,lat (EPSG:4326)
SAMPLES = {
    "CPT": [
        "bro_cpt/brodata__CPT000000005925.xml",
        "bro_cpt/pygef__CPT000000155283.xml",
        "bro_cpt/bedrock__CPT000000179849.xml",
        "bro_cpt/amsterdam__DCK-water_S_CPT000000162621.xml",
        "bro_cpt/geolibplus__CPT000000003688_IMBRO_A.xml",
    ],
    "GMW": [
        "bro_gmw/brodata__GMW000000036287.xml",
        "bro_gmw/nens__GMW000000005033.xml",
        "bro_gmw/nens__GMW000000046811.xml",
    ],
    "BHR-GT": ["bro_bhrgt/bedrock__BHR000000347577.xml", "bro_bhrgt/bedrock__BMA_BHR000000431542.xml"],
    "BHR-P": ["bro_bhrp/brodata__BHR000000175723.xml", "bro_bhrp/geost__bhrp_bro.xml"],
}


# --- the fake BRO -----------------------------------------------------------------------------------


@dataclass
class FakeObject:
    bro_id: str
    type: str
    body: bytes
    lat: float
    lon: float
    registered: str
    corrected: str | None = None
    deregistered: bool = False


def _first(root: etree._Element, name: str) -> etree._Element:
    return next(e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname == name)


def sample(object_type: str, rel: str) -> FakeObject:
    """A fake-BRO object made from a real sample file (id, location and registration time read from it)."""
    body = data_file("samples", *rel.split("/")).read_bytes()
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    lat, lon = (float(v) for v in _first(_first(root, "standardizedLocation"), "pos").text.split())
    return FakeObject(
        bro_id=_first(root, "broId").text.strip(),
        type=object_type,
        body=body,
        lat=lat,
        lon=lon,
        registered=_first(root, "objectRegistrationTime").text.strip(),
    )


def all_samples() -> list[FakeObject]:
    objects = [sample(t, rel) for t, rels in SAMPLES.items() for rel in rels]
    # one object BRO took out of registration, inside the Netherlands
    objects.append(
        FakeObject("CPT000000999901", "CPT", b"", 52.09, 5.12, "2019-05-01T10:00:00+02:00", deregistered=True)
    )
    return objects


@dataclass
class Hit:
    t: float
    method: str
    path: str
    status: int
    payload: dict | None = None


@dataclass
class Fault:
    match: Callable[[str, str], bool]
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


def _rejection(reason: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><dispatchCharacteristicsResponse xmlns:brocom="{BROCOM}">'
        f"<brocom:responseType>rejection</brocom:responseType><brocom:requestReference>grondslag"
        f"</brocom:requestReference><brocom:rejectionReason>{reason}</brocom:rejectionReason>"
        f"</dispatchCharacteristicsResponse>"
    ).encode()


def _characteristics(object_type: str, objects: list[FakeObject]) -> bytes:
    docs = []
    for n, o in enumerate(objects, start=1):
        if o.deregistered:
            docs.append(
                f"<dispatchDocument><brocom:BRO_DO><brocom:broId>{o.bro_id}</brocom:broId>"
                f"<brocom:deregistered>ja</brocom:deregistered><brocom:deregistrationTime>2025-06-01T09:00:00+02:00"
                f"</brocom:deregistrationTime></brocom:BRO_DO></dispatchDocument>"
            )
            continue
        corrected = (
            f"<brocom:corrected>ja</brocom:corrected><brocom:latestCorrectionTime>{o.corrected}"
            f"</brocom:latestCorrectionTime>"
            if o.corrected
            else "<brocom:corrected>nee</brocom:corrected>"
        )
        docs.append(
            f'<dispatchDocument><{C_NAME[object_type]} gml:id="BRO_{n:04d}">'
            f"<brocom:broId>{o.bro_id}</brocom:broId>"
            f"<brocom:qualityRegime>IMBRO</brocom:qualityRegime>"
            f"<brocom:objectRegistrationTime>{o.registered}</brocom:objectRegistrationTime>{corrected}"
            f"<brocom:underReview>nee</brocom:underReview><brocom:deregistered>nee</brocom:deregistered>"
            f'<brocom:standardizedLocation srsName="urn:ogc:def:crs:EPSG::4258">'
            f"<gml:pos>{o.lat} {o.lon}</gml:pos>"
            f"</brocom:standardizedLocation></{C_NAME[object_type]}></dispatchDocument>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><dispatchCharacteristicsResponse '
        f'xmlns="{DS_NS[object_type]}" xmlns:brocom="{BROCOM}" xmlns:gml="{GML}">'
        f"<brocom:responseType>dispatch</brocom:responseType><brocom:requestReference>grondslag"
        f"</brocom:requestReference><brocom:dispatchTime>2025-12-01T03:00:00+01:00</brocom:dispatchTime>"
        f"<numberOfDocuments>{len(objects)}</numberOfDocuments>{''.join(docs)}</dispatchCharacteristicsResponse>"
    ).encode()


def _deregistered_dispatch(o: FakeObject) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><dispatchDataResponse xmlns="{DS_NS[o.type]}" '
        f'xmlns:brocom="{BROCOM}"><brocom:responseType>dispatch</brocom:responseType><dispatchDocument>'
        f"<brocom:BRO_DO><brocom:broId>{o.bro_id}</brocom:broId><brocom:deregistered>ja</brocom:deregistered>"
        f"</brocom:BRO_DO></dispatchDocument></dispatchDataResponse>"
    ).encode()


class FakeBro:
    """BRO's characteristics search and object download on 127.0.0.1 (see the module docstring)."""

    def __init__(self, objects: list[FakeObject], cap: int = 3) -> None:
        self.objects = {o.bro_id: o for o in objects}
        self.cap = cap
        self.hits: list[Hit] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeBro:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail(
        self, match: Callable[[str, str], bool], status: int, headers: dict[str, str] | None = None
    ) -> None:
        self.faults.append(Fault(match, status, headers or {}))

    def searches(self, since: int = 0) -> list[Hit]:
        return [h for h in self.hits[since:] if h.method == "POST"]

    def gets(self, bro_id: str | None = None, since: int = 0) -> list[Hit]:
        return [
            h
            for h in self.hits[since:]
            if h.method == "GET" and h.status == 200 and (bro_id is None or h.path.endswith("/" + bro_id))
        ]

    # request handling ---------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        arrived = time.monotonic()
        path = handler.path.split("?", 1)[0]
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        payload = json.loads(raw) if raw else None
        with self.lock:
            fault = next((f for f in self.faults if f.times > 0 and f.match(method, path)), None)
            if fault:
                fault.times -= 1
        if fault:
            status, body, ctype, headers = fault.status, b"busy", "text/plain", fault.headers
        elif method == "POST":
            status, body, ctype = self._search(path, payload)
            headers = {}
        else:
            status, body, ctype = self._object(path)
            headers = {}
        with self.lock:
            self.hits.append(Hit(arrived, method, path, status, payload))
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(body)

    def _service(self, path: str) -> tuple[str | None, str]:
        for prefix, t in SERVICES.items():
            if path.startswith(prefix + "/"):
                return t, path[len(prefix) :]
        return None, path

    def _search(self, path: str, payload: dict | None) -> tuple[int, bytes, str]:
        object_type, rest = self._service(path)
        if object_type is None or rest != "/characteristics/searches":
            return 404, b'{"errors": [{"message": "not found"}]}', "application/json"
        try:  # the request shape BRO's REST service takes
            box = payload["area"]["boundingBox"]
            lo_lat, lo_lon = float(box["lowerCorner"]["lat"]), float(box["lowerCorner"]["lon"])
            up_lat, up_lon = float(box["upperCorner"]["lat"]), float(box["upperCorner"]["lon"])
            assert lo_lat < up_lat and lo_lon < up_lon
            period = payload.get("registrationPeriod")
            if period is not None:  # both dates are required
                begin, end = date.fromisoformat(period["beginDate"]), date.fromisoformat(period["endDate"])
        except (KeyError, TypeError, ValueError, AssertionError) as exc:
            return (
                400,
                json.dumps({"errors": [{"message": f"invalid request: {exc!r}"}]}).encode(),
                "application/json",
            )
        found = [
            o
            for o in self.objects.values()
            if o.type == object_type
            and lo_lat <= o.lat <= up_lat
            and lo_lon <= o.lon <= up_lon
            and (period is None or begin <= date.fromisoformat(o.registered[:10]) <= end)
        ]
        if len(found) > self.cap:
            return 400, _rejection(CAP_REASON), "application/xml"
        return 200, _characteristics(object_type, sorted(found, key=lambda o: o.bro_id)), "application/xml"

    def _object(self, path: str) -> tuple[int, bytes, str]:
        object_type, rest = self._service(path)
        bro_id = rest.removeprefix("/objects/")
        o = self.objects.get(bro_id)
        if object_type is None or o is None or o.type != object_type:
            return 400, _rejection("dit registratieobject bestaat niet."), "application/xml"
        return 200, _deregistered_dispatch(o) if o.deregistered else o.body, "application/xml"


# --- helpers ----------------------------------------------------------------------------------------


def _q(settings: StoreSettings, sql: str, *params):
    with psycopg.connect(settings.libpq_url) as conn:
        return conn.execute(sql, params).fetchall()


def fetch_cli(db: StoreSettings, env: dict[str, str], *args: str):
    """`grondslag etl fetch-bro ARGS --format json` in a subprocess, with GRONDSLAG_BRO_* from ``env``."""
    with mock.patch.dict(os.environ, env):
        return run_cli(db, "etl", "fetch-bro", *args, "--format", "json")


def bro_env(server: FakeBro, download_dir: Path, rate: float = 25) -> dict[str, str]:
    return {
        "GRONDSLAG_BRO_BASE_URL": server.url,
        "GRONDSLAG_BRO_DOWNLOAD_DIR": str(download_dir),
        "GRONDSLAG_BRO_REQUESTS_PER_SECOND": str(rate),
        "GRONDSLAG_BRO_BACKOFF_SECONDS": "0.2",
        "GRONDSLAG_BRO_TIMEOUT": "20",
    }


ALL_TYPES = ("--type", "CPT", "--type", "GMW", "--type", "BHR-GT", "--type", "BHR-P")
NL_AREA = ("--bbox", NETHERLANDS, "--bbox-crs", "EPSG:4326")


# --- the nightly scenario: first run, second run, corrections and deregistrations --------------------


@dataclass
class Scenario:
    server: FakeBro
    env: dict[str, str]
    download_dir: Path
    runs: list = field(default_factory=list)  # (proc, index of the first hit of that run)


@pytest.fixture(scope="module")
def scenario(etl_db: StoreSettings, tmp_path_factory) -> Iterator[Scenario]:
    """Run 1 against a fake BRO that answers 429 (Retry-After: 1) first and 503 once for one object."""
    download_dir = tmp_path_factory.mktemp("bro")
    with FakeBro(all_samples(), cap=3) as server:
        server.fail(lambda m, p: True, 429, {"Retry-After": "1"})
        server.fail(lambda m, p: m == "GET" and p.endswith("/GMW000000005033"), 503)
        env = bro_env(server, download_dir)
        proc = fetch_cli(etl_db, env, *NL_AREA, *ALL_TYPES)
        yield Scenario(server, env, download_dir, [(proc, 0)])


def _summary(proc) -> dict:
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


LOADABLE = sorted(
    [
        "CPT000000005925",
        "CPT000000155283",
        "CPT000000179849",
        "CPT000000162621",
        "CPT000000003688",
        "GMW000000036287",
        "GMW000000005033",
        "GMW000000046811",
        "BHR000000347577",
        "BHR000000431542",
        "BHR000000175723",
        "BHR000000108193",
    ]
)


def test_first_run_loads_every_object_into_bro_object(scenario: Scenario, etl_db: StoreSettings) -> None:
    summary = _summary(scenario.runs[0][0])
    fetch = summary["fetch"]
    assert sorted(fetch["new"]) == LOADABLE
    assert fetch["deregistered"] == ["CPT000000999901"]
    assert fetch["failed"] == {} and fetch["searches"] == {
        t: "full" for t in ("CPT", "GMW", "BHR-GT", "BHR-P")
    }
    assert [d["status"] for d in summary["load"]["run"]["datasets"]] == ["loaded"] * len(LOADABLE)
    rows = _q(etl_db, "SELECT bro_id, object_type, status FROM bro_object WHERE bro_id = ANY(%s)", LOADABLE)
    types = {r[0]: r[1] for r in rows}
    assert sorted(types) == LOADABLE
    assert types["CPT000000155283"] == "CPT" and types["GMW000000005033"] == "GMW"
    assert types["BHR000000347577"] == "BHR-GT" and types["BHR000000108193"] == "BHR-P"
    assert {r[2] for r in rows} == {"registered"}
    # the real content arrived: 305 measurements and IJsselstein (point-in-polygon) for the Utrecht CPT
    assert _q(
        etl_db,
        "SELECT gemeente_code, (SELECT count(*) FROM bro_cpt_measurement m WHERE m.bro_id = b.bro_id) "
        "FROM bro_object b WHERE bro_id = 'CPT000000155283'",
    ) == [("GM0353", 305)]
    # every file is in the download dir, byte for byte what BRO served
    for o in all_samples():
        if not o.deregistered:
            path = scenario.download_dir / "objects" / o.type / f"{o.bro_id}.xml"
            assert path.read_bytes() == o.body


def test_an_area_over_the_cap_is_split_until_each_search_fits(scenario: Scenario) -> None:
    server = scenario.server
    cpt = [h for h in server.searches() if h.path.startswith("/sr/cpt/")]
    refused = [h for h in cpt if h.status == 400]
    answered = [h for h in cpt if h.status == 200]
    assert refused and answered  # the whole country holds 6 CPTs, more than the cap of 3
    widths = {
        round(
            h.payload["area"]["boundingBox"]["upperCorner"]["lon"]
            - h.payload["area"]["boundingBox"]["lowerCorner"]["lon"],
            6,
        )
        for h in answered
    }
    assert max(widths) < 4.0  # only smaller boxes than the 4-degree-wide request were answered
    assert _summary(scenario.runs[0][0])["fetch"]["splits"] == len(refused)
    # GMW (3 objects) fits at once: one search, never split
    assert [h.status for h in server.searches() if h.path.startswith("/gm/gmw/")] == [200]


def test_429_retry_after_is_honoured_and_503_is_retried(scenario: Scenario) -> None:
    hits = scenario.server.hits
    assert hits[0].status == 429
    assert hits[1].t - hits[0].t >= 1.0  # Retry-After: 1
    gmw = [h.status for h in hits if h.method == "GET" and h.path.endswith("/GMW000000005033")]
    assert gmw == [503, 200]
    fetch = _summary(scenario.runs[0][0])["fetch"]
    assert fetch["throttled"] == 1 and fetch["retries"] == 2
    # every other object was downloaded exactly once
    assert all(len(scenario.server.gets(i)) == 1 for i in LOADABLE)


def _max_per_second(times: list[float]) -> int:
    """The most requests that arrived within any one-second window."""
    return max(sum(1 for u in times if t <= u < t + 1.0) for t in times)


def test_the_rate_limit_holds_at_the_server(scenario: Scenario) -> None:
    times = [h.t for h in scenario.server.hits[1:]]  # after the 429 pause
    assert len(times) > 15
    assert (len(times) - 1) / (times[-1] - times[0]) <= 25 * 1.05, times
    assert _max_per_second(times) <= 25 + 2, times  # configured rate + arrival jitter


@pytest.fixture(scope="module")
def second_run(scenario: Scenario, etl_db: StoreSettings) -> dict:
    start = len(scenario.server.hits)
    proc = fetch_cli(etl_db, scenario.env, *NL_AREA, *ALL_TYPES)
    scenario.runs.append((proc, start))
    return _summary(proc) | {"start": start}


def test_second_run_fetches_nothing_new(second_run: dict, scenario: Scenario) -> None:
    fetch = second_run["fetch"]
    assert fetch["new"] == fetch["changed"] == fetch["deregistered"] == fetch["downloaded"] == []
    assert scenario.server.gets(since=second_run["start"]) == []
    today = date.today()
    # incremental: registration period from the first run's date (minus a day of overlap) to today
    for period in fetch["searches"].values():
        begin, end = (date.fromisoformat(p) for p in period.split(".."))
        assert (today - begin).days in (0, 1, 2) and abs((end - today).days) <= 1
    bodies = [h.payload for h in scenario.server.searches(second_run["start"])]
    assert bodies and all("registrationPeriod" in b for b in bodies)
    assert second_run["load"]["run"] is None  # nothing to load


@pytest.fixture(scope="module")
def third_run(second_run: dict, scenario: Scenario, etl_db: StoreSettings) -> dict:
    """BRO corrected one CPT (a newer delivery of it) and deregistered one GMW; a full run reconciles."""
    server = scenario.server
    newer = sample("CPT", "bro_cpt/geolibplus__CPT000000003688_IMBRO_A_new_version.xml")
    server.objects["CPT000000003688"].body = newer.body
    server.objects["CPT000000003688"].corrected = "2024-11-20T10:46:24+01:00"
    server.objects["GMW000000046811"].deregistered = True
    start = len(server.hits)
    proc = fetch_cli(etl_db, scenario.env, *NL_AREA, *ALL_TYPES, "--full")
    scenario.runs.append((proc, start))
    return _summary(proc) | {"start": start}


def test_corrected_object_is_downloaded_again_and_replaced(
    third_run: dict, scenario: Scenario, etl_db: StoreSettings
) -> None:
    fetch = third_run["fetch"]
    assert fetch["changed"] == fetch["corrected"] == ["CPT000000003688"] and fetch["new"] == []
    assert [h.path for h in scenario.server.gets(since=third_run["start"])] == [
        "/sr/cpt/v1/objects/CPT000000003688"
    ]
    assert _q(
        etl_db, "SELECT status, delivery_accountable_party FROM bro_object WHERE bro_id = 'CPT000000003688'"
    ) == [("corrected", "50200097")]  # 52766179 in the first delivery
    assert _q(etl_db, "SELECT count(*) FROM bro_object WHERE bro_id = 'CPT000000003688'") == [(1,)]


def test_deregistered_object_is_marked_not_kept_silently(
    third_run: dict, scenario: Scenario, etl_db: StoreSettings
) -> None:
    assert third_run["fetch"]["deregistered"] == ["GMW000000046811"]
    assert third_run["load"]["status_set"]["deregistered"] == 1
    assert _q(etl_db, "SELECT status FROM bro_object WHERE bro_id = 'GMW000000046811'") == [("deregistered",)]
    others = [i for i in LOADABLE if i not in ("GMW000000046811", "CPT000000003688")]
    rows = _q(etl_db, "SELECT DISTINCT status FROM bro_object WHERE bro_id = ANY(%s)", others)
    assert rows == [("registered",)]


# --- resume, rate limit, area, usage ------------------------------------------------------------


def _settings(server: FakeBro, tmp_path: Path, **overrides) -> BroFetchSettings:
    values = {"base_url": server.url, "download_dir": tmp_path / "bro", "requests_per_second": 50.0}
    values["backoff_seconds"] = 0.1
    return BroFetchSettings(**(values | overrides))


class Killed(Exception):
    """Stands in for the process dying."""


def test_interrupted_run_resumes_and_downloads_nothing_twice(tmp_path: Path) -> None:
    objects = all_samples()
    area = bbox_area(parse_bbox(NETHERLANDS, "EPSG:4326"))
    types = ["CPT", "GMW", "BHR-GT", "BHR-P"]
    with FakeBro(objects, cap=3) as server:
        settings = _settings(server, tmp_path)
        downloads = []

        def die_after_three(name: str, **fields) -> None:
            if name == "bro_downloaded":
                downloads.append(fields["bro_id"])
                if len(downloads) == 3:
                    raise Killed

        with FetchState.open(settings.download_dir) as state, pytest.raises(Killed):
            BroFetcher(settings, state, on_event=die_after_three).fetch(area, types)
        searches_before = len(server.searches())
        assert len(server.gets()) == 3

        with FetchState.open(settings.download_dir) as state:
            result = BroFetcher(settings, state).fetch(area, types)
            assert state.run is None and all(f"{t}|{area.key}" in state.areas for t in types)
        assert result.complete and result.resumed == 3
        assert len(result.downloaded) == len(LOADABLE) - 3
        assert not set(downloads) & {p.stem for p in result.downloaded}
        assert len(server.searches()) == searches_before  # the finished search cells were not asked again
        for bro_id in LOADABLE:
            assert len(server.gets(bro_id)) == 1, bro_id
        assert not list(settings.download_dir.rglob("*.part"))


def test_an_object_bro_will_not_serve_fails_alone_and_is_fetched_by_the_next_run(tmp_path: Path) -> None:
    area = bbox_area(parse_bbox(NETHERLANDS, "EPSG:4326"))
    with FakeBro(all_samples(), cap=100) as server:
        server.fail(lambda m, p: m == "GET" and p.endswith("/CPT000000005925"), 404)
        settings = _settings(server, tmp_path)
        with FetchState.open(settings.download_dir) as state:
            first = BroFetcher(settings, state).fetch(area, ["CPT"])
            assert not first.complete and list(first.failed) == ["CPT000000005925"]
            assert "HTTP 404" in first.failed["CPT000000005925"]
            assert len(first.downloaded) == 4 and state.areas == {}  # not a successful run: no date moved on
        with FetchState.open(settings.download_dir) as state:
            second = BroFetcher(settings, state).fetch(area, ["CPT"])
        assert second.complete and second.searches == {"CPT": "full"}
        assert [p.name for p in second.downloaded] == ["CPT000000005925.xml"]
        assert len(server.gets("CPT000000005925")) == 1 and len(server.gets()) == 5


def test_state_survives_a_journal_line_cut_short(tmp_path: Path) -> None:
    root = tmp_path / "bro"
    with FetchState.open(root) as state:
        state.record("CPT000000005925", type="CPT", stamp="a||", status="registered", loaded=False)
    with open(root / "journal.jsonl", "a", encoding="utf-8") as journal:  # a second line, then a cut one
        journal.write(json.dumps({"kind": "object", "bro_id": "CPT000000155283", "stamp": "b||"}) + "\n")
        journal.write('{"kind": "obj')
    with FetchState.open(root) as state:
        assert state.objects["CPT000000005925"]["stamp"] == "a||"
        assert state.objects["CPT000000155283"]["stamp"] == "b||"
    assert not (root / "journal.jsonl").exists()


def test_rate_limit_of_the_transport_measured_at_the_server(tmp_path: Path) -> None:
    with FakeBro(all_samples(), cap=100) as server:
        settings = _settings(server, tmp_path, requests_per_second=5.0)
        transport = BroTransport(settings)
        url = f"{server.url}/sr/cpt/v1/characteristics/searches"
        body = {"area": BBox(4.0, 51.0, 6.0, 53.0).as_area()}
        for _ in range(12):
            assert transport.post_json(url, body).status == 200
    times = [h.t for h in server.hits]
    assert (len(times) - 1) / (times[-1] - times[0]) <= 5 * 1.05, times
    assert _max_per_second(times) <= 5 + 1, times
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.1, times  # spaced, not bunched


def test_retry_after_as_http_date_and_a_too_long_retry_after(tmp_path: Path) -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    with FakeBro(all_samples()) as server:
        when = format_datetime(
            datetime.now(UTC) + timedelta(seconds=3), usegmt=True
        )  # >= 2 s after truncation and a slow start
        server.fail(lambda m, p: True, 429, {"Retry-After": when})
        server.fail(lambda m, p: True, 429, {"Retry-After": "3600"})
        settings = _settings(server, tmp_path, max_retry_after_seconds=60)
        transport = BroTransport(settings)
        url = f"{server.url}/sr/cpt/v1/objects/CPT000000005925"
        with pytest.raises(FetchError, match="Retry-After 3600"):
            transport.download(url, tmp_path / "x.part")
        assert server.hits[1].t - server.hits[0].t >= 1.0  # the HTTP date was honoured (up to a whole second)


def test_token_bucket_spaces_acquisitions() -> None:
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    bucket = TokenBucket(4.0, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(10):
        bucket.acquire()
    assert now[0] == pytest.approx((10 - 2) / 4)  # two at once, then one every 0.25 s


def test_cap_answers_in_each_shape_count_as_capped() -> None:
    url = "http://bro/sr/cpt/v1/characteristics/searches"
    old = Response(200, {}, _rejection(CAP_REASON))  # HTTP 200 with responseType rejection (before 2024)
    new = Response(400, {}, _rejection(CAP_REASON))  # HTTP 400 (hydropandas#218)
    js = Response(400, {}, json.dumps({"errors": [{"message": CAP_REASON}]}).encode())
    full = Response(200, {}, _characteristics("CPT", [sample("CPT", SAMPLES["CPT"][0])] * 3))
    for response in (old, new, js):
        assert parse_answer(response, "CPT", 2000, url).capped
    assert parse_answer(full, "CPT", 3, url).capped  # a list at the cap may be truncated
    assert not parse_answer(full, "CPT", 2000, url).capped
    with pytest.raises(FetchError, match="bestaat niet"):
        parse_answer(Response(400, {}, _rejection("dit registratieobject bestaat niet.")), "CPT", 2000, url)


def test_gemeente_area_from_polygons_in_a_dry_run(etl_db: StoreSettings, tmp_path: Path) -> None:
    with FakeBro(all_samples(), cap=100) as server:
        proc = fetch_cli(
            etl_db,
            bro_env(server, tmp_path / "bro"),
            "--gemeente",
            "GM0353",
            "--type",
            "GMW",
            "--type",
            "CPT",
            "--dry-run",
        )
    fetch = _summary(proc)["fetch"]
    assert fetch["dry_run"] and fetch["area"] == "gemeente GM0353"
    assert fetch["new"] == ["CPT000000155283"]  # IJsselstein; the Utrecht-city GMWs fall outside
    # the search box covers IJsselstein's RD envelope (corners by pyproj) and not much more
    from pyproj import Transformer

    (env,) = _q(
        etl_db,
        "SELECT ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g) FROM (SELECT ST_Extent(geom) g "
        "FROM gemeente WHERE code = 'GM0353') s",
    )
    to_wgs84 = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
    corners = [to_wgs84.transform(x, y) for x in (env[0], env[2]) for y in (env[1], env[3])]
    box = server.searches()[0].payload["area"]["boundingBox"]
    lo, up = box["lowerCorner"], box["upperCorner"]
    assert all(lo["lon"] <= lon <= up["lon"] and lo["lat"] <= lat <= up["lat"] for lon, lat in corners)
    assert lo["lon"] > min(c[0] for c in corners) - 0.005 and up["lat"] < max(c[1] for c in corners) + 0.005
    assert server.gets() == [] and not (tmp_path / "bro" / "state.json").exists()


def test_usage_errors_exit_2_and_a_held_lock_exits_75(etl_db: StoreSettings, tmp_path: Path) -> None:
    with FakeBro(all_samples()) as server:
        env = bro_env(server, tmp_path / "bro")
        assert fetch_cli(etl_db, env).returncode == 2  # no area
        assert fetch_cli(etl_db, env, "--province", "--gemeente", "GM0344").returncode == 2
        assert fetch_cli(etl_db, env, "--bbox", "1,2,3").returncode == 2
        assert fetch_cli(etl_db, env, "--bbox", "140000,450000,130000,460000").returncode == 2
        assert fetch_cli(etl_db, env, "--gemeente", "GM9999").returncode == 2
        assert fetch_cli(etl_db, env, *NL_AREA, "--type", "XYZ").returncode == 2
        (tmp_path / "bro").mkdir()
        with open(tmp_path / "bro" / ".lock", "a+") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            proc = fetch_cli(etl_db, env, *NL_AREA, "--type", "GMW")
        assert proc.returncode == 75 and "another BRO fetch" in proc.stderr
        with psycopg.connect(etl_db.libpq_url, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            proc = fetch_cli(etl_db, env, *NL_AREA, "--type", "GMW")
            holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        assert proc.returncode == 75 and "lock" in proc.stderr
        assert server.hits == []  # refused before asking BRO anything


def test_bro_unreachable_exits_1_and_says_to_run_again(etl_db: StoreSettings, tmp_path: Path) -> None:
    with FakeBro(all_samples()) as server:
        env = bro_env(server, tmp_path / "bro") | {"GRONDSLAG_BRO_MAX_RETRIES": "1"}
        server.fail(lambda m, p: True, 503)
        server.fail(lambda m, p: True, 503)
        proc = fetch_cli(etl_db, env, *NL_AREA, "--type", "GMW")
    assert proc.returncode == 1
    assert "HTTP 503 after 2 attempt(s)" in proc.stderr and "run it again" in proc.stderr
