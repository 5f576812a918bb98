"""Sample dates: day-first text, two-digit years, Excel serial numbers and native cell values.

``DateParser.parse`` returns ``(date, reason)``: ``reason`` is None for a good (or empty) date,
``invalid_date`` for text that is no calendar day (``30-2-05``, ``31-04-2020``, ``abc``) and
``future_date`` for a day after ``today``. Two-digit years up to ``pivot`` are 20xx, above it 19xx
(pivot 30: ``95``..``99`` -> 1995..1999, ``00``..``30`` -> 2000..2030).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta

INVALID_DATE = "invalid_date"
FUTURE_DATE = "future_date"

EXCEL_EPOCH = date(1899, 12, 30)  # for serials from 61 (1900-03-01) on; Excel counts a 1900-02-29
_MAX_EXCEL_SERIAL = 2958465  # 9999-12-31

_ISO = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL = re.compile(r"^\d{4,6}(?:[.,]0+)?$")

DateResult = tuple[date | None, str | None]


def excel_serial_to_date(serial: float) -> date:
    """The calendar day of an Excel serial day number (1900 date system; 1 = 1900-01-01).

    Excel counts the non-existent 1900-02-29 as serial 60: that serial raises ValueError.
    """
    n = int(serial)
    if n == 60:
        raise ValueError("Excel serial 60 is the non-existent 1900-02-29")
    return EXCEL_EPOCH + timedelta(days=n + 1 if n < 60 else n)


class DateParser:
    """Parse and validate sample dates; results are cached per raw value."""

    def __init__(
        self,
        *,
        day_first: bool = True,
        pivot: int = 30,
        formats: Iterable[str] = (),
        today: date | None = None,
        excel_serials: bool = True,
    ) -> None:
        self.day_first = day_first
        self.pivot = pivot
        self.formats = tuple(formats)
        self.today = today or date.today()
        self.excel_serials = excel_serials
        self._cache: dict[object, DateResult] = {}

    def parse(self, raw: object) -> DateResult:
        """``(date or None, None | 'invalid_date' | 'future_date')``; empty input is ``(None, None)``."""
        try:
            return self._cache[raw]
        except (KeyError, TypeError):
            pass
        day = self._to_date(raw)
        if day is None:
            result: DateResult = (None, None)
        elif day is INVALID:
            result = (None, INVALID_DATE)
        elif day > self.today:  # type: ignore[operator]
            result = (day, FUTURE_DATE)  # type: ignore[assignment]
        else:
            result = (day, None)  # type: ignore[assignment]
        with contextlib.suppress(TypeError):  # unhashable cell value
            self._cache[raw] = result
        return result

    def _to_date(self, raw: object) -> date | object | None:
        if raw is None:
            return None
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        if isinstance(raw, bool):
            return INVALID
        if isinstance(raw, (int, float)):
            if isinstance(raw, float) and math.isnan(raw):
                return None
            if self.excel_serials and 1 <= raw <= _MAX_EXCEL_SERIAL and int(raw) != 60:
                return excel_serial_to_date(raw)
            return INVALID
        text = str(raw).strip()
        if not text:
            return None
        for fmt in self.formats:
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        return self._parse_text(text)

    def _parse_text(self, text: str) -> date | object:
        m = _ISO.match(text)
        if m:
            return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _DMY.match(text)
        if m:
            a, b, y = int(m.group(1)), int(m.group(2)), m.group(3)
            year = int(y) if len(y) == 4 else self._expand_year(int(y))
            return _make(year, b, a) if self.day_first else _make(year, a, b)
        m = _COMPACT.match(text)
        if m:
            return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if self.excel_serials and _SERIAL.match(text):
            return self._to_date(float(text.replace(",", ".")))
        return INVALID

    def _expand_year(self, yy: int) -> int:
        return 2000 + yy if yy <= self.pivot else 1900 + yy


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID = _Invalid()


def _make(year: int, month: int, day: int) -> date | object:
    try:
        return date(year, month, day)
    except ValueError:
        return INVALID
