"""Printing report rows as a table (people), JSON or CSV (machines)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def emit(
    rows: Sequence[dict[str, Any]] | dict[str, Any],
    fmt: Format,
    *,
    title: str | None = None,
    columns: Sequence[str] | None = None,
) -> None:
    """Write ``rows`` to stdout in the chosen format. A dict is printed as one key/value table.

    ``columns``: the columns of a list of rows, so that an empty result still has its CSV header and
    table heading (default: the keys of the rows).
    """
    if fmt is Format.json:
        sys.stdout.write(json.dumps(rows, default=_plain, ensure_ascii=False, indent=2) + "\n")
        return
    items = [rows] if isinstance(rows, dict) else list(rows)
    if columns is None:
        columns = list(dict.fromkeys(k for r in items for k in r))
    if fmt is Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for r in items:
            writer.writerow({k: _plain(v) for k, v in r.items()})
        return
    console = Console(width=None if sys.stdout.isatty() else 200)
    if isinstance(rows, dict):
        table = Table(title=title, show_header=False)
        table.add_column("key", style="bold")
        table.add_column("value")
        for k, v in rows.items():
            table.add_row(escape(str(k)), "" if v is None else escape(str(_plain(v))))
    else:
        table = Table(title=title)
        for c in columns:
            table.add_column(escape(c))
        for r in items:
            table.add_row(*("" if r.get(c) is None else escape(str(_plain(r.get(c)))) for c in columns))
    console.print(table)
