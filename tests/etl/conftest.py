"""Fixtures for the ETL tests (pure Python, no database): where the real data files are.

Data files are looked up first in the repo's bundled ``data/``, then in ``../shared/data``; a test
whose file is in neither is skipped with the reason printed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from etl.harmonise.parameters import Catalogue

REPO = Path(__file__).resolve().parents[2]
DATA_ROOTS = (REPO / "data", REPO.parent / "shared" / "data")
EXPORTS = {  # mapping name in sources/ -> export folder in data/municipal/
    "de_ronde_venen": "de_ronde_venen_csv",
    "houten": "houten_xlsx",
    "stichtse_vecht": "stichtse_vecht_shp",
}


def locate(*parts: str) -> Path:
    """A data file: first ``<repo>/data/...``, then ``<repo>/../shared/data/...``; skip if neither."""
    for base in DATA_ROOTS:
        candidate = base.joinpath(*parts)
        if candidate.exists():
            return candidate
    reason = f"{'/'.join(parts)} not found in {' or '.join(str(b) for b in DATA_ROOTS)}"
    print(f"SKIP: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def find_data() -> Callable[..., Path]:
    """``find_data("samples", "bro_sad", name)`` -> Path (skips the test when absent)."""
    return locate


@pytest.fixture(scope="session")
def export_file() -> Callable[[str, str], Path]:
    """``export_file("houten", "Houten_analyseresultaten_grond.xlsx")`` -> Path of a municipal export file."""
    return lambda source, name: locate("municipal", EXPORTS[source], name)


@pytest.fixture(scope="session")
def truth() -> Callable[[str], dict[str, Any]]:
    """``truth("houten")`` -> the export's truth.json."""
    return lambda source: json.loads(locate("municipal", EXPORTS[source], "truth.json").read_text("utf-8"))


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue.load()
