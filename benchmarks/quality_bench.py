"""Benchmark: assessment + quality metrics over 1,000,000 measurements (≈ 50,000 locations).

    .venv/bin/python benchmarks/quality_bench.py [--measurements N] [--locations N] [--keep]

Starts its own throw-away PostGIS cluster on a free port (like tests/conftest.py), migrates, seeds
the reference data, generates a synthetic but realistic soil data set (standard package: metals,
PAK10 or its ten members, PCB7, minerale olie, lutum, organic matter; lognormal values, values below
the detection limit, quarantine rows, BRO objects, linked duplicates), loads it with COPY and times
``db.quality.refresh``: the first refresh (views empty: plain) and a second one (CONCURRENTLY).
Target: full refresh < 10 s.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import psycopg
import shapely
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db import quality, store  # noqa: E402
from db.cluster import LocalCluster, free_port  # noqa: E402
from db.seed import seed  # noqa: E402
from db.settings import StoreSettings  # noqa: E402

# parameter: (median mg/kg ds, log-sd, detection limit)
METALS = {
    "As": (9.0, 0.5, 4.0),
    "Ba": (70.0, 0.6, 20.0),
    "Cd": (0.3, 0.8, 0.2),
    "Co": (6.0, 0.5, 3.0),
    "Cu": (22.0, 0.8, 5.0),
    "Hg": (0.12, 1.0, 0.05),
    "Pb": (45.0, 1.0, 10.0),
    "Mo": (0.8, 0.6, 1.5),
    "Ni": (20.0, 0.5, 4.0),
    "Zn": (90.0, 0.8, 20.0),
}
ORGANIC = {"PAK10": (0.8, 1.3, 0.35), "PCB7": (0.004, 1.2, 0.0049), "OLIE": (40.0, 1.2, 35.0)}
PAK_MEMBERS = ["NAFT", "FENA", "ANTR", "FLUO", "CHRY", "BAA", "BAP", "BKF", "INDP", "BGHIP"]
PAK_SHARE = np.array([0.02, 0.12, 0.03, 0.2, 0.1, 0.09, 0.1, 0.06, 0.08, 0.2])  # of the PAK10 sum
SOIL = ["lutum", "organische_stof"]


def _copy(conn: psycopg.Connection, table: str, columns: list[str], rows: list[np.ndarray]) -> None:
    """COPY parallel column arrays into ``table`` (text format, None/NaN as NULL)."""
    buf = io.StringIO()
    cols = []
    for arr in rows:
        if arr.dtype.kind == "f":
            s = np.where(np.isnan(arr), "\\N", arr.astype(str))
        elif arr.dtype.kind == "b":
            s = np.where(arr, "t", "f")
        else:
            s = np.where(arr == None, "\\N", arr.astype(str))  # noqa: E711 - element-wise None test
        cols.append(s)
    lines = ["\t".join(vals) for vals in zip(*cols, strict=True)]
    buf.write("\n".join(lines) + "\n")
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        copy.write(buf.getvalue())


def _points_in(poly, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside ``poly`` (rejection sampling in its bounding box)."""
    minx, miny, maxx, maxy = poly.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(2 * n, 2))
        out = np.vstack([out, xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]])
    return out[:n]


