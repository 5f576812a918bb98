"""The analyst notebook runs against the demo data through the public API, so it cannot rot."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jupytext
import nbformat
import pyogrio
import pytest
from nbclient import NotebookClient

from db.cluster import free_port
from db.settings import StoreSettings
from tests.conftest import REPO, run_cli

NOTEBOOK = REPO / "notebooks" / "analyst_tour.ipynb"
TEXT = REPO / "notebooks" / "analyst_tour.py"


def test_ipynb_and_text_pair_hold_the_same_code() -> None:
    ipynb = nbformat.read(NOTEBOOK, as_version=4)
    text = jupytext.read(TEXT)
    code = [c.source for c in ipynb.cells if c.cell_type == "code"]
    assert code == [c.source for c in text.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") for c in ipynb.cells if c.cell_type == "code"), "commit without outputs"


@pytest.fixture(scope="module")
def api_url(etl_db: StoreSettings):
    proc = run_cli(etl_db, "etl", "run", "--all", "--format", "json", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    port = free_port()
    env = dict(os.environ, GRONDSLAG_DATABASE_URL=etl_db.libpq_url)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    yield url
    server.terminate()
    server.wait(timeout=20)


def test_notebook_executes_against_the_demo_data(api_url: str, etl_db: StoreSettings, tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    os.environ["GRONDSLAG_API_URL"] = api_url
    os.environ["GRONDSLAG_NOTEBOOK_OUT"] = str(tmp_path)
    try:
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    finally:
        os.environ.pop("GRONDSLAG_API_URL", None)
        os.environ.pop("GRONDSLAG_NOTEBOOK_OUT", None)
    artefacts = REPO / "test-artifacts"
    artefacts.mkdir(exist_ok=True)
    nbformat.write(nb, artefacts / "analyst_tour.executed.ipynb")
    stdout = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert "26 gemeenten" in stdout
    assert "GM1904: 1483 locations, 2132 samples" in stdout  # Stichtse Vecht has the most samples
    for png in ("choropleth_median_age.png", "choropleth_lead_wonen.png"):
        assert (tmp_path / png).stat().st_size > 10_000
    gpkg = tmp_path / "grondslag_GM1904.gpkg"
    layers = dict(pyogrio.list_layers(gpkg))
    assert set(layers) == {"gemeenten", "locations", "samples"}
    assert pyogrio.read_info(gpkg, layer="locations")["features"] == 1483
    assert pyogrio.read_info(gpkg, layer="samples")["features"] == 2132
    assert "28992" in pyogrio.read_info(gpkg, layer="samples")["crs"]
