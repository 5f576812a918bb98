"""GEF reader: every sample parses (or gives its one clear error); concrete values; GEF vs IMBRO-XML."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from etl.errors import RecordError, SourceError
from etl.readers.bro_cpt import read_cpts
from etl.readers.gef import CPT_QUANTITIES, iter_gef, nen5104_admixtures, read_gef
from etl.records import BroObject

SAMPLE_DIRS = ("gef_cpt", "gef_bore", "gef_dis")
# Broken on purpose upstream (SOURCES.md): the one error each must give.
BROKEN = {
    "geolibplus__Exception_NoCoord.gef": (RecordError, "missing_coordinates"),
    "geost__CPT10.gef": (SourceError, "malformed GEF header"),
}


def test_every_sample_parses_or_fails_clearly(sample_file: Path) -> None:
    expected = BROKEN.get(sample_file.name)
    if expected is not None:
        error_type, text = expected
        with pytest.raises(error_type) as info:
            read_gef(sample_file)
        assert text in (getattr(info.value, "reason", "") + str(info.value))
        assert "line" in str(info.value) and sample_file.name in str(info.value)
        return
    obj = read_gef(sample_file)
    assert obj.source_format == "GEF"
    kind = sample_file.parent.name
    if kind == "gef_bore":
        assert obj.object_type == "BHR-GT" and obj.layers
    elif kind == "gef_dis":
        assert obj.object_type == "CPT" and len(obj.cpt.dissipation_tests) == 1
    else:
        assert obj.object_type == "CPT" and obj.cpt.n_rows > 0
        assert set(obj.cpt.columns) <= set(CPT_QUANTITIES.values())
        assert "penetration_length" in obj.cpt.columns
    assert "file_owner" not in obj.attributes


def test_gef_3688_exported_by_bro(sample) -> None:  # noqa: ANN001
    cpt = read_gef(sample("gef_cpt", "geolibplus__CPT000000003688_IMBRO_A.gef"))
    assert cpt.bro_id == "CPT000000003688"  # from #TESTID
    assert (cpt.x, cpt.y, cpt.source_crs) == (91931.0, 438294.0, "EPSG:28992")  # #XYID code 28992
    assert (cpt.vertical_datum, cpt.offset) == ("NAP", -1.75)
    assert cpt.quality_regime == "IMBRO/A" and cpt.research_report_date == date(2004, 6, 14)
    assert cpt.delivery_accountable_party == "52766179"
    assert cpt.final_depth == 24.56 and cpt.attributes["predrilled_depth"] == 0.0
    assert cpt.attributes["cone_penetrometer_type"] == "F7.5CKE/V-1214"
    assert cpt.cpt.n_rows == 1229 == cpt.attributes["lastscan"]
    columns = cpt.cpt.columns
    assert columns["cone_resistance"][0] == 0.196 and columns["cone_resistance"][-1] == 20.404
    assert columns["local_friction"][0] is None  # '9.999' is that column's #COLUMNVOID


def test_3688_gef_and_imbro_xml_agree(sample) -> None:  # noqa: ANN001
    [xml] = read_cpts(sample("bro_cpt", "geolibplus__CPT000000003688_IMBRO_A.xml"))
    gef = read_gef(sample("gef_cpt", "geolibplus__CPT000000003688_IMBRO_A.gef"))
    assert xml.bro_id == gef.bro_id
    assert abs(xml.x - gef.x) < 0.01 and abs(xml.y - gef.y) < 0.01
    x_depth, g_depth = xml.cpt.columns["penetration_length"], gef.cpt.columns["penetration_length"]
    assert (min(x_depth), max(x_depth)) == pytest.approx((min(g_depth), max(g_depth)), abs=0.0005)
    x_qc, g_qc = xml.cpt.columns["cone_resistance"], gef.cpt.columns["cone_resistance"]
    assert x_qc[0] == pytest.approx(g_qc[0], abs=0.0005) and x_qc[-1] == pytest.approx(g_qc[-1], abs=0.0005)
    assert xml.final_depth == gef.final_depth and xml.offset == gef.offset
    assert xml.cpt.columns == gef.cpt.columns  # every value, void for void


def test_tno_converter_pair_agrees(sample) -> None:  # noqa: ANN001
    """The TNO GEF->IMBRO converter's input GEF (UTF-8 BOM, ':' separator, 25 columns) and its output XML."""
    gef = read_gef(sample("gef_cpt", "cptgefconverter__12_registration-IMBRO-completion-CPT.GEF"))
    [xml] = read_cpts(sample("bro_cpt", "cptgefconverter__12_registration-IMBRO-completion-CPT.xml"))
    assert (gef.x, gef.y) == (xml.x, xml.y) == (155000.543, 463000.22)
    assert gef.cpt.n_rows == xml.cpt.n_rows == 586 and len(gef.cpt.columns) == 25
    assert gef.final_depth == xml.final_depth == 12.0 and gef.attributes["predrilled_depth"] == 0.3
    for name in ("penetration_length", "cone_resistance", "pore_pressure_u2", "temperature"):
        assert gef.cpt.columns[name][0] == xml.cpt.columns[name][0]
        assert gef.cpt.columns[name][-1] == xml.cpt.columns[name][-1]


