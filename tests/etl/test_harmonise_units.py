"""Unit spellings and conversion to canonical units."""

from __future__ import annotations

import pytest

from etl.harmonise.units import UnitConverter, conversion_factor, normalise_unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mg/kg ds", "mg/kg ds"),
        ("mg/kg", "mg/kg ds"),
        ("MG/KG DS", "mg/kg ds"),
        ("mg/kg d.s.", "mg/kg ds"),
        ("mg / kg ds", "mg/kg ds"),
        ("mg/kgds", "mg/kg ds"),
        ("µg/kg ds", "ug/kg ds"),  # micro sign
        ("μg/kg ds", "ug/kg ds"),  # Greek mu
        ("ug/kg ds", "ug/kg ds"),
        ("ug/kg", "ug/kg ds"),
        ("g/kg ds", "g/kg ds"),
        ("%", "%"),
        ("% ds", "%"),
        ("%ds", "%"),
        ("% (m/m) ds", "%"),
        ("procent", "%"),
        ("mg/l", "mg/l"),
        ("cm", "cm"),
        ("ppm", None),
        ("kg", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_unit(text: str | None, expected: str | None) -> None:
    assert normalise_unit(text) == expected


def test_conversion_factors() -> None:
    assert conversion_factor("ug/kg ds", "mg/kg ds") == 1e-3
    assert conversion_factor("mg/kg ds", "mg/kg ds") == 1.0
    assert conversion_factor("g/kg ds", "%") == 0.1
    assert conversion_factor("%", "mg/kg ds") is None  # lead in % is not a thing
    assert conversion_factor("cm", "m") == 0.01


def test_converter_resolves_and_caches() -> None:
    conv = UnitConverter()
    assert conv.resolve("µg/kg ds", "mg/kg ds") == (1e-3, "ug/kg ds")
    assert conv.resolve("% ds", "%") == (1.0, "%")
    assert conv.resolve("ppm", "mg/kg ds") is None  # unknown spelling -> unknown_unit
    assert conv.resolve("%", "mg/kg ds") is None  # not convertible -> unknown_unit
    assert conv.resolve(None, "mg/kg ds") is None
