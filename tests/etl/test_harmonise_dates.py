"""Sample dates: day-first text, two-digit years, Excel serials, invalid and future dates."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from etl.harmonise.dates import DateParser, excel_serial_to_date

TODAY = date(2026, 1, 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("06-01-2019", (date(2019, 1, 6), None)),  # day first
        ("6/1/2019", (date(2019, 1, 6), None)),
        ("6.1.2019", (date(2019, 1, 6), None)),
        ("5-6-18", (date(2018, 6, 5), None)),
        ("13-11-99", (date(1999, 11, 13), None)),  # 95-99 -> 19xx
        ("1-1-95", (date(1995, 1, 1), None)),
        ("6-1-00", (date(2000, 1, 6), None)),  # 00-30 -> 20xx
        ("31-12-30", (None, "future_date")),  # 2030 is after "today"
        ("2019-04-01", (date(2019, 4, 1), None)),
        ("2018-03-08T00:00:00+01:00", (date(2018, 3, 8), None)),
        ("20190401", (date(2019, 4, 1), None)),
        ("06-01-2019 14:30", (date(2019, 1, 6), None)),
        (42405, (date(2016, 2, 5), None)),  # Excel serial number
        (42405.0, (date(2016, 2, 5), None)),
        ("42405", (date(2016, 2, 5), None)),
        (datetime(2011, 10, 20, 0, 0), (date(2011, 10, 20), None)),
        (date(2011, 10, 20), (date(2011, 10, 20), None)),
        ("29-2-11", (None, "invalid_date")),  # 2011 is no leap year
        ("30-2-05", (None, "invalid_date")),
        ("31-04-2020", (None, "invalid_date")),
        ("13-13-2020", (None, "invalid_date")),
        ("abc", (None, "invalid_date")),
        (datetime(2122, 3, 8), (None, "future_date")),
        ("20-05-2112", (None, "future_date")),
        ("", (None, None)),
        (None, (None, None)),
        (float("nan"), (None, None)),
    ],
)
def test_parse(raw: object, expected: tuple) -> None:
    day, reason = DateParser(today=TODAY).parse(raw)
    assert reason == expected[1]
    if reason != "future_date":
        assert day == expected[0]


def test_month_first_pivot_and_formats() -> None:
    assert DateParser(day_first=False, today=TODAY).parse("1-6-2019") == (date(2019, 1, 6), None)
    assert DateParser(pivot=10, today=TODAY).parse("1-1-15") == (date(1915, 1, 1), None)
    assert DateParser(formats=["%Y%m%d"], today=TODAY).parse("20190106") == (date(2019, 1, 6), None)
    assert DateParser(excel_serials=False, today=TODAY).parse(42405) == (None, "invalid_date")


def test_future_date_keeps_the_day() -> None:
    assert DateParser(today=TODAY).parse("2-1-2026") == (date(2026, 1, 2), "future_date")


def test_excel_serial() -> None:
    assert excel_serial_to_date(1) == date(1900, 1, 1)
    assert excel_serial_to_date(59) == date(1900, 2, 28)
    assert excel_serial_to_date(61) == date(1900, 3, 1)
    assert DateParser(today=TODAY).parse(60) == (None, "invalid_date")  # Excel's 1900-02-29
    assert excel_serial_to_date(44535) == date(2021, 12, 5)
