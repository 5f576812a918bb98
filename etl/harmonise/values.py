"""Measured values as exports write them: Dutch numbers, ``<`` notations and null markers.

``parse_number`` reads ``12,5`` / ``12.5`` / ``1.234,5`` / ``1,234.5`` / ``1 234,5``. ``ValueParser``
classifies a cell as

- ``ok``: a number (``below`` is True for ``<0,2``, ``< 0.2``: the number is the reporting limit),
- ``empty``: not analysed (an empty cell or a marker configured as "not analysed"),
- ``non_numeric``: a marker such as ``n.b.``, ``-``, ``?`` or any text that is not a number,
- ``below_unquantified``: ``<RG`` and the like, below a reporting limit that is not given.

Results are cached per raw string: exports repeat the same few thousand spellings endlessly.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterable

from etl.mapping import DEFAULT_NON_NUMERIC, DEFAULT_UNQUANTIFIED

OK = "ok"
EMPTY = "empty"
NON_NUMERIC = "non_numeric"
BELOW_UNQUANTIFIED = "below_unquantified"

DEFAULT_NOT_ANALYSED: tuple[str, ...] = ("",)
DEFAULT_BELOW_PREFIXES: tuple[str, ...] = ("<", "&lt;", "kleiner dan")
DEFAULT_FLAG_FALSE: tuple[str, ...] = ("", "nee", "n", "no", "false", "0", "onwaar", "=")

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_GROUPED_DOT = re.compile(r"^[+-]?[1-9]\d{0,2}(?:\.\d{3})+$")
_GROUPED_COMMA = re.compile(r"^[+-]?[1-9]\d{0,2}(?:,\d{3})+$")

ParsedValue = tuple[str, float | None, bool]  # (kind, value, below)


def parse_number(text: str, decimal: str = "auto") -> float | None:
    """A float from a Dutch or English number string, or None; ``decimal`` is ``,``, ``.`` or ``auto``."""
    s = text.strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    if not s:
        return None
    has_comma, has_dot = "," in s, "." in s
    if has_comma and has_dot:
        # the last separator is the decimal one: 1.234,5 / 1,234.5
        last_is_comma = s.rfind(",") > s.rfind(".")
        s = s.replace(".", "").replace(",", ".") if last_is_comma else s.replace(",", "")
    elif has_comma:
        grouped = _GROUPED_COMMA.match(s) is not None  # 1,234 / 1,234,567
        thousands = grouped and (decimal == "." or s.count(",") > 1)
        s = s.replace(",", "") if thousands else s.replace(",", ".")
    elif has_dot and _GROUPED_DOT.match(s) and (decimal == "," or s.count(".") > 1):
        s = s.replace(".", "")  # 1.500 in a decimal-comma file, 1.234.567
    if not _NUMBER.match(s):
        return None
    return float(s)


def _fold(items: Iterable[str]) -> frozenset[str]:
    return frozenset(str(i).strip().casefold() for i in items)


class ValueParser:
    """Classify and parse measured-value cells; see the module docstring for the outcomes."""

    def __init__(
        self,
        *,
        decimal: str = "auto",
        not_analysed: Iterable[str] = DEFAULT_NOT_ANALYSED,
        non_numeric: Iterable[str] = DEFAULT_NON_NUMERIC,
        below_prefixes: Iterable[str] = DEFAULT_BELOW_PREFIXES,
        unquantified: Iterable[str] = DEFAULT_UNQUANTIFIED,
    ) -> None:
        self.decimal = decimal
        self.not_analysed = _fold(not_analysed) | {""}
        self.non_numeric = _fold(non_numeric) - self.not_analysed
        self.below_prefixes = tuple(sorted({p.strip() for p in below_prefixes if p.strip()}, key=len)[::-1])
        self.unquantified = _fold(unquantified)
        self.cache: dict[str, ParsedValue] = {}  # raw text -> result (read directly by hot loops)

    def parse(self, raw: object) -> ParsedValue:
        """``(kind, value, below)`` for one cell."""
        if raw is None:
            return (EMPTY, None, False)
        if isinstance(raw, str):
            try:
                return self.cache[raw]
            except KeyError:
                result = self._parse_text(raw)
                self.cache[raw] = result
                return result
        if isinstance(raw, bool):
            return (NON_NUMERIC, None, False)
        if isinstance(raw, (int, float)):
            value = float(raw)
            if math.isnan(value):
                return (EMPTY, None, False)
            if math.isinf(value):
                return (NON_NUMERIC, None, False)
            return (OK, value, False)
        return self._parse_text(str(raw))

    def _parse_text(self, raw: str) -> ParsedValue:
        s = raw.strip()
        folded = s.casefold()
        if folded in self.not_analysed:
            return (EMPTY, None, False)
        if folded in self.non_numeric:
            return (NON_NUMERIC, None, False)
        below = False
        for prefix in self.below_prefixes:
            if folded.startswith(prefix.casefold()):
                below = True
                s = s[len(prefix) :].strip()
                if s.startswith("="):  # "<=" reads as "<"
                    s = s[1:].strip()
                if s.casefold() in self.unquantified or not s:
                    return (BELOW_UNQUANTIFIED, None, True)
                break
        value = parse_number(s, self.decimal)
        if value is None or math.isinf(value) or math.isnan(value):
            return (NON_NUMERIC, None, below)
        return (OK, value, below)


class FlagParser:
    """A separate below-detection flag column: empty / ``nee`` / ``0`` is False, anything else True."""

    def __init__(self, false_values: Iterable[str] = DEFAULT_FLAG_FALSE) -> None:
        self.false_values = _fold(false_values) | {""}
        self.cache: dict[object, bool] = {None: False}  # raw cell -> flag (read directly by hot loops)

    def parse(self, raw: object) -> bool:
        """Whether the flag cell marks the value as below the detection limit."""
        try:
            return self.cache[raw]
        except (KeyError, TypeError):
            pass
        if isinstance(raw, float) and math.isnan(raw):
            result = False
        else:
            result = str(raw).strip().casefold() not in self.false_values
        with contextlib.suppress(TypeError):  # unhashable cell value
            self.cache[raw] = result
        return result
