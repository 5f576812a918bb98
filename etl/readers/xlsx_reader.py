"""XLSX reader: a chosen sheet, header rows below title rows, merged header cells, an optional join.

- ``header_rows``: one row number or a list (``[4, 5]``); the default finds the first row that looks
  like a header (two or more filled cells) and extends it over rows that its vertically merged cells
  span. A two-row header with merged cells becomes names such as ``Traject (m-mv) van``.
- Blank rows and merged banner rows (one merged cell across the table) are skipped.
- Cell values keep their native types (datetime, int, float, str).
- ``join={"sheet": ..., "on": key}`` (or ``left_on``/``right_on``) looks every row up in a second
  sheet by key; its columns are added as ``"<sheet>.<column>"`` and, when the name is not taken, as
  ``"<column>"`` too. A row whose key is not in that sheet gets None for those columns.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

from etl.errors import SourceError
from etl.records import Locator, RawRecord


def _open(path: Path) -> openpyxl.Workbook:
    if not path.exists():
        raise SourceError(str(path), "file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about unknown extensions / styles
            return openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # zip / xml errors of a broken workbook
        raise SourceError(str(path), f"cannot open as XLSX: {exc}") from exc


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


def _sheet(wb: openpyxl.Workbook, name: str | None, path: Path) -> Worksheet:
    if name is None:
        return wb.worksheets[0]
    if name in wb.sheetnames:
        return wb[name]
    for title in wb.sheetnames:
        if _fold(title) == _fold(name):
            return wb[title]
    raise SourceError(str(path), f"sheet {name!r} not found; sheets: {', '.join(wb.sheetnames)}")


def _filled(values: Sequence[Any]) -> int:
    return sum(1 for v in values if v is not None and str(v).strip() != "")


def _merged_lookup(ws: Worksheet) -> dict[tuple[int, int], Any]:
    """(row, col) of every cell inside a merged range -> the range's top-left value."""
    lookup: dict[tuple[int, int], Any] = {}
    for rng in ws.merged_cells.ranges:
        value = ws.cell(rng.min_row, rng.min_col).value
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                lookup[(r, c)] = value
    return lookup


# a cell of a units row under the header ("mg/kg ds", "m RD", "cm-mv", "(%)", "-")
_UNIT_CELL = re.compile(
    r"^[\[(]?\s*(mg/kg|µg/kg|ug/kg|mg/l|µg/l|ug/l|%|ppm|m|cm|mm)?\s*(ds|d\.s\.|droge stof)?\s*"
    r"(-?\s*mv|-?\s*m\.v\.|rd|nap)?\s*[\])]?$|^-$",
    re.IGNORECASE,
)


def is_unit_text(text: str) -> bool:
    """Whether ``text`` is a unit as exports write it under or after a column name."""
    return bool(text.strip()) and _UNIT_CELL.match(text.strip()) is not None


def _units_row(row: Sequence[Any]) -> bool:
    """A row of unit strings only (two or more), as lab exports put under their column names."""
    cells = [str(v).strip() for v in row if v is not None and str(v).strip() != ""]
    return (
        len(cells) >= 2
        and all(isinstance(v, str) or v is None for v in row)
        and all(map(is_unit_text, cells))
    )


def detect_header_rows(ws: Worksheet) -> list[int]:
    """The first row with two or more filled cells, extended over the rows its merged cells span and
    over a row of units right under it (``Lood`` over ``mg/kg ds`` becomes ``Lood mg/kg ds``)."""
    for r, row in enumerate(ws.iter_rows(min_row=1, max_row=min(ws.max_row, 50), values_only=True), start=1):
        if _filled(row) >= 2:
            last = r
            for rng in ws.merged_cells.ranges:
                if rng.min_row == r and rng.max_row > last:
                    last = rng.max_row
            below = next(ws.iter_rows(min_row=last + 1, max_row=last + 1, values_only=True), ())
            if _units_row(below):
                last += 1
            return list(range(r, last + 1))
    return [1]


def header_names(ws: Worksheet, rows: Sequence[int]) -> list[str]:
    """Column names from one or more header rows; merged cells repeat their text over their span."""
    merged = _merged_lookup(ws)
    width = ws.max_column
    names: list[str] = []
    seen: Counter[str] = Counter()
    for c in range(1, width + 1):
        parts: list[str] = []
        for r in rows:
            value = merged[(r, c)] if (r, c) in merged else ws.cell(r, c).value
            text = "" if value is None else str(value).strip()
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        name = " ".join(parts) or f"column_{c}"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name}.{seen[name]}")
    while names and names[-1].startswith("column_"):  # trailing unnamed (usually empty) columns
        names.pop()
    return names


