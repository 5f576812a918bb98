"""Shared fixtures: a throw-away PostGIS cluster started once per test session (no mocks)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from db import store
from db.cluster import LocalCluster, throwaway_cluster
from db.settings import StoreSettings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def data_file(*parts: str) -> Path:
    """A data file from the repo's bundled copies, else from ../shared; skip when neither has it."""
    for base in (REPO / "data", SHARED / "data"):
        candidate = base.joinpath(*parts)
        if candidate.exists():
            return candidate
    pytest.skip(
        f"{'/'.join(parts)} is neither bundled in data/ nor present in ../shared/data (not in this checkout)"
    )


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[LocalCluster]:
    """A fresh PostgreSQL + PostGIS cluster in a temporary directory on a free port."""
    if os.environ.get("GRONDSLAG_TEST_DATABASE_URL"):
        yield None  # type: ignore[misc]
        return
    with throwaway_cluster("grondslag-test-") as cluster:
        yield cluster


@pytest.fixture(scope="session")
def settings(pg_cluster: LocalCluster | None) -> StoreSettings:
    """Store settings of the shared test database: migrated to head and seeded with reference data."""
    return make_database(pg_cluster, "grondslag_test")


def make_database(pg_cluster: LocalCluster | None, name: str) -> StoreSettings:
    """Another database in the test cluster, migrated and seeded (tests that load data get their own)."""
    url = os.environ.get("GRONDSLAG_TEST_DATABASE_URL")
    if url:
        s = StoreSettings(database_url=url)
    else:
        s = StoreSettings(data_dir=pg_cluster.data_dir, pg_port=pg_cluster.port, db_name=name)
    store.prepare(s)
    return s


@pytest.fixture(scope="session")
def engine(settings: StoreSettings) -> Iterator[sa.Engine]:
    eng = store.make_engine(settings)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def etl_db(pg_cluster: LocalCluster | None, request) -> StoreSettings:
    """A database of its own for a test module that loads data (so counts elsewhere stay exact)."""
    name = "grondslag_" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    return make_database(pg_cluster, name[:60])


def run_cli(settings: StoreSettings, *args: str, timeout: float = 300, cwd: Path | None = None):
    """Run `grondslag ARGS` in a subprocess against ``settings`` (no terminal: JSON logs)."""
    import subprocess
    import sys

    env = dict(os.environ, GRONDSLAG_DATABASE_URL=settings.libpq_url)
    return subprocess.run(
        [sys.executable, "-m", "grondslag.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or REPO,
    )


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on 127.0.0.1:<free port> in a thread (for real HTTP clients); yields
    its base URL once ``/health`` answers, and stops the server afterwards."""
    import httpx
    import uvicorn

    from db.cluster import free_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        raise RuntimeError("the test server did not start")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
