"""BRO benchmark: parse and load a folder of CPT files, and one large multi-object file.

Run: ``.venv/bin/python benchmarks/bro_bench.py [--objects 2000] [--big-mb 200]``

Replicates the real sample CPTs (``data/samples/bro_cpt``) to ``--objects`` files with distinct BRO
ids, loads the folder with ``grondslag etl ingest`` into a throw-away PostGIS cluster and prints
objects/s and peak memory. Then writes ONE dispatch file of at least ``--big-mb`` MB holding many
CPT objects and loads that: peak memory must not grow with the file size (streaming iterparse).
Target (issue "BRO ingest"): >= 100 CPT objects/s including the load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from db import store  # noqa: E402
from db.cluster import throwaway_cluster  # noqa: E402
from db.settings import StoreSettings  # noqa: E402

SAMPLES = REPO / "data" / "samples" / "bro_cpt"
BRO_ID = re.compile(rb"CPT\d{12}")


def replicate(folder: Path, n: int) -> int:
    """Write ``n`` CPT files with distinct BRO ids made from the bundled dispatch samples."""
    sources = [p.read_bytes() for p in sorted(SAMPLES.glob("*.xml")) if BRO_ID.search(p.read_bytes())]
    folder.mkdir(parents=True)
    total = 0
    for i in range(n):
        data = sources[i % len(sources)]
        new_id = f"CPT9{i:011d}".encode()
        out = BRO_ID.sub(new_id, data)
        (folder / f"{new_id.decode()}.xml").write_bytes(out)
        total += len(out)
    return total


def big_file(path: Path, min_mb: int) -> int:
    """One dispatch document with many CPT objects (>= min_mb MB)."""
    src = (SAMPLES / "geolibplus__CPT000000003688_IMBRO_A_new_version.xml").read_text(encoding="utf-8")
    start = src.index("<dispatchDocument")
    end = src.rindex("</dispatchDocument>") + len("</dispatchDocument>")
    head, doc, tail = src[:start], src[start:end], src[end:]
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(head)
        while fh.tell() < min_mb * 1_000_000:
            fh.write(doc.replace("CPT000000003688", f"CPT8{n:011d}"))
            n += 1
        fh.write(tail)
    return n


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in task.read_text().split()]
    return out


def _rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def ingest(settings: StoreSettings, target: Path) -> tuple[float, float, float, dict]:
    """Run ``etl ingest``; returns seconds, peak RSS of the process, peak RSS of its whole process
    tree (the process plus the read-ahead worker), and the JSON summary."""
    env = dict(os.environ, GRONDSLAG_DATABASE_URL=settings.libpq_url)
    cmd = [
        sys.executable,
        "-c",
        "import resource, sys; from grondslag.cli import app; "
        "sys.argv = ['grondslag', 'etl', 'ingest', sys.argv[1], '--format', 'json'];\n"
        "try:\n    app()\nfinally:\n"
        "    sys.stderr.write('MAXRSS %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
        str(target),
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    peak_tree = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not done.wait(0.05):
            peak_tree = max(peak_tree, sum(_rss_mb(p) for p in _tree(proc.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode not in (0, 1):
        raise SystemExit(stderr[-3000:])
    rss = int(re.findall(r"MAXRSS (\d+)", stderr)[-1]) / 1024
    return seconds, rss, max(peak_tree, rss), json.loads(stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=2000)
    ap.add_argument("--big-mb", type=int, default=200)
    args = ap.parse_args()
    with throwaway_cluster("grondslag-bro-bench-") as cluster:
        tmp = cluster.data_dir.parent
        settings = StoreSettings(data_dir=cluster.data_dir, pg_port=cluster.port, db_name="bench")
        store.prepare(settings)

        size = replicate(tmp / "cpts", args.objects)
        seconds, rss, rss_tree, summary = ingest(settings, tmp / "cpts")
        loaded = sum(d["bro_objects"] for d in summary["datasets"])
        print(
            f"folder: {args.objects:,} CPT files ({size / 1e6:.0f} MB) -> {loaded:,} objects loaded "
            f"in {seconds:.1f} s = {loaded / seconds:,.0f} objects/s (target >= 100: "
            f"{'met' if loaded / seconds >= 100 else 'NOT met'}); peak memory {rss:,.0f} MB "
            f"({rss_tree:,.0f} MB with the read-ahead worker)"
        )

        small = tmp / "small.xml"
        n_small = big_file(small, 10)
        s_small, rss_small, _, _ = ingest(settings, small)
        big = tmp / "big.xml"
        n_big = big_file(big, args.big_mb)
        s_big, rss_big, _, summary_big = ingest(settings, big)
        loaded_big = sum(d["bro_objects"] for d in summary_big["datasets"])
        print(
            f"one file of {small.stat().st_size / 1e6:,.0f} MB ({n_small} CPTs): {s_small:.1f} s, "
            f"peak memory {rss_small:,.0f} MB"
        )
        print(
            f"one file of {big.stat().st_size / 1e6:,.0f} MB ({n_big} CPTs, {loaded_big} loaded): {s_big:.1f} s "
            f"= {loaded_big / s_big:,.0f} objects/s, peak memory {rss_big:,.0f} MB "
            f"(x{rss_big / rss_small:.2f} of the 10 MB file)"
        )


if __name__ == "__main__":
    main()