def test_pygef_cpt_latin1_record_separator(sample) -> None:  # noqa: ANN001
    cpt = read_gef(sample("gef_cpt", "pygef__cpt.gef"))
    assert cpt.bro_id is None and cpt.attributes["test_id"] == "CPTU17.8 + 83BITE"
    assert (cpt.x, cpt.y, cpt.offset) == (79578.38, 424838.97, -0.09)
    assert cpt.cpt.n_rows == 1004 and cpt.final_depth == 20.0
    columns = cpt.cpt.columns
    assert columns["cone_resistance"][:2] == [None, 0.013]  # -999999 void in the first row
    assert columns["pore_pressure_u2"][1] == 0.0 and columns["inclination_ns"][1] == -0.934
    assert columns["penetration_length"][-1] == 20.05 and columns["cone_resistance"][-1] == 14.766
    assert (
        cpt.attributes["measurement_var"][3]["description"]
        == "netto oppervlakte coëfficiënt van de conuspunt"
    )


def test_pygef_cpt4_compact_header(sample) -> None:  # noqa: ANN001
    cpt = read_gef(sample("gef_cpt", "pygef__cpt4.gef"))
    assert (cpt.x, cpt.y, cpt.offset) == (114918.95, 472853.34, -4.25)
    assert cpt.cpt.n_rows == 2021
    assert cpt.cpt.columns["local_friction"][0] == 0.000553334


def test_pre_excavated_minimal_file(sample) -> None:  # noqa: ANN001
    cpt = read_gef(sample("gef_cpt", "pygef__cpt_pre_excavated.gef"))
    assert cpt.cpt.columns == {"penetration_length": [0.5, 2.0], "cone_resistance": [10.0, 15.0]}
    assert cpt.attributes["lastscan"] is None and cpt.final_depth == 2.0


def test_no_coordinates_code_zero_parses_with_note(sample) -> None:  # noqa: ANN001
    cpt = read_gef(sample("gef_cpt", "geolibplus__KW19-3.gef"))
    assert (cpt.x, cpt.y, cpt.source_crs) == (None, None, None)
    assert "no coordinates" in cpt.attributes["location_note"]
    assert cpt.offset == 7.26 and cpt.cpt.n_rows == 610
    assert cpt.cpt.columns["cone_resistance"][0] == 0.09 and cpt.cpt.columns["local_friction"][0] is None
    assert cpt.final_depth == 34.98  # '#MEASUREMENTVAR= 16, 0.000000' is not a final depth


def test_lankelma_colon_separator(sample) -> None:  # noqa: ANN001
    cpt = read_gef(sample("gef_cpt", "amsterdam__2323535_BR03.GEF"))
    assert (cpt.x, cpt.y, cpt.offset) == (125648.01, 479696.71, -2.05)
    assert cpt.research_report_date == date(2023, 9, 19) and cpt.quality_regime == "IMBRO"
    assert cpt.cpt.n_rows == 1701 and cpt.final_depth == 33.819695
    assert cpt.cpt.columns["cone_resistance"][0] is None and cpt.cpt.columns["cone_resistance"][-1] == 20.191


def test_belgian_lambert_is_transformed(sample) -> None:  # noqa: ANN001
    from pyproj import Transformer

    cpt = read_gef(sample("gef_cpt", "groundhog__gef_real_example.gef"))
    assert cpt.source_crs == "EPSG:31370" and (cpt.source_x, cpt.source_y) == (122922.0, 191683.0)
    expected = Transformer.from_crs("EPSG:31370", "EPSG:28992", always_xy=True).transform(122922.0, 191683.0)
    assert (cpt.x, cpt.y) == pytest.approx(expected, abs=0.01)
    assert (cpt.vertical_datum, cpt.offset) == ("TAW", 4.8)
    assert cpt.cpt.n_rows == 74 and list(cpt.cpt.columns) == ["penetration_length", "cone_resistance"]
    # column 3 (quantity 128, 'totaalweerstand', kN) is void throughout, so it is described but not kept
    assert cpt.attributes["columns"][2]["quantity"] == 128 and cpt.attributes["columns"][2]["unit"] == "kN"


def test_example_whitespace_scientific(sample) -> None:  # noqa: ANN001
    cpt = read_gef(sample("gef_cpt", "pygef__example.gef"))
    assert (cpt.x, cpt.y) == (136079.0, 456137.0)
    assert cpt.cpt.n_rows == 1484 and cpt.attributes["lastscan"] == 1526
    assert cpt.cpt.columns["cone_resistance"][0] is None and cpt.cpt.columns["cone_resistance"][-1] == 16.46


