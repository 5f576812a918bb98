"""Sample files for the BRO/GEF reader tests: the bundled copy in data/samples, else ../shared.

``sample(sub, name)`` (fixture) returns the path of one sample or skips with a printed reason.
A test that takes a ``sample_file`` argument is run once per file in the folders listed in its
module's ``SAMPLE_DIRS`` (bundled and shared files together, bundled first).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE_ROOTS = (REPO / "data" / "samples", REPO.parent / "shared" / "data" / "samples")


def find_sample(sub: str, name: str) -> Path | None:
    """Path of ``<sub>/<name>`` in the bundled samples, else in ../shared; None when in neither."""
    for root in SAMPLE_ROOTS:
        candidate = root / sub / name
        if candidate.is_file():
            return candidate
    return None


def require_sample(sub: str, name: str) -> Path:
    """Path of a sample, or skip the test (printing why) when neither copy exists."""
    path = find_sample(sub, name)
    if path is None:
        reason = f"{sub}/{name} is neither bundled in data/samples nor present in ../shared/data/samples"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    return path


def sample_names(sub: str) -> list[str]:
    """File names in ``<sub>`` over both roots (documentation files excluded)."""
    names: set[str] = set()
    for root in SAMPLE_ROOTS:
        folder = root / sub
        if folder.is_dir():
            names.update(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() != ".md")
    return sorted(names)


@pytest.fixture
def sample() -> Callable[[str, str], Path]:
    return require_sample


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sample_file" not in metafunc.fixturenames:
        return
    dirs = getattr(metafunc.module, "SAMPLE_DIRS", ())
    params = [
        pytest.param(find_sample(sub, name), id=f"{sub}/{name}") for sub in dirs for name in sample_names(sub)
    ]
    if not params:
        reason = f"no sample files for {', '.join(dirs)} in data/samples or ../shared/data/samples"
        print(f"SKIP: {reason}")
        params = [pytest.param(None, id="no-samples", marks=pytest.mark.skip(reason=reason))]
    metafunc.parametrize("sample_file", params)
