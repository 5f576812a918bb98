"""CRS detection per file, swapped / missing pairs and the transform to RD New."""

from __future__ import annotations

import pytest

from etl.harmonise.coordinates import (
    RD,
    WGS84,
    CrsDecision,
    classify,
    coord_decimals,
    detect_crs,
    is_swapped,
    to_rd,
    valid_pair,
)
from etl.mapping import normalise_crs


def test_classify() -> None:
    assert classify(136_000, 455_000) == "rd"
    assert classify(455_000, 136_000) == "rd_swapped"
    assert classify(5.12, 52.09) == "lonlat"
    assert classify(52.09, 5.12) == "latlon"
    assert classify(0, 0) is None and classify(10, 20) is None


def test_detect_decides_for_the_whole_file() -> None:
    assert detect_crs([(136_000, 455_000)] * 5 + [(455_000, 136_000)]) == CrsDecision(RD, False, True)
    assert detect_crs([(455_000, 136_000)] * 5 + [(136_000, 455_000)]) == CrsDecision(RD, True, True)
    assert detect_crs([(5.1, 52.1)] * 3) == CrsDecision(WGS84, False, True)
    assert detect_crs([(52.1, 5.1)] * 3 + [(5.1, 52.1)]) == CrsDecision(WGS84, True, True)
    assert detect_crs([]) == CrsDecision(RD, False, True)


def test_is_swapped_relative_to_the_decision() -> None:
    rd = CrsDecision(RD)
    assert is_swapped(449_981.4, 140_872.6, rd) and not is_swapped(140_872.6, 449_981.4, rd)
    rd_swapped = CrsDecision(RD, swap=True)
    assert is_swapped(140_872.6, 449_981.4, rd_swapped)
    wgs = CrsDecision("EPSG:4326")
    assert is_swapped(52.0, 4.3, wgs) and not is_swapped(4.3, 52.0, wgs)
    assert not is_swapped(1.0, 2.0, CrsDecision("EPSG:3857"))  # no ranges known: never "swapped"


def test_valid_pair() -> None:
    assert valid_pair(1.0, 2.0)
    assert not valid_pair(None, 2.0) and not valid_pair(0.0, 0.0) and not valid_pair(float("nan"), 1.0)


def test_to_rd() -> None:
    xs, ys = to_rd([4.358954632907231], [52.00410874694697], "EPSG:4326")
    assert (xs[0], ys[0]) == pytest.approx((84_396.2, 446_692.5), abs=0.5)
    xs, ys = to_rd([136_000.0], [455_000.0], RD)  # identity
    assert (xs[0], ys[0]) == (136_000.0, 455_000.0)
    xs, ys = to_rd([5.0], [52.0], "EPSG:4258")  # ETRS89
    assert 110_000 < xs[0] < 130_000


def test_normalise_crs_and_decimals() -> None:
    assert normalise_crs("urn:ogc:def:crs:EPSG::4326") == "EPSG:4326"
    assert normalise_crs("epsg:28992") == RD
    assert [coord_decimals(v) for v in ("119058,57", "469216.2", 141163.1, 141163.0, 7, "", None)] == [
        2,
        1,
        1,
        0,
        0,
        None,
        None,
    ]
