"""XLSX reader: the Houten export and generated workbooks (title rows, merged headers, joins)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from etl.errors import SourceError
from etl.readers import xlsx_reader

HOUTEN = "Houten_analyseresultaten_grond.xlsx"
JOIN = {"sheet": "Coördinaten", "on": "Boring"}


def test_houten_two_row_merged_header(export_file) -> None:
    path = export_file("houten", HOUTEN)
    records = list(xlsx_reader.read(path, sheet="Analyseresultaten", header_rows=[4, 5]))
    assert len(records) == 3421
    first = records[0]
    assert (first.locator.sheet, first.locator.row) == ("Analyseresultaten", 6)
    assert list(first.values) == [
        "Onderzoek",
        "Boring",
        "Monster",
        "Traject (m-mv) van",
        "Traject (m-mv) tot",
        "Datum",
        "Analyse Parameter",
        "Analyse <",
        "Analyse Waarde",
        "Analyse Eenheid",
    ]
    assert first.values["Datum"] == datetime(2011, 10, 20)  # native cell types are kept
    assert first.values["Analyse Waarde"] == 37.2
    assert first.values["Analyse Eenheid"] == "% ds"
    kinds = {type(r.values["Datum"]).__name__ for r in records}
    assert kinds == {"datetime", "int", "str"}  # date cells, Excel serials and d-m-yy text


def test_houten_header_rows_are_detected(export_file) -> None:
    path = export_file("houten", HOUTEN)
    detected = next(xlsx_reader.read(path, sheet="Analyseresultaten"))
    assert detected.locator.row == 6 and "Traject (m-mv) tot" in detected.values


def test_houten_join_on_boring(export_file) -> None:
    path = export_file("houten", HOUTEN)
    records = list(xlsx_reader.read(path, sheet="Analyseresultaten", header_rows=[4, 5], join=JOIN))
    first = records[0]
    assert first.values["Coördinaten.X"] == 141163.1 and first.values["Coördinaten.Y"] == 445843.2
    assert first.values["X"] == 141163.1  # also unprefixed when the name is free
    assert first.values["Onderzoek"] == "2011/0001"  # the main sheet's column is not overwritten
    missing = [r for r in records if r.values["Boring"] == "H0008-B01"]
    assert missing and all(r.values["Coördinaten.X"] is None for r in missing)  # not on the sheet


def test_inspect_houten(export_file) -> None:
    info = xlsx_reader.inspect(export_file("houten", HOUTEN))
    sheets = {s["sheet"]: s for s in info["sheets"]}
    assert sheets["Analyseresultaten"]["header_rows"] == [4, 5]
    assert sheets["Analyseresultaten"]["data_rows"] == 3421
    assert sheets["Coördinaten"]["columns"] == ["Boring", "X", "Y", "Onderzoek", "Omschrijving"]


def _workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws["A1"] = "Gemeente Voorbeeld - bodemdata"
    ws["A2"] = "Exportdatum: 1-1-2024"
    ws.append([])  # row 3 empty
    ws.append(["Boring", "Diepte (m)", None, "Datum", "Lood"])  # row 4
    ws.append([None, "van", "tot", None, None])  # row 5
    ws.merge_cells("A4:A5")
    ws.merge_cells("B4:C4")
    ws.merge_cells("D4:D5")
    ws.merge_cells("E4:E5")
    ws.append(["B1", 0, 0.5, datetime(2020, 5, 1), 12.5])  # row 6
    ws.append([None, None, None, None, None])  # row 7 blank
    ws.append(["Deelgebied noord"])  # row 8 banner
    ws.merge_cells("A8:E8")
    ws.append(["B2", 0.5, 1, 43000, "<5"])  # row 9
    coords = wb.create_sheet("Coördinaten")
    coords.append(["Boring", "X", "Y"])
    coords.append(["B1", 140000.5, 450000.25])
    wb.save(path)
    return path


def test_title_rows_merged_header_blank_and_banner_rows(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "w.xlsx")
    records = list(xlsx_reader.read(path, sheet="Data"))  # header rows detected: 4-5
    assert [r.locator.row for r in records] == [6, 9]
    assert list(records[0].values) == ["Boring", "Diepte (m) van", "Diepte (m) tot", "Datum", "Lood"]
    assert records[0].values["Datum"] == datetime(2020, 5, 1)
    assert records[1].values == {
        "Boring": "B2",
        "Diepte (m) van": 0.5,
        "Diepte (m) tot": 1,
        "Datum": 43000,
        "Lood": "<5",
    }


def test_join_and_sheet_name_matching(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "w.xlsx")
    records = list(
        xlsx_reader.read(
            path, sheet="data", header_rows=[4, 5], join={"sheet": "coördinaten", "on": "Boring"}
        )
    )
    assert records[0].values["Coördinaten.X"] == 140000.5
    assert records[1].values["Coördinaten.X"] is None


def test_single_header_row_and_first_data_row(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "w.xlsx")
    records = list(xlsx_reader.read(path, sheet="Coördinaten", header_rows=1, first_data_row=2))
    assert [r.values["Boring"] for r in records] == ["B1"]


def test_errors(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "w.xlsx")
    with pytest.raises(SourceError, match="sheet 'Nope' not found; sheets: Data, Coördinaten"):
        list(xlsx_reader.read(path, sheet="Nope"))
    with pytest.raises(SourceError, match="join key column 'Locatie' not found"):
        list(xlsx_reader.read(path, sheet="Data", join={"sheet": "Coördinaten", "on": "Locatie"}))
    not_xlsx = tmp_path / "x.xlsx"
    not_xlsx.write_text("not a workbook")
    with pytest.raises(SourceError, match="cannot open as XLSX"):
        list(xlsx_reader.read(not_xlsx))