def _banner_rows(ws: Worksheet, first: int, width: int) -> set[int]:
    rows: set[int] = set()
    for rng in ws.merged_cells.ranges:
        if rng.max_row >= first and rng.max_col - rng.min_col + 1 >= max(2, (width + 1) // 2):
            rows.update(range(rng.min_row, rng.max_row + 1))
    return rows


def _key(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _join_index(wb: openpyxl.Workbook, spec: dict[str, Any], path: Path) -> tuple[str, list[str], dict]:
    ws = _sheet(wb, spec["sheet"], path)
    header_row = int(spec.get("header_row") or 1)
    names = header_names(ws, [header_row])
    key_col = spec.get("right_on") or spec.get("on")
    if key_col not in names:
        raise SourceError(str(path), f"join key column {key_col!r} not found", where=f"sheet {ws.title!r}")
    index: dict[str, dict[str, Any]] = {}
    for row in ws.iter_rows(min_row=header_row + 1, values_only=True):
        if not _filled(row):
            continue
        values = dict(zip(names, row, strict=False))
        k = _key(values.get(key_col))
        if k is not None and k not in index:
            index[k] = values
    return ws.title, names, index


def read(
    path: str | Path,
    /,
    *,
    sheet: str | None = None,
    header_rows: int | Sequence[int] | None = None,
    first_data_row: int | None = None,
    join: dict[str, Any] | None = None,
) -> Iterator[RawRecord]:
    """Yield one RawRecord per data row of ``sheet``; ``Locator.row`` is the Excel row number."""
    path = Path(path)
    wb = _open(path)
    ws = _sheet(wb, sheet, path)
    if header_rows is None:
        rows = detect_header_rows(ws)
    elif isinstance(header_rows, int):
        rows = [header_rows]
    else:
        rows = list(header_rows)
    names = header_names(ws, rows)
    if not names:
        raise SourceError(str(path), "no header found", where=f"sheet {ws.title!r}")
    width = len(names)
    first = first_data_row or (max(rows) + 1)
    banners = _banner_rows(ws, first, width)

    joined: tuple[str, list[str], dict] | None = None
    left_key = None
    if join:
        joined = _join_index(wb, join, path)
        left_key = join.get("left_on") or join.get("on")
        if left_key not in names:
            raise SourceError(
                str(path), f"join key column {left_key!r} not found", where=f"sheet {ws.title!r}"
            )

    file_name = path.name
    title = ws.title
    for r, row in enumerate(ws.iter_rows(min_row=first, max_col=width, values_only=True), start=first):
        if r in banners or not _filled(row):
            continue
        values = dict(zip(names, row, strict=False))
        if joined is not None:
            jsheet, jnames, index = joined
            match = index.get(_key(values.get(left_key)))  # type: ignore[arg-type]
            for col in jnames:
                v = match.get(col) if match else None
                values[f"{jsheet}.{col}"] = v
                if col not in values:
                    values[col] = v
        yield RawRecord(Locator(file_name, sheet=title, row=r), values)


def inspect(path: str | Path) -> dict[str, Any]:
    """Sheets with their size, merged ranges, detected header rows, column names and first rows."""
    path = Path(path)
    wb = _open(path)
    sheets = []
    for ws in wb.worksheets:
        rows = detect_header_rows(ws)
        names = header_names(ws, rows)
        first = [
            list(r) for r in ws.iter_rows(min_row=1, max_row=min(ws.max_row, max(rows) + 3), values_only=True)
        ]
        sheets.append(
            {
                "sheet": ws.title,
                "max_row": ws.max_row,
                "max_column": ws.max_column,
                "merged": [str(m) for m in ws.merged_cells.ranges],
                "header_rows": rows,
                "columns": names,
                "data_rows": sum(
                    1 for row in ws.iter_rows(min_row=max(rows) + 1, values_only=True) if _filled(row)
                ),
                "first_rows": first,
            }
        )
    return {"format": "xlsx", "file": path.name, "sheets": sheets}
