"""CSV reader: the De Ronde Venen export and generated edge cases (encodings, delimiters, quoting)."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from etl.errors import SourceError
from etl.readers import csv_reader

DRV = "DRV_bodemonderzoeken_lood_export.csv"


def test_de_ronde_venen_export(export_file) -> None:
    path = export_file("de_ronde_venen", DRV)
    assert csv_reader.sniff_encoding(path) == "cp1252"
    records = list(csv_reader.read(path))
    assert len(records) == 668
    first = records[0]
    assert first.locator.file == DRV and first.locator.row == 2
    assert first.values["X-coördinaat"] == "119058,57"  # text stays text (decimal comma)
    assert first.values["Lood (Pb) [mg/kg ds]"] == "459"
    assert list(first.values)[:3] == ["Onderzoek", "Locatie", "Type"]
    quoted = records[27]  # file line 29: a quoted remark that contains the delimiter
    assert quoted.locator.row == 29
    assert quoted.values["Opmerking"] == "moestuin; geëgaliseerd"
    assert all(len(r.values) == 26 for r in records)


def test_inspect_de_ronde_venen(export_file) -> None:
    info = csv_reader.inspect(export_file("de_ronde_venen", DRV))
    assert info["encoding"] == "cp1252" and info["delimiter"] == ";"
    assert info["rows"] == 668 and len(info["columns"]) == 26


def _write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + "Locatie;Waarde\nB1;µg\n".encode())
    assert csv_reader.sniff_encoding(path) == "utf-8-sig"
    (rec,) = csv_reader.read(path)
    assert rec.values == {"Locatie": "B1", "Waarde": "µg"}  # no BOM in the first column name


def test_utf8_without_bom(tmp_path: Path) -> None:
    path = _write(tmp_path / "u.csv", "Locatie,Adres\nB1,Coördinaten 1\n", "utf-8")
    assert csv_reader.sniff_encoding(path) == "utf-8"
    assert next(csv_reader.read(path)).values["Adres"] == "Coördinaten 1"


def test_tab_delimited(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.txt", "Locatie\tX\tY\nB1\t1,5\t2\nB2\t3\t4\n", "utf-8")
    records = list(csv_reader.read(path))
    assert [r.values["X"] for r in records] == ["1,5", "3"]
    assert csv_reader.inspect(path)["delimiter"] == "\t"


def test_latin1_and_cp1252(tmp_path: Path) -> None:
    cp = _write(tmp_path / "cp.csv", "Locatie;Opmerking\nB1;één – ‘tuin’\n", "cp1252")
    assert csv_reader.sniff_encoding(cp) == "cp1252"
    assert next(csv_reader.read(cp)).values["Opmerking"] == "één – ‘tuin’"
    latin = tmp_path / "l1.csv"
    latin.write_bytes("Locatie;Opmerking\nB1;café\n".encode("latin-1") + b"B2;x\x81y\n")
    assert csv_reader.sniff_encoding(latin) == "latin-1"  # 0x81 is undefined in cp1252
    assert [r.values["Opmerking"] for r in csv_reader.read(latin)] == ["café", "x\x81y"]


def test_quoted_fields_with_delimiters_and_newlines(tmp_path: Path) -> None:
    text = 'Locatie,Opmerking,Waarde\nB1,"a, b",1\nB2,"line 1\nline 2",2\nB3,"say ""hi""",3\n'
    path = _write(tmp_path / "q.csv", text, "utf-8")
    records = list(csv_reader.read(path))
    assert [r.values["Opmerking"] for r in records] == ["a, b", "line 1\nline 2", 'say "hi"']
    assert [r.locator.row for r in records] == [2, 3, 5]  # the line where each record starts


def test_title_rows_above_header_and_blank_lines(tmp_path: Path) -> None:
    text = "Export bodemdata;;\nGemeente X;;\nLocatie;Monster;Lood\nB1;M1;10\n\n;;\nB2;M2;<5\n"
    path = _write(tmp_path / "title.csv", text, "utf-8")
    records = list(csv_reader.read(path, header_row=3))
    assert [r.values for r in records] == [
        {"Locatie": "B1", "Monster": "M1", "Lood": "10"},
        {"Locatie": "B2", "Monster": "M2", "Lood": "<5"},
    ]
    assert [r.locator.row for r in records] == [4, 7]


def test_short_and_long_rows_and_duplicate_headers(tmp_path: Path) -> None:
    path = _write(tmp_path / "ragged.csv", "A;B;A\n1;2\n1;2;3;4\n", "utf-8")
    first, second = csv_reader.read(path)
    assert first.values == {"A": "1", "B": "2", "A.2": ""}
    assert second.values == {"A": "1", "B": "2", "A.2": "3", "column_4": "4"}


def test_explicit_options_override_sniffing(tmp_path: Path) -> None:
    path = _write(tmp_path / "pipe.csv", "a|b\n1|2\n", "utf-8")
    assert next(csv_reader.read(path, delimiter="|", encoding="utf-8")).values == {"a": "1", "b": "2"}


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        list(csv_reader.read(tmp_path / "nope.csv"))


def test_wrong_encoding_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a;b\n\xff\xfe;1\n")
    with pytest.raises(SourceError, match="cannot decode"):
        list(csv_reader.read(path, encoding="utf-8"))


def test_gc_is_restored(tmp_path: Path) -> None:
    import gc

    path = _write(tmp_path / "g.csv", "a;b\n1;2\n3;4\n", "utf-8")
    gen = csv_reader.read(path)
    next(gen)
    gen.close()
    assert gc.isenabled()


def test_locator_text_names_file_sheet_row_line_and_path() -> None:
    from etl.records import Locator

    assert str(Locator("a.csv", row=17)) == "a.csv, row 17"
    assert str(Locator("a.xlsx", sheet="Analyses", row=3)) == "a.xlsx, sheet/layer 'Analyses', row 3"
    assert str(Locator("b.gef", line=12)) == "b.gef, line 12"
    assert str(Locator("c.xml", xpath="/a/b[2]")) == "c.xml, /a/b[2]"
    assert str(Locator("d.csv")) == "d.csv"
