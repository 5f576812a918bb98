"""Benchmark the OGC API items path of Grondslag against tipg 1.6.1 and the database floor.

One command (``python benchmarks/api_bench.py``): starts a throw-away PostGIS cluster, migrates, seeds,
loads 200,000 locations (random order) inside the Utrecht gemeenten, starts Grondslag and tipg
(uvicorn, one worker each, access log off, same database and table), measures with ``wrk`` (2
connections, ~10 s each) and times ``ogr2ogr`` copying the whole layer through GDAL's OAPIF driver into
a GeoPackage without spatial index (page size 10,000, the maximum both servers accept). The database
floor is the same page's SQL through ``pgbench`` (2 clients). tipg is pip-installed into
``benchmarks/.work/tipg-venv``; when that fails, tipg is skipped and said so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from db import store  # noqa: E402
from db.cluster import LocalCluster, free_port  # noqa: E402
from db.settings import StoreSettings  # noqa: E402

WORK = REPO / "benchmarks" / ".work"
TIPG_VENV = WORK / "tipg-venv"
N_POINTS = 200_000
DURATION = 10
LOAD_SQL = """
INSERT INTO source (name, kind) VALUES ('bench', 'municipal');
INSERT INTO etl_run (status, command) VALUES ('running', 'api_bench');
INSERT INTO dataset (source_id, run_id, path, sha256, format)
SELECT s.id, (SELECT max(id) FROM etl_run), 'bench/points.csv', repeat('0', 64), 'csv' FROM source s;
INSERT INTO location (dataset_id, external_id, name, status, gemeente_code, coord_decimals, locator, geom)
SELECT (SELECT max(id) FROM dataset), p.code || '-' || p.path[1], 'punt ' || p.path[1], 'active', p.code, 2,
       'row ' || (p.path[1] + 1), p.geom
FROM (SELECT g.code, (ST_Dump(ST_GeneratePoints(g.geom,
             greatest(1, round({n} * ST_Area(g.geom) / (SELECT sum(ST_Area(geom)) FROM gemeente)))::int, 7))).*
      FROM gemeente g) p
ORDER BY random();
UPDATE etl_run SET finished_at = clock_timestamp(), status = 'succeeded';
"""


def sh(*cmd: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def setup_database(tmp: Path) -> tuple[LocalCluster, StoreSettings]:
    cluster = LocalCluster(tmp / "pg", free_port())
    cluster.init()
    cluster.start()
    settings = StoreSettings(data_dir=cluster.data_dir, pg_port=cluster.port, db_name="bench")
    store.ensure_database(settings)
    store.migrate(settings)
    from db.seed import seed

    engine = store.make_engine(settings, isolation_level="AUTOCOMMIT")
    with engine.begin() as conn:
        seed(conn)
    with engine.connect() as conn:
        t = time.perf_counter()
        conn.connection.driver_connection.execute(LOAD_SQL.replace("{n}", str(N_POINTS)))
        conn.exec_driver_sql("VACUUM ANALYZE")
        n = conn.execute(sa.text("SELECT count(*) FROM location")).scalar()
        print(f"loaded {n} locations in {time.perf_counter() - t:.1f} s")
        if conn.execute(sa.text("SELECT to_regclass('quality_gemeente')")).scalar():
            from db.quality import refresh

            with engine.begin() as c2:
                refresh(c2)
    engine.dispose()
    return cluster, settings


def ensure_tipg() -> Path | None:
    python = TIPG_VENV / "bin" / "python"
    if not python.exists():
        print("installing tipg 1.6.1 into", TIPG_VENV)
        WORK.mkdir(parents=True, exist_ok=True)
        sh(sys.executable, "-m", "venv", str(TIPG_VENV))
        proc = sh(str(TIPG_VENV / "bin" / "pip"), "install", "-q", "tipg==1.6.1", "uvicorn[standard]")
        if proc.returncode != 0:
            print("tipg could not be installed:", proc.stderr.strip().splitlines()[-1:])
            return None
    return TIPG_VENV / "bin" / "uvicorn"


def start(cmd: list[str], env: dict, url: str, cwd: Path) -> subprocess.Popen:
    # stderr into a file, never an unread pipe: a full pipe would block the server's logging
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log, text=True)
    proc.log = log  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{cmd[0]} exited: {log.read()[-2000:]}")
    raise RuntimeError(f"{url} did not answer")


def wrk(url: str) -> dict[str, float]:
    out = sh("wrk", "-t1", "-c2", f"-d{DURATION}s", "--latency", url, timeout=DURATION + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} error responses")
    return {"rps": rps, "p50": _ms(lat["50"]), "p99": _ms(lat["99"])}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def ogr2ogr(source: str, layer: str, tmp: Path) -> float:
    out = tmp / f"copy-{time.monotonic_ns()}.gpkg"
    t = time.perf_counter()
    args = ["-f", "GPKG", "-lco", "SPATIAL_INDEX=NO", str(out), source, layer, "-oo", "PAGE_SIZE=10000"]
    proc = sh("ogr2ogr", *args, timeout=1800)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"ogr2ogr failed: {proc.stderr[-500:]}")
    info = sh("ogrinfo", "-so", "-al", str(out)).stdout
    count = re.search(r"Feature Count: (\d+)", info)
    print(f"  ogr2ogr {source}: {elapsed:.1f} s ({count.group(1) if count else '?'} features)")
    return elapsed


def walk(url: str) -> float:
    """Seconds to follow the next links through the whole layer (server + transfer, no GDAL parsing)."""
    import orjson

    t = time.perf_counter()
    with httpx.Client(timeout=600) as client:
        while url:
            doc = orjson.loads(client.get(url).content)
            url = next((li["href"] for li in doc["links"] if li["rel"] == "next"), None)
    return time.perf_counter() - t


async def floor_sql(libpq_url: str) -> str:
    """Grondslag's SQL for ?limit=100 (steady state: count cached), parameters inlined, for pgbench."""
    import asyncpg

    from api.collections import COLLECTIONS
    from api.params import CRS, CRS84
    from api.queries.catalog import resolve
    from api.queries.features import Query, feature_sql, page_sql

    conn = await asyncpg.connect(libpq_url)
    layer = await resolve(conn, COLLECTIONS["locations"])
    total = await conn.fetchval("SELECT count(*) FROM location")
    await conn.close()
    sql, args = page_sql(Query(layer), feature_sql(layer, CRS[CRS84]), limit=100, cached_count=total)
    for i in range(len(args), 0, -1):  # benchmark only: literal values for pgbench's script
        value = args[i - 1]
        sql = sql.replace(f"${i}", f"'{value}'" if isinstance(value, str) else str(value))
    return sql + ";\n"