def test_dissipation_file(sample) -> None:  # noqa: ANN001
    diss = read_gef(sample("gef_dis", "cptgefconverter__20151020vbDIS1.GEF"))
    assert diss.attributes["gef_report"] == "GEF-DISS-Report"
    assert diss.cpt.columns == {}
    [test] = diss.cpt.dissipation_tests
    assert test["penetration_length"] == 5.99 and test["n_rows"] == 96
    assert test["columns"]["elapsed_time"][0] == 11.9 and test["columns"]["cone_resistance"][0] == 43.599
    assert test["phenomenon_time"] == "2015-08-23T10:06:41"


def test_bore_example(sample) -> None:  # noqa: ANN001
    bore = read_gef(sample("gef_bore", "pygef__example_bore.gef"))
    assert (bore.object_type, bore.x, bore.y, bore.offset) == ("BHR-GT", 115300.0, 480250.0, -4.0)
    assert bore.final_depth == 153.0 and len(bore.layers) == 102
    assert 6 not in bore.attributes["measurement_text"]  # describer's name is not carried over
    first, last = bore.layers[0], bore.layers[-1]
    assert (first.upper_boundary, first.lower_boundary, first.soil_name) == (7.4, 12.5, "NBE")
    assert (last.upper_boundary, last.lower_boundary, last.soil_name) == (152.0, 153.0, "Zg1")
    assert last.admixtures == {
        "main_component": "Z",
        "gravel": 1,
        "sand_median": 290.0,
        "codes": ["GR", "ZMGO", "FN5"],
    }


def test_bore_more_fields_than_columns(sample) -> None:  # noqa: ANN001
    bore = read_gef(sample("gef_bore", "amsterdam__003515-6_B15.gef"))
    assert (bore.x, bore.y, bore.final_depth, len(bore.layers)) == (123549.01, 490335.99, 10.0, 13)
    assert bore.layers[0].soil_name == "Zs2h2" and bore.layers[0].admixtures["silt"] == 2


def test_synthetic_bore_file(tmp_path: Path) -> None:
    """Runs without any sample: a GEF-BORE written here (cp1252 text, quoted codes, void)."""
    path = tmp_path / "B1.gef"
    path.write_bytes(
        "#GEFID= 1, 1, 0\n#COLUMN= 3\n#COLUMNINFO= 1, m, Laag van, 1\n#COLUMNINFO= 2, m, Laag tot, 2\n"
        "#COLUMNINFO= 3, %, Lutum, 3\n#COLUMNVOID= 3, -9999\n#COLUMNSEPARATOR= ;\n#RECORDSEPARATOR= !\n"
        "#XYID= 31000, 140000.00, 455000.00\n#ZID= 31000, 1.20\n#TESTID= B1\n"
        "#MEASUREMENTTEXT= 6, J. Jansen, beschrijver lagen\n#REPORTCODE= GEF-BORE-Report, 1, 0, 0\n#EOH=\n"
        "0.00;0.50;12;'Kz1h2';'DO BR';!\n0.50;2.00;-9999;'Vk1';;!\n".encode("cp1252")
    )
    bore = read_gef(path)
    assert (bore.object_type, bore.x, bore.y, bore.offset, bore.final_depth) == (
        "BHR-GT",
        140000.0,
        455000.0,
        1.2,
        2.0,
    )
    assert [layer.soil_name for layer in bore.layers] == ["Kz1h2", "Vk1"]
    assert bore.layers[0].admixtures == {
        "main_component": "K",
        "sand": 1,
        "humus": 2,
        "lutum_pct": 12.0,
        "codes": ["DO BR"],
    }
    assert "lutum_pct" not in bore.layers[1].admixtures
    assert 6 not in bore.attributes["measurement_text"]


def test_iter_gef_yields_the_record_error(sample) -> None:  # noqa: ANN001
    [item] = list(iter_gef(sample("gef_cpt", "geolibplus__Exception_NoCoord.gef")))
    assert isinstance(item, RecordError) and item.reason == "missing_coordinates"
    assert item.locator.line == 22  # the empty '#XYID = ' line


def test_nen5104_codes() -> None:
    assert nen5104_admixtures("Zs1h1 PL (resten)") == {"main_component": "Z", "silt": 1, "humus": 1}
    assert nen5104_admixtures("Vk3") == {"main_component": "V", "clay": 3}
    assert nen5104_admixtures("") == {}


def test_gef_object_is_a_bro_object(sample) -> None:  # noqa: ANN001
    assert isinstance(read_gef(sample("gef_cpt", "pygef__cpt4.gef")), BroObject)