def _backend_cpu(conn: sa.Connection) -> float:
    """CPU seconds used so far by the server process of ``conn`` (Linux /proc; 0 when unreadable).

    Shows the work done independently of other load on the machine (parallel workers not included).
    """
    pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def generate(conn: psycopg.Connection, n_measurements: int, n_locations: int, seed_: int = 20261125) -> dict:
    """Generate and COPY the synthetic data set; returns counts."""
    rng = np.random.default_rng(seed_)
    gm = conn.execute("SELECT code, area_km2, ST_AsBinary(geom) FROM gemeente ORDER BY code").fetchall()
    codes = np.array([g[0] for g in gm])
    polys = [shapely.from_wkb(bytes(g[2])) for g in gm]
    weight = np.array([g[1] for g in gm]) * rng.uniform(0.5, 2.0, len(gm))
    weight[codes == "GM0344"] *= 4  # the city of Utrecht is sampled far more densely
    per_gm = rng.multinomial(n_locations, weight / weight.sum())

    run_id = conn.execute(
        "INSERT INTO etl_run (status, command, finished_at) "
        "VALUES ('succeeded', 'quality_bench', now()) RETURNING id"
    ).fetchone()[0]
    # one source per gemeente, three datasets each (exports of different years)
    src_ids, ds_ids = {}, {}
    for code in codes:
        src_ids[code] = conn.execute(
            "INSERT INTO source (name, kind, gemeente_code) VALUES (%s, 'municipal', %s) RETURNING id",
            (f"bench_{code}", code),
        ).fetchone()[0]
        ds_ids[code] = [
            conn.execute(
                "INSERT INTO dataset (source_id, run_id, path, sha256, format) "
                "VALUES (%s, %s, %s, %s, 'csv') RETURNING id",
                (src_ids[code], run_id, f"bench/{code}/export_{k}.csv", f"{k:064d}"),
            ).fetchone()[0]
            for k in range(3)
        ]
    bro_src = conn.execute(
        "INSERT INTO source (name, kind) VALUES ('bench_bro', 'bro') RETURNING id"
    ).fetchone()[0]
    bro_ds = conn.execute(
        "INSERT INTO dataset (source_id, run_id, path, sha256, format) "
        "VALUES (%s, %s, 'bench/bro', %s, 'imbro') RETURNING id",
        (bro_src, run_id, "f" * 64),
    ).fetchone()[0]

    # locations
    xy = np.vstack([_points_in(p, n, rng) for p, n in zip(polys, per_gm, strict=True) if n])
    loc_gm = np.repeat(codes, per_gm)
    n_loc = len(xy)
    loc_id = np.arange(1, n_loc + 1)
    loc_ds = np.array([ds_ids[c][k] for c, k in zip(loc_gm, rng.integers(0, 3, n_loc), strict=True)])
    decimals = rng.choice([0, 1, 2, 3], size=n_loc, p=[0.2, 0.1, 0.6, 0.1]).astype(object)
    decimals[rng.random(n_loc) < 0.05] = None
    # investigations: ~6 locations each, dated 1995..2025
    n_inv = n_loc // 6
    inv_id = np.arange(1, n_inv + 1)
    inv_days = rng.integers(date(1995, 1, 1).toordinal(), date(2025, 10, 1).toordinal(), n_inv)
    inv_date = np.array([date.fromordinal(int(d)).isoformat() for d in inv_days], dtype=object)
    inv_date[rng.random(n_inv) < 0.04] = None
    loc_inv = rng.integers(1, n_inv + 1, n_loc).astype(object)
    loc_inv[rng.random(n_loc) < 0.1] = None
    inv_ds = loc_ds[rng.integers(0, n_loc, n_inv)]
    _copy(
        conn,
        "investigation",
        ["id", "dataset_id", "external_id", "investigation_date"],
        [inv_id, inv_ds, np.char.add("OND", inv_id.astype(str)), inv_date],
    )
    wkt = np.char.add(
        np.char.add(
            "SRID=28992;POINT(",
            np.char.add(np.char.add(xy[:, 0].round(3).astype(str), " "), xy[:, 1].round(3).astype(str)),
        ),
        ")",
    )
    _copy(
        conn,
        "location",
        ["id", "dataset_id", "investigation_id", "external_id", "gemeente_code", "coord_decimals", "geom"],
        [loc_id, loc_ds, loc_inv, np.char.add("B", loc_id.astype(str)), loc_gm, decimals, wkt],
    )

    # samples: 1..2 per location (top soil first), until the measurement target is reached
    per_loc = rng.choice([1, 2, 3], size=n_loc, p=[0.55, 0.4, 0.05])
    s_loc = np.repeat(loc_id, per_loc)
    s_seq = np.concatenate([np.arange(k) for k in per_loc])
    n_s = len(s_loc)
    # package: 0 = top soil full package with PAK10 as a sum, 1 = with the ten PAK members, 2 = metals only
    pkg = np.where(s_seq == 0, np.where(rng.random(n_s) < 0.15, 1, 0), 2)
    pkg_params = {
        0: [*METALS, *ORGANIC, *SOIL],
        1: [*METALS, "PCB7", "OLIE", *PAK_MEMBERS, *SOIL],
        2: [*METALS, *SOIL],
    }
    counts = np.array([len(pkg_params[p]) for p in range(3)])[pkg]
    keep = np.cumsum(counts) - counts < n_measurements
    s_loc, s_seq, pkg, counts = s_loc[keep], s_seq[keep], pkg[keep], counts[keep]
    n_s = len(s_loc)
    s_id = np.arange(1, n_s + 1)
    depth_from = np.where(s_seq == 0, 0.0, 0.5 * s_seq)
    depth_to = depth_from + 0.5
    depth_from[rng.random(n_s) < 0.02] = np.nan
    inv_of_loc = np.array(loc_inv, dtype=object)[s_loc - 1]
    s_inv = inv_of_loc
    base_days = np.array(
        [inv_days[i - 1] if i is not None else inv_days[0] for i in inv_of_loc], dtype=np.int64
    ) + rng.integers(-20, 20, n_s)
    s_date = np.array([date.fromordinal(int(d)).isoformat() for d in base_days], dtype=object)
    s_date[rng.random(n_s) < 0.03] = None
    lutum = np.clip(rng.lognormal(np.log(12), 0.7, n_s), 0.5, 70).round(1)
    om = np.clip(rng.lognormal(np.log(4), 0.8, n_s), 0.3, 60).round(1)
    lutum[rng.random(n_s) < 0.12] = np.nan
    om[rng.random(n_s) < 0.12] = np.nan
    s_ds = loc_ds[s_loc - 1]
    _copy(
        conn,
        "sample",
        [
            "id",
            "dataset_id",
            "location_id",
            "investigation_id",
            "external_id",
            "depth_from_m",
            "depth_to_m",
            "sample_date",
            "lutum_pct",
            "organic_matter_pct",
        ],
        [
            s_id,
            s_ds,
            s_loc,
            s_inv,
            np.char.add("M", s_id.astype(str)),
            depth_from,
            depth_to,
            s_date,
            lutum,
            om,
        ],
    )

    # measurements
    m_sample, m_param = [], []
    for p, params in pkg_params.items():
        ids = s_id[pkg == p]
        m_sample.append(np.repeat(ids, len(params)))
        m_param.append(np.tile(np.array(params), len(ids)))
    m_sample = np.concatenate(m_sample)
    m_param = np.concatenate(m_param)
    order = np.argsort(m_sample, kind="stable")
    m_sample, m_param = m_sample[order][:n_measurements], m_param[order][:n_measurements]
    n_m = len(m_sample)
    value = np.empty(n_m)
    dl = np.full(n_m, np.nan)
    # older town centres: a location factor lifts the anthropogenic substances together
    hot = rng.lognormal(0, 0.6, n_loc)[s_loc - 1]
    hot_m = hot[m_sample - 1]
    for code, (median, sd, limit) in {**METALS, **ORGANIC}.items():
        sel = m_param == code
        factor = hot_m[sel] if code in ("Pb", "Zn", "Cu", "PAK10", "OLIE") else 1.0
        value[sel] = rng.lognormal(np.log(median), sd, sel.sum()) * factor
        dl[sel] = limit
    pak_total = rng.lognormal(np.log(0.8), 1.3, n_m) * hot_m
    for code, share in zip(PAK_MEMBERS, PAK_SHARE, strict=True):
        sel = m_param == code
        value[sel] = pak_total[sel] * share * rng.lognormal(0, 0.2, sel.sum())
        dl[sel] = 0.01
    s_lut = np.nan_to_num(lutum, nan=15.0)[m_sample - 1]
    s_om = np.nan_to_num(om, nan=3.0)[m_sample - 1]
    value[m_param == "lutum"] = s_lut[m_param == "lutum"]
    value[m_param == "organische_stof"] = s_om[m_param == "organische_stof"]
    bdl = ~np.isnan(dl) & (value < np.nan_to_num(dl, nan=0))
    value = np.where(bdl, dl, value)
    value = np.round(value, 4)
    unit = np.where(np.isin(m_param, SOIL), "%", "mg/kg ds")
    dl_out = np.where(bdl, dl, np.nan)
    _copy(
        conn,
        "measurement",
        [
            "sample_id",
            "dataset_id",
            "parameter_code",
            "value",
            "unit",
            "below_detection_limit",
            "detection_limit",
        ],
        [m_sample, s_ds[m_sample - 1], m_param, value, unit, bdl, dl_out],
    )

    # BRO objects (CPTs, boreholes), 10 % without gemeente (assigned spatially by the metrics)
    n_bro = n_loc // 5
    bro_gm_idx = rng.choice(len(codes), n_bro, p=weight / weight.sum())
    bro_xy = np.vstack([_points_in(polys[i], int((bro_gm_idx == i).sum()), rng) for i in range(len(codes))])
    bro_code = np.repeat(codes, np.bincount(bro_gm_idx, minlength=len(codes))).astype(object)
    bro_code[rng.random(n_bro) < 0.1] = None
    bro_wkt = np.char.add(
        np.char.add(
            "SRID=28992;POINT(",
            np.char.add(
                np.char.add(bro_xy[:, 0].round(2).astype(str), " "), bro_xy[:, 1].round(2).astype(str)
            ),
        ),
        ")",
    )
    _copy(
        conn,
        "bro_object",
        ["bro_id", "object_type", "dataset_id", "gemeente_code", "geom"],
        [
            np.char.add("CPT", np.char.zfill(np.arange(n_bro).astype(str), 12)),
            rng.choice(np.array(["CPT", "BHR-GT", "BHR-P"]), n_bro),
            np.full(n_bro, bro_ds),
            bro_code,
            bro_wkt,
        ],
    )

    # linked duplicates: pairs of locations of different gemeente sources are rare; link nearby pairs
    conn.execute(
        """INSERT INTO location_link (location_id_a, location_id_b, distance_m, method)
           SELECT a.id, b.id, ST_Distance(a.geom, b.geom), 'bench'
           FROM location a JOIN LATERAL (
               SELECT id, geom FROM location b WHERE b.id > a.id AND ST_DWithin(a.geom, b.geom, 25) LIMIT 1
           ) b ON true
           WHERE a.id % 50 = 0"""
    )

    # quarantine: ~1.5 % of rows, position reasons on location records
    reasons = np.array(
        [
            "missing_coordinates",
            "xy_swapped",
            "outside_gemeente",
            "invalid_date",
            "future_date",
            "depth_from_gt_to",
            "negative_value",
            "non_numeric_value",
            "duplicate_row",
        ]
    )
    units = np.array(
        ["location", "location", "location", "sample", "sample", "sample", "analysis", "analysis", "row"]
    )
    n_q = n_m // 60
    r = rng.choice(len(reasons), n_q, p=[0.08, 0.05, 0.07, 0.1, 0.05, 0.05, 0.15, 0.3, 0.15])
    all_ds = np.array([d for c in codes for d in ds_ids[c]])
    q_ds = rng.choice(all_ds, n_q)
    _copy(
        conn,
        "quarantine",
        ["run_id", "dataset_id", "locator", "reason", "unit", "message"],
        [
            np.full(n_q, run_id),
            q_ds,
            np.char.add("row ", np.arange(n_q).astype(str)),
            reasons[r],
            units[r],
            np.char.add("bench: ", reasons[r]),
        ],
    )
    conn.execute(
        """UPDATE dataset d SET rows_loaded = x.n, rows_read = x.n + coalesce(q.n, 0),
                  rows_quarantined = coalesce(q.n, 0)
           FROM (SELECT dataset_id, count(*) AS n FROM measurement GROUP BY 1) x
           LEFT JOIN (SELECT dataset_id, count(*) AS n FROM quarantine GROUP BY 1) q USING (dataset_id)
           WHERE d.id = x.dataset_id"""
    )
    for table in ("investigation", "location", "sample"):
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    return {"locations": n_loc, "samples": n_s, "measurements": n_m, "bro_objects": n_bro, "quarantine": n_q}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measurements", type=int, default=1_000_000)
    parser.add_argument("--locations", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true", help="leave the cluster running (prints its URL)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="grondslag-bench-"))
    os.chmod(tmp, 0o755)
    cluster = LocalCluster(tmp / "pg", free_port())
    try:
        cluster.init()
        cluster.start()
        settings = StoreSettings(data_dir=cluster.data_dir, pg_port=cluster.port, db_name="grondslag_bench")
        store.ensure_database(settings)
        store.migrate(settings)
        engine = store.make_engine(settings)
        with engine.begin() as conn:
            seed(conn)

        t0 = time.perf_counter()
        with psycopg.connect(settings.libpq_url) as pconn:
            counts = generate(pconn, args.measurements, args.locations)
        load_s = time.perf_counter() - t0
        with psycopg.connect(settings.libpq_url, autocommit=True) as pconn:
            pconn.execute("VACUUM ANALYZE")
        print(
            f"generated + loaded by COPY in {load_s:.1f} s: "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items())
        )

        runs = (
            ("first refresh (views empty: plain)", None),
            ("second refresh (CONCURRENTLY, readers not blocked)", None),
            ("third refresh (CONCURRENTLY)", None),
            ("refresh --plain (readers wait)", False),
        )
        for label, concurrently in runs:
            load_before = os.getloadavg()[0]
            t0 = time.perf_counter()
            with engine.begin() as conn:
                cpu0 = _backend_cpu(conn)
                per_view = quality.refresh(conn, concurrently=concurrently)
                cpu = _backend_cpu(conn) - cpu0
            total = time.perf_counter() - t0
            verdict = "OK" if total < 10 else "SLOWER THAN TARGET"
            print(
                f"\n{label}: {total:.2f} s wall (target < 10 s: {verdict}); server backend CPU {cpu:.2f} s, "
                f"load average before {load_before:.1f} on {os.cpu_count()} CPUs"
            )
            for view, sec in per_view.items():
                print(f"  {view:<28} {sec:6.2f} s")

        with engine.connect() as conn:
            n_rows = conn.execute(sa.text("SELECT count(*) FROM measurement_assessment")).scalar()
            print(f"\nmeasurement_assessment rows: {n_rows:,}")
            for level, kwargs in (
                ("gemeente", {}),
                ("omgevingsdienst", {"on_date": date(2025, 6, 1)}),
                ("provincie", {}),
            ):
                t0 = time.perf_counter()
                rows = quality.report(conn, level, **kwargs)
                print(
                    f"report --level {level}: {len(rows)} rows in {1000 * (time.perf_counter() - t0):.0f} ms"
                )
            prov = quality.report(conn, "provincie")[0]
            print(
                "province: "
                + ", ".join(
                    f"{k}={prov[k]:.3g}" if isinstance(prov[k], float) else f"{k}={prov[k]}"
                    for k in (
                        "n_locations",
                        "n_samples",
                        "n_measurements",
                        "n_bro_objects",
                        "median_age_years",
                        "share_locations_niet_toepasbaar",
                        "share_lead_topsoil_above_wonen",
                    )
                )
            )
        engine.dispose()
        if args.keep:
            print(f"\ncluster kept running: {settings.libpq_url} (data in {tmp})")
            return 0
    finally:
        if not args.keep:
            cluster.remove()
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
