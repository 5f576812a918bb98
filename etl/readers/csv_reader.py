"""CSV reader: sniffs encoding and delimiter, handles quoted fields; values stay text.

Encoding: a BOM decides (UTF-8 / UTF-16); otherwise UTF-8 if the whole file decodes as UTF-8, else
Windows-1252 (``cp1252``, what Excel writes on Dutch Windows), or Latin-1 when bytes undefined in
cp1252 occur. Delimiter: ``;``, ``,``, tab or ``|``, whichever splits the first lines into the most
consistent number of fields. Number parsing (decimal comma etc.) is left to harmonisation.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from etl.errors import SourceError
from etl.records import Locator, RawRecord

DELIMITERS = (";", ",", "\t", "|")
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
_SNIFF_BYTES = 64 * 1024
csv.field_size_limit(1 << 24)


def sniff_encoding(path: str | Path) -> str:
    """``utf-8-sig``, ``utf-16``, ``utf-8``, ``cp1252`` or ``latin-1`` for the file at ``path``."""
    with open(path, "rb") as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        undefined = False
        is_utf8 = True
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            if is_utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
            if not is_utf8 and not undefined:
                undefined = any(b in _CP1252_UNDEFINED for b in chunk)
        if is_utf8:
            try:
                decoder.decode(b"", final=True)
                return "utf-8"
            except UnicodeDecodeError:
                pass
    return "latin-1" if undefined else "cp1252"


def sniff_delimiter(sample: str, quotechar: str = '"') -> str:
    """The delimiter among ``; , tab |`` that splits ``sample`` into the most consistent field counts."""
    lines = sample.splitlines()
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of a sample may be cut off
    text = "\n".join(lines[:200])
    best: tuple[float, int, int] = (0.0, 0, 0)
    choice = ";"
    for rank, delim in enumerate(DELIMITERS):
        counts = [len(r) for r in csv.reader(io.StringIO(text), delimiter=delim, quotechar=quotechar) if r]
        if not counts:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        score = (freq / len(counts), mode, -rank)
        if score > best:
            best, choice = score, delim
    return choice


def _header(cells: list[str]) -> list[str]:
    names: list[str] = []
    seen: Counter[str] = Counter()
    for i, cell in enumerate(cells, start=1):
        name = cell.strip() or f"column_{i}"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name}.{seen[name]}")
    return names


def read(
    path: str | Path,
    /,
    *,
    encoding: str | None = "auto",
    delimiter: str | None = "auto",
    header_row: int = 1,
    quotechar: str | None = '"',
) -> Iterator[RawRecord]:
    """Yield one RawRecord per data row; ``Locator.row`` is the file line where the row starts.

    While the generator runs, Python's cyclic garbage collector is paused (records hold no reference
    cycles; with it running, a million-row file takes twice as long); it is resumed when the
    generator is exhausted or closed.
    """
    path = Path(path)
    if not path.exists():
        raise SourceError(str(path), "file not found")
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield from _read(path, encoding, delimiter, header_row, quotechar)
    finally:
        if gc_was_enabled:
            gc.enable()


def _read(
    path: Path, encoding: str | None, delimiter: str | None, header_row: int, quotechar: str | None
) -> Iterator[RawRecord]:
    enc = sniff_encoding(path) if encoding in (None, "auto") else encoding
    quote = quotechar or '"'
    name = path.name
    try:
        with open(path, encoding=enc, newline="") as fh:
            if delimiter in (None, "auto"):
                delim = sniff_delimiter(fh.read(_SNIFF_BYTES), quote)
                fh.seek(0)
            else:
                delim = delimiter
            reader = csv.reader(fh, delimiter=delim, quotechar=quote)
            header: list[str] | None = None
            width = 0
            prev = 0
            for row in reader:
                start, prev = prev + 1, reader.line_num
                if header is None:
                    if start < header_row or not "".join(row).strip():
                        continue
                    header = _header(row)
                    width = len(header)
                    continue
                if len(row) != width:
                    if not "".join(row).strip():
                        continue  # blank line
                    if len(row) < width:
                        row = row + [""] * (width - len(row))
                    else:
                        extra = row[width:]
                        row = row[:width]
                        values = dict(zip(header, row, strict=True))
                        for i, cell in enumerate(extra, start=width + 1):
                            if cell.strip():
                                values[f"column_{i}"] = cell
                        yield RawRecord(Locator(name, row=start), values)
                        continue
                elif not any(row) or (not row[0].strip() and not "".join(row).strip()):
                    continue  # blank line
                # len(row) == width was checked above: no strict zip needed
                yield RawRecord(Locator(name, None, start), dict(zip(header, row, strict=False)))
    except UnicodeDecodeError as exc:
        raise SourceError(str(path), f"cannot decode as {enc}: {exc.reason} at byte {exc.start}") from exc
    except csv.Error as exc:
        raise SourceError(str(path), f"malformed CSV: {exc}") from exc


def inspect(path: str | Path) -> dict[str, Any]:
    """What the file holds: encoding, delimiter, header, number of data rows and the first rows."""
    path = Path(path)
    enc = sniff_encoding(path)
    with open(path, encoding=enc, newline="") as fh:
        delim = sniff_delimiter(fh.read(_SNIFF_BYTES))
    first: list[dict[str, Any]] = []
    n = 0
    header: list[str] = []
    for rec in read(path, encoding=enc, delimiter=delim):
        if not header:
            header = list(rec.values)
        if n < 3:
            first.append(rec.values)
        n += 1
    return {
        "format": "csv",
        "file": path.name,
        "encoding": enc,
        "delimiter": delim,
        "columns": header,
        "rows": n,
        "first_rows": first,
    }
