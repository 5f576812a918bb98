"""Units: recognise the spellings labs and exports use, convert to a parameter's canonical unit.

Normalised spellings are ASCII: ``mg/kg ds``, ``ug/kg ds``, ``ng/kg ds``, ``g/kg ds``, ``%``,
``mg/l``, ``ug/l``, ``ng/l``, ``m``, ``cm``, ``mm``. ``mg/kg`` without ``ds`` is read as dry matter
(Dutch soil analyses are always reported on dry matter). An unknown spelling, or a unit that cannot
be converted to the parameter's canonical unit, is quarantined as ``unknown_unit``.
"""

from __future__ import annotations

import re

_SPACES = re.compile(r"\s+")

# compact spelling (lower case, no spaces, µ -> u, d.s. -> ds) -> normalised spelling
_MASS_PER_DRY_KG = {"g": "g/kg ds", "mg": "mg/kg ds", "ug": "ug/kg ds", "ng": "ng/kg ds"}
_PERCENT_SUFFIXES = {"", "ds", "(m/m)", "m/m", "(m/m)ds", "vandrogestof", "vands", "droge stof", "drogestof"}
_OTHER = {
    "mg/l": "mg/l",
    "ug/l": "ug/l",
    "ng/l": "ng/l",
    "m": "m",
    "cm": "cm",
    "mm": "mm",
    "m-mv": "m",
    "cm-mv": "cm",
    "procent": "%",
    "percent": "%",
}

# (normalised unit, canonical unit) -> multiply factor
_FACTORS: dict[tuple[str, str], float] = {
    ("mg/kg ds", "mg/kg ds"): 1.0,
    ("ug/kg ds", "mg/kg ds"): 1e-3,
    ("ng/kg ds", "mg/kg ds"): 1e-6,
    ("g/kg ds", "mg/kg ds"): 1e3,
    ("%", "%"): 1.0,
    ("g/kg ds", "%"): 0.1,
    ("mg/kg ds", "%"): 1e-4,
    ("mg/l", "mg/l"): 1.0,
    ("ug/l", "mg/l"): 1e-3,
    ("ng/l", "mg/l"): 1e-6,
    ("ug/l", "ug/l"): 1.0,
    ("mg/l", "ug/l"): 1e3,
    ("m", "m"): 1.0,
    ("cm", "m"): 0.01,
    ("mm", "m"): 0.001,
}


def _compact(text: str) -> str:
    s = text.strip().casefold().replace("µ", "u").replace("μ", "u").replace("\u00a0", " ")
    s = s.replace("d.s.", "ds").replace("d.s", "ds").replace("[", "").replace("]", "")
    return _SPACES.sub("", s)


def normalise_unit(text: object) -> str | None:
    """The normalised spelling of a unit, or None when it is not recognised."""
    if text is None:
        return None
    s = _compact(str(text))
    if not s:
        return None
    if s.startswith("%"):
        return "%" if s[1:] in _PERCENT_SUFFIXES else None
    if s in _OTHER:
        return _OTHER[s]
    head, sep, rest = s.partition("/kg")
    if sep and head in _MASS_PER_DRY_KG and rest in ("", "ds", "drogestof", "dm"):
        return _MASS_PER_DRY_KG[head]
    return None


def conversion_factor(unit: str, canonical: str) -> float | None:
    """Factor that converts a value in normalised ``unit`` to ``canonical``; None if not convertible."""
    return _FACTORS.get((unit, canonical))


class UnitConverter:
    """Cached (source unit, canonical unit) -> (factor, normalised source unit) resolution."""

    def __init__(self) -> None:
        self._cache: dict[tuple[object, str], tuple[float, str] | None] = {}

    def resolve(self, raw_unit: object, canonical: str) -> tuple[float, str] | None:
        """``(factor, normalised unit)`` or None when the unit is unknown or not convertible."""
        key = (raw_unit, canonical)
        try:
            return self._cache[key]
        except KeyError:
            pass
        unit = normalise_unit(raw_unit)
        factor = conversion_factor(unit, canonical) if unit else None
        result = (factor, unit) if factor is not None and unit is not None else None
        self._cache[key] = result
        return result
