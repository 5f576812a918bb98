"""Read-ahead of BRO files in a worker process: same objects, errors stay where they were."""

from __future__ import annotations

import shutil
from pathlib import Path

from etl.errors import RecordError
from etl.files import sha256_of
from etl.readahead import ReadAhead
from etl.readers.bro_detect import read_bro

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def _same(a, b) -> bool:
    if isinstance(a, RecordError):
        return type(a) is type(b) and str(a) == str(b) and a.reason == b.reason and a.locator == b.locator
    return a == b


def test_worker_parses_the_same_objects_as_the_loading_process(tmp_path: Path) -> None:
    files = sorted((SAMPLES / "bro_cpt").glob("*.xml"))[:3] + sorted((SAMPLES / "gef_cpt").glob("*.gef"))[:2]
    assert len(files) == 5
    with ReadAhead(window=8) as ahead:
        for f in files:
            ahead.submit(f, None)
        for f in files:
            got = ahead.take(f, sha256_of(f))
            assert got is not None, f
            want = list(read_bro(f))
            assert len(got) == len(want) and all(_same(a, b) for a, b in zip(got, want, strict=True)), f


def test_a_file_that_fails_as_a_whole_is_left_to_the_loading_process(tmp_path: Path) -> None:
    broken = tmp_path / "truncated.xml"
    broken.write_text("<?xml version='1.0'?><dispatchDocument><CPT_O>", encoding="utf-8")
    with ReadAhead() as ahead:
        ahead.submit(broken, None)
        assert ahead.take(broken, sha256_of(broken)) is None  # the loader parses it and reports its error


def test_window_large_files_and_discard(tmp_path: Path) -> None:
    src = sorted((SAMPLES / "bro_cpt").glob("*.xml"))[0]
    copies = []
    for i in range(4):
        copies.append(tmp_path / f"c{i}.xml")
        shutil.copy(src, copies[-1])
    with ReadAhead(window=2) as ahead:
        for c in copies:
            ahead.submit(c, None)
        sha = sha256_of(src)
        assert ahead.take(copies[2], sha) is None and ahead.take(copies[3], sha) is None  # beyond the window
        ahead.discard(copies[0])
        assert ahead.take(copies[0], sha) is None
        assert ahead.take(copies[1], sha) is not None
        big = tmp_path / "big.xml"
        with open(big, "wb") as fh:
            fh.truncate(9_000_000)
        assert not ahead.wanted(big)


def test_a_file_changed_after_it_was_read_ahead_is_parsed_again(tmp_path: Path) -> None:
    src = sorted((SAMPLES / "bro_cpt").glob("*.xml"))[0]
    f = tmp_path / "cpt.xml"
    shutil.copy(src, f)
    with ReadAhead() as ahead:
        ahead.submit(f, None)
        # the loader's SHA-256 is of other content than the worker read: its objects are not used
        assert ahead.take(f, "0" * 64) is None
