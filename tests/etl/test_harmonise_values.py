"""Dutch numbers, detection-limit notations and null markers."""

from __future__ import annotations

import math

import pytest

from etl.harmonise.values import (
    BELOW_UNQUANTIFIED,
    EMPTY,
    NON_NUMERIC,
    OK,
    FlagParser,
    ValueParser,
    parse_number,
)


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("12,5", "auto", 12.5),
        ("12.5", "auto", 12.5),
        ("1.234,5", "auto", 1234.5),
        ("1,234.5", "auto", 1234.5),
        ("1 234,5", "auto", 1234.5),
        ("1,234,567", "auto", 1234567.0),
        ("1.500", ",", 1500.0),  # grouped thousands in a decimal-comma file
        ("0.350", ",", 0.35),  # but a leading zero is never a thousands group
        ("1,234", ".", 1234.0),
        ("1,5", ".", 1.5),
        ("-0,60", ",", -0.6),
        ("+3", "auto", 3.0),
        ("1e-3", "auto", 0.001),
        ("", "auto", None),
        ("abc", "auto", None),
        ("1,2,3", "auto", None),
        ("12 mg", "auto", None),
    ],
)
def test_parse_number(text: str, decimal: str, expected: float | None) -> None:
    assert parse_number(text, decimal) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0,54", (OK, 0.54, False)),
        ("<0,2", (OK, 0.2, True)),
        ("< 0.5", (OK, 0.5, True)),
        ("<= 3", (OK, 3.0, True)),
        ("&lt;1,5", (OK, 1.5, True)),
        ("<RG", (BELOW_UNQUANTIFIED, None, True)),
        ("< rg", (BELOW_UNQUANTIFIED, None, True)),
        ("n.b.", (NON_NUMERIC, None, False)),
        ("N.B.", (NON_NUMERIC, None, False)),
        ("-", (NON_NUMERIC, None, False)),
        ("?", (NON_NUMERIC, None, False)),
        ("nvt", (NON_NUMERIC, None, False)),
        ("groot", (NON_NUMERIC, None, False)),
        ("<abc", (NON_NUMERIC, None, True)),
        ("-10", (OK, -10.0, False)),  # negative: a number (quarantined later as negative_value)
        ("", (EMPTY, None, False)),
        ("   ", (EMPTY, None, False)),
        (None, (EMPTY, None, False)),
        (float("nan"), (EMPTY, None, False)),
        (459, (OK, 459.0, False)),
        (0.35, (OK, 0.35, False)),
        (True, (NON_NUMERIC, None, False)),
        (math.inf, (NON_NUMERIC, None, False)),
    ],
)
def test_value_parser_defaults(raw: object, expected: tuple) -> None:
    assert ValueParser(decimal=",").parse(raw) == expected


def test_configurable_markers() -> None:
    parser = ValueParser(
        not_analysed=["", "nvt"], non_numeric=["n.b.", "x"], below_prefixes=["<", "kleiner dan"]
    )
    assert parser.parse("nvt") == (EMPTY, None, False)  # configured as "not analysed"
    assert parser.parse("X") == (NON_NUMERIC, None, False)
    assert parser.parse("kleiner dan 4") == (OK, 4.0, True)
    assert parser.parse("<0,2") == parser.parse("<0,2")  # cached
    assert "<0,2" in parser.cache


def test_flag_parser() -> None:
    flags = FlagParser()
    assert [flags.parse(v) for v in ("<", "ja", "x", 1, "", None, "nee", "0", 0, float("nan"))] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
    ]
