"""Malformed inputs, generated from real samples: each gives ONE clear error naming file and place,
and in a multi-object file a bad object does not stop the others."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from etl.errors import RecordError, SourceError
from etl.readers.bro_borehole import iter_boreholes
from etl.readers.bro_cpt import iter_cpts
from etl.readers.bro_detect import read_bro
from etl.readers.gef import iter_gef, read_gef

CPT_XML = ("bro_cpt", "geolibplus__CPT000000003688_IMBRO_A_new_version.xml")
CPT_GEF = ("gef_cpt", "geolibplus__CPT000000003688_IMBRO_A.gef")


def three_cpts(text: str, change_second=lambda block: block) -> str:  # noqa: ANN001
    """The dispatch with its one dispatchDocument repeated three times (ids 1..3), the 2nd one changed."""
    start, end = (
        text.index("<dispatchDocument>"),
        text.index("</dispatchDocument>") + len("</dispatchDocument>"),
    )
    block = text[start:end]
    docs = [block.replace("CPT000000003688", f"CPT{n:012d}") for n in (1, 2, 3)]
    docs[1] = change_second(docs[1])
    return text[:start] + "".join(docs) + text[end:]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def cpt_text(sample) -> str:  # noqa: ANN001
    return sample(*CPT_XML).read_text(encoding="utf-8")


def test_truncated_xml_names_the_line_after_yielding_what_came_before(cpt_text: str, tmp_path: Path) -> None:
    full = three_cpts(cpt_text)
    cut = full[: full.index("CPT000000000003") + 2000]
    path = write(tmp_path, "truncated.xml", cut)
    items = []
    with pytest.raises(SourceError) as info:
        for item in iter_cpts(path):
            items.append(item)
    assert [item.bro_id for item in items] == ["CPT000000000001", "CPT000000000002"]
    error = info.value
    assert "truncated" in str(error) and str(path) in str(error)
    assert error.where == f"line {cut.count(chr(10)) + 1}"


def test_truncated_header_only(cpt_text: str, tmp_path: Path) -> None:
    path = write(tmp_path, "cut.xml", cpt_text[:300])
    with pytest.raises(SourceError, match="malformed or truncated XML") as info:
        list(read_bro(path))
    assert info.value.where and info.value.where.startswith("line ")


def test_changed_root(cpt_text: str, tmp_path: Path) -> None:
    path = write(tmp_path, "root.xml", cpt_text.replace("dispatchDataResponse", "verzendBericht"))
    with pytest.raises(SourceError, match="unknown root element.*verzendBericht") as info:
        list(iter_cpts(path))
    assert str(path) in str(info.value)


def test_missing_coordinates_in_one_object_of_three(cpt_text: str, tmp_path: Path) -> None:
    def drop_positions(block: str) -> str:
        return re.sub(r"<gml:pos>[^<]*</gml:pos>", "", block)

    path = write(tmp_path, "nopos.xml", three_cpts(cpt_text, drop_positions))
    items = list(iter_cpts(path))
    assert [type(item).__name__ for item in items] == ["BroObject", "RecordError", "BroObject"]
    error = items[1]
    assert error.reason == "missing_coordinates" and error.field == "location"
    assert error.locator.xpath == "/dispatchDataResponse/dispatchDocument[2]/CPT_O/deliveredLocation"
    assert "CPT000000000002" in str(error) and str(path) in str(error)
    assert [items[0].bro_id, items[2].bro_id] == ["CPT000000000001", "CPT000000000003"]


def test_non_numeric_value_names_the_row(cpt_text: str, tmp_path: Path) -> None:
    def corrupt_row_3(block: str) -> str:
        values_start = block.index("values>") + len("values>")
        rows = block[values_start:].split(";", 3)
        rows[2] = "abc," + rows[2].split(",", 1)[1]
        return block[:values_start] + ";".join(rows)

    path = write(tmp_path, "nonnumeric.xml", three_cpts(cpt_text, corrupt_row_3))
    items = list(iter_cpts(path))
    assert [type(item).__name__ for item in items] == ["BroObject", "RecordError", "BroObject"]
    error = items[1]
    assert error.reason == "non_numeric_value" and error.locator.row == 3
    assert error.locator.xpath.endswith(
        "/dispatchDocument[2]/CPT_O/conePenetrometerSurvey/conePenetrationTest/cptResult/values"
    )
    assert "'abc'" in str(error) and "CPT000000000002" in str(error)


def test_ragged_values_row(cpt_text: str, tmp_path: Path) -> None:
    def drop_value_in_row_2(block: str) -> str:
        values_start = block.index("values>") + len("values>")
        rows = block[values_start:].split(";", 2)
        rows[1] = rows[1].split(",", 1)[1]
        return block[:values_start] + ";".join(rows)

    path = write(tmp_path, "ragged.xml", three_cpts(cpt_text, drop_value_in_row_2))
    error = list(iter_cpts(path))[1]
    assert isinstance(error, RecordError)
    assert error.reason == "wrong_column_count" and error.locator.row == 2
    assert "24 values" in str(error) and "25" in str(error)


def test_borehole_without_location(sample, tmp_path: Path) -> None:  # noqa: ANN001
    text = sample("bro_bhrgt", "bedrock__BHR000000347577.xml").read_text(encoding="utf-8")
    path = write(tmp_path, "bhr.xml", re.sub(r"<gml:pos>[^<]*</gml:pos>", "", text))
    [error] = list(iter_boreholes(path))
    assert isinstance(error, RecordError) and error.reason == "missing_coordinates"
    assert "BHR000000347577" in str(error)


def test_entities_are_not_resolved(cpt_text: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    declaration_end = cpt_text.index("?>") + 2
    doctype = f'<!DOCTYPE dispatchDataResponse [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
    text = cpt_text[:declaration_end] + doctype + cpt_text[declaration_end:]
    text = text.replace("<brocom:requestReference>-<", "<brocom:requestReference>&xxe;<")
    path = write(tmp_path, "xxe.xml", text)
    [cpt] = list(iter_cpts(path))
    assert "TOP-SECRET" not in repr(cpt.attributes)
    assert cpt.bro_id == "CPT000000003688"


# --- GEF ------------------------------------------------------------------------------------------


@pytest.fixture
def gef_lines(sample) -> list[str]:  # noqa: ANN001
    return sample(*CPT_GEF).read_text(encoding="utf-8").splitlines()


def first_data_line(lines: list[str]) -> int:
    """0-based index of the first data line."""
    return max(i for i, line in enumerate(lines) if line.startswith("#EOH")) + 1


def test_gef_data_line_with_a_missing_value(gef_lines: list[str], tmp_path: Path) -> None:
    n = first_data_line(gef_lines) + 9
    gef_lines[n] = gef_lines[n].split(";", 1)[1]  # drop the first value
    path = write(tmp_path, "short.gef", "\n".join(gef_lines))
    [error] = list(iter_gef(path))
    assert isinstance(error, RecordError) and error.reason == "wrong_column_count"
    assert error.locator.line == n + 1 and f"line {n + 1}" in str(error) and str(path) in str(error)
    assert "#COLUMN= 7" in str(error)


def test_gef_data_line_with_an_extra_value(gef_lines: list[str], tmp_path: Path) -> None:
    n = first_data_line(gef_lines) + 4
    gef_lines[n] = "1.5;" + gef_lines[n]
    with pytest.raises(RecordError, match=f"line {n + 1}"):
        read_gef(write(tmp_path, "long.gef", "\n".join(gef_lines)))


def test_gef_non_numeric_value(gef_lines: list[str], tmp_path: Path) -> None:
    n = first_data_line(gef_lines) + 2
    gef_lines[n] = gef_lines[n].replace(";", ";x", 1)
    with pytest.raises(RecordError) as info:
        read_gef(write(tmp_path, "text.gef", "\n".join(gef_lines)))
    assert info.value.reason == "non_numeric_value" and info.value.locator.line == n + 1


def test_gef_without_end_of_header(gef_lines: list[str], tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "noeoh.gef",
        "\n".join(line for line in gef_lines if line.startswith("#") and "EOH" not in line),
    )
    with pytest.raises(SourceError, match="no '#EOH=' "):
        read_gef(path)


def test_gef_garbage_in_header(gef_lines: list[str], tmp_path: Path) -> None:
    gef_lines.insert(5, "dit hoort hier niet")
    with pytest.raises(SourceError) as info:
        read_gef(write(tmp_path, "garbage.gef", "\n".join(gef_lines)))
    assert info.value.where == "line 6" and "dit hoort hier niet" in str(info.value)


def test_gef_without_xyid(gef_lines: list[str], tmp_path: Path) -> None:
    path = write(tmp_path, "noxy.gef", "\n".join(line for line in gef_lines if not line.startswith("#XYID")))
    with pytest.raises(RecordError) as info:
        read_gef(path)
    assert info.value.reason == "missing_coordinates" and "CPT000000003688" in str(info.value)


def test_cpt_reader_on_a_file_without_cpts(sample) -> None:  # noqa: ANN001
    with pytest.raises(SourceError, match="no CPT object found.*objects found: GMW"):
        list(iter_cpts(sample("bro_gmw", "brodata__GMW000000036287.xml")))


def test_unknown_crs_is_a_record_error(cpt_text: str, tmp_path: Path) -> None:
    text = cpt_text.replace("EPSG::28992", "EPSG::999999").replace("EPSG::4258", "EPSG::999998")
    [error] = list(iter_cpts(write(tmp_path, "crs.xml", text)))
    assert isinstance(error, RecordError) and error.reason == "invalid_coordinates"


def test_unknown_root_after_a_comment_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "c.xml", '<?xml version="1.0"?>\n<!-- licence -->\n<!-- more -->\n<foo/>')
    with pytest.raises(SourceError) as info:
        list(read_bro(path))
    assert info.value.where == "line 4"