def pgbench(settings: StoreSettings, sql: str, tmp: Path) -> float:
    script = tmp / "page.sql"
    script.write_text(" ".join(sql.split()) + "\n")
    conn = f"-h 127.0.0.1 -p {settings.pg_port} -U postgres".split()
    opts = f"-n -M prepared -c 2 -j 2 -T {DURATION}".split()
    proc = sh("pgbench", *opts, *conn, "-f", str(script), settings.db_name)
    match = re.search(r"tps = ([\d.]+)", proc.stdout)
    if not match:
        raise RuntimeError(f"pgbench failed: {proc.stderr[-500:]}")
    return float(match.group(1))


def report(results: dict, floor: float, copies: dict[str, float], load: tuple[float, float]) -> None:
    print(
        f"\n{'query':<34}{'Grondslag req/s':>16}{'p50 ms':>9}{'p99 ms':>9}{'tipg req/s':>12}{'p50 ms':>9}"
        f"{'p99 ms':>9}{'ratio':>8}"
    )
    for name, r in results.items():
        g, t = r["grondslag"], r.get("tipg")
        tipg_cols = (
            f"{t['rps']:>12.0f}{t['p50']:>9.2f}{t['p99']:>9.2f}{g['rps'] / t['rps']:>7.1f}x" if t else ""
        )
        print(f"{name:<34}{g['rps']:>16.0f}{g['p50']:>9.2f}{g['p99']:>9.2f}{tipg_cols}")
    first = results["items ?limit=100"]["grondslag"]
    deep = results["deep page (after 190,000)"]["grondslag"]
    print(
        f"\ndatabase floor (pgbench, 2 clients, same SQL as ?limit=100): {floor:.0f} tps; "
        f"Grondslag reaches {100 * first['rps'] / floor:.0f} % of it"
    )
    print(f"deep page p50 / first page p50: {deep['p50'] / first['p50']:.2f}")
    if "tipg" in copies:
        print(
            f"whole layer via ogr2ogr: Grondslag {copies['grondslag']:.1f} s, tipg {copies['tipg']:.1f} s "
            f"({copies['tipg'] / copies['grondslag']:.1f}x faster)"
        )
        print(
            f"  of which server + transfer (following next links, no GDAL): Grondslag "
            f"{copies['grondslag_walk']:.1f} s, tipg {copies['tipg_walk']:.1f} s; the rest is GDAL's own parsing"
        )
    else:
        print(f"whole layer via ogr2ogr: Grondslag {copies['grondslag']:.1f} s (tipg not run)")
    metrics = results["/gemeenten/GM0344/metrics"]["grondslag"]
    print(f"metrics for one gemeente: p50 {metrics['p50']:.2f} ms (target < 20 ms)")
    print(f"load average (1 min) on {os.cpu_count()} CPUs: {load[0]:.2f} at start, {load[1]:.2f} at end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-tipg", action="store_true", help="measure Grondslag only")
    opts = parser.parse_args()
    for tool in ("wrk", "ogr2ogr", "pgbench"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (apt-get install wrk gdal-bin postgresql-client)")
    tmp = Path(tempfile.mkdtemp(prefix="grondslag-bench-"))
    os.chmod(tmp, 0o755)
    cluster, settings = setup_database(tmp)
    procs: list[subprocess.Popen] = []
    try:
        g_port, t_port = free_port(), free_port()
        env = {
            **os.environ,
            "GRONDSLAG_DATABASE_URL": settings.libpq_url,
            "GRONDSLAG_POOL_MIN": "2",
            "GRONDSLAG_ACCESS_LOG": "false",
        }
        g = f"http://127.0.0.1:{g_port}"
        serve = ["--workers", "1", "--no-access-log", "--log-level", "warning"]
        g_cmd = [str(REPO / ".venv/bin/uvicorn"), "api.main:app", "--port", str(g_port), *serve]
        procs.append(start(g_cmd, env, g + "/health", REPO))
        tipg_bin = None if opts.no_tipg else ensure_tipg()
        t = f"http://127.0.0.1:{t_port}"
        if tipg_bin:
            tenv = {
                "PATH": os.environ["PATH"],
                "DATABASE_URL": settings.libpq_url,
                "TIPG_DB_SCHEMAS": '["public"]',
                "TIPG_DB_TABLES": '["public.location"]',
                "TIPG_MAX_FEATURES_PER_QUERY": "10000",
            }
            t_cmd = [str(tipg_bin), "tipg.main:app", "--port", str(t_port), *serve]
            procs.append(start(t_cmd, tenv, t + "/collections", WORK))
        engine = store.make_engine(settings)
        with engine.connect() as conn:
            after = conn.execute(
                sa.text("SELECT id FROM location ORDER BY id OFFSET 189999 LIMIT 1")
            ).scalar()
        engine.dispose()
        bbox = "5.110,52.085,5.125,52.094"  # about 1 km x 1 km in the city of Utrecht
        g_items, t_items = g + "/ogc/collections/locations/items", t + "/collections/public.location/items"
        queries = {
            "items ?limit=100": (g_items + "?limit=100", t_items + "?limit=100"),
            "items small bbox (limit=100)": (
                g_items + f"?limit=100&bbox={bbox}",
                t_items + f"?limit=100&bbox={bbox}",
            ),
            "items ?limit=1000": (g_items + "?limit=1000", t_items + "?limit=1000"),
            "deep page (after 190,000)": (
                g_items + f"?limit=100&after={after}",
                t_items + "?limit=100&offset=190000",
            ),
            "/gemeenten/GM0344/metrics": (g + "/gemeenten/GM0344/metrics", None),
        }
        results: dict[str, dict] = {}
        load_start = os.getloadavg()[0]
        for name, (gu, tu) in queries.items():
            httpx.get(gu, timeout=60)  # warm the count cache and the plan
            results[name] = {"grondslag": wrk(gu)}
            if tipg_bin and tu:
                httpx.get(tu, timeout=60)
                results[name]["tipg"] = wrk(tu)
            print(f"  measured {name}")
        httpx.get(g + "/ogc/collections", timeout=60)  # collection metadata warm, as tipg's is from start-up
        copies = {"grondslag": ogr2ogr(f"OAPIF:{g}/ogc", "locations", tmp)}
        copies["grondslag_walk"] = walk(g_items + "?limit=10000")
        if tipg_bin:
            copies["tipg"] = ogr2ogr(f"OAPIF:{t}", "public.location", tmp)
            copies["tipg_walk"] = walk(t_items + "?limit=10000")
        floor = pgbench(settings, asyncio.run(floor_sql(settings.libpq_url)), tmp)
        report(results, floor, copies, (load_start, os.getloadavg()[0]))
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=20)
        cluster.remove()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
