"""BRO BHR-GT / BHR-P / BHR-G reader: every sample parses; concrete values read from the files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from etl.errors import RecordError
from etl.readers.bro_borehole import iter_boreholes
from etl.records import BroObject

SAMPLE_DIRS = ("bro_bhrgt", "bro_bhrp", "bro_bhrg")
EXPECTED_TYPE = {"bro_bhrgt": "BHR-GT", "bro_bhrp": "BHR-P", "bro_bhrg": "BHR-G"}


def only(path: Path) -> BroObject:
    items = list(iter_boreholes(path))
    assert len(items) == 1
    assert not isinstance(items[0], RecordError), str(items[0])
    return items[0]


def test_every_sample_parses(sample_file: Path) -> None:
    bore = only(sample_file)
    assert bore.object_type == EXPECTED_TYPE[sample_file.parent.name]
    assert bore.x is not None and 0 < bore.x < 300_000 and 300_000 < bore.y < 625_000
    assert bore.final_depth is not None and bore.final_depth > 0
    assert bore.layers
    for layer in bore.layers:
        assert layer.upper_boundary is not None and layer.lower_boundary is not None
        assert layer.upper_boundary < layer.lower_boundary <= bore.final_depth + 1e-9


def test_bhrgt_347577_two_logs(sample) -> None:  # noqa: ANN001
    bore = only(sample("bro_bhrgt", "bedrock__BHR000000347577.xml"))
    assert (bore.bro_id, bore.x, bore.y) == ("BHR000000347577", 183218.1, 334573.6)
    assert bore.quality_regime == "IMBRO" and bore.delivery_accountable_party == "27364178"
    assert bore.research_report_date == date(2021, 9, 20)
    assert bore.registration_date == date(2021, 10, 7)
    assert bore.final_depth == 3.0 and bore.offset == 51.0 and bore.vertical_datum == "NAP"
    assert bore.attributes["boring_start_date"] == date(2021, 3, 4)
    assert len(bore.layers) == 8
    first = bore.layers[0]
    assert (first.upper_boundary, first.lower_boundary) == (0.0, 0.5)
    assert (first.soil_name, first.classification) == ("siltigZand", "geotechnicalSoilName")
    assert first.colour == "donkergrijs" and first.description_kind == "descriptiveBoreholeLog"
    assert first.admixtures["tertiary_constituent"] == "plantenrestenHoutigWeinig"
    assert first.admixtures["sand_median_class"] == "fijn"
    last = bore.layers[-1]
    assert (last.soil_name, last.colour, last.admixtures["log_index"]) == ("zwakZandigeKlei", "lichtbruin", 2)
    assert last.admixtures["organic_matter_content_class"] == "zwakOrganisch"


def test_bhrgt_431542_nil_soil_name(sample) -> None:  # noqa: ANN001
    bore = only(sample("bro_bhrgt", "bedrock__BMA_BHR000000431542.xml"))
    assert (bore.bro_id, bore.quality_regime, bore.final_depth) == ("BHR000000431542", "IMBRO/A", 2.0)
    assert len(bore.layers) == 6
    assert bore.layers[0].soil_name is None and bore.layers[0].colour is None  # xsi:nil
    assert (bore.layers[-1].soil_name, bore.layers[-1].classification) == (
        "zwakSiltigeKlei",
        "soilNameNEN5104",
    )


def test_bhrgt_registration_request_old_schema(sample) -> None:  # noqa: ANN001
    bore = only(sample("bro_bhrgt", "pygef__bore.xml"))  # isbhr-gt/1.0 + bhrgtcommon/1.0
    assert bore.bro_id is None and bore.quality_regime == "IMBRO"
    assert (bore.x, bore.y) == (155197.16, 443108.25)
    assert bore.final_depth == 6.0 and bore.offset == 12.34
    assert bore.research_report_date == date(2021, 10, 7)
    assert len(bore.layers) == 8
    assert (bore.layers[0].soil_name, bore.layers[0].colour) == ("klei", "donkerbruin")
    assert (bore.layers[-1].upper_boundary, bore.layers[-1].lower_boundary) == (5.4, 6.0)
    assert bore.layers[-1].soil_name == "sterkZandigeKlei"


def test_bhrgt_registration_request_prefix_style(sample) -> None:  # noqa: ANN001
    bore = only(sample("bro_bhrgt", "pygef__DP14+074_MB_KR.xml"))
    assert (bore.x, bore.y, bore.final_depth) == (158322.139, 444864.706, 12.0)
    assert len(bore.layers) == 13 and bore.layers[0].soil_name == "zwakGrindigZand"
    assert bore.layers[0].admixtures["grainshape"] == {
        "size_fraction": "zand",
        "angularity": "subrond",
        "sphericity": "bol",
    }
    wiertsema = only(sample("bro_bhrgt", "geost__bhrgt_wiertsema.xml"))
    assert (wiertsema.x, wiertsema.y, wiertsema.final_depth, len(wiertsema.layers)) == (
        182243.9,
        335073.8,
        2.2,
        5,
    )


def test_bhrgt_with_lab_analysis(sample) -> None:  # noqa: ANN001
    bore = only(sample("bro_bhrgt", "amsterdam__B01_met_lab.xml"))
    assert (bore.x, bore.y, bore.final_depth) == (115818.28, 488541.31, 13.0)
    assert bore.attributes["lab_analysis"] is True
    assert len(bore.layers) == 41
    assert (bore.layers[0].soil_name, bore.layers[0].colour) == ("zwakZandigeHumus", "donkerbruin")


def test_bhrgt_soap_dispatch_with_rock_and_special_material(sample) -> None:  # noqa: ANN001
    bore = only(sample("bro_bhrgt", "broprogramma__DO_ResponseBHR_GT_O_DP.xml"))
    assert (bore.bro_id, bore.x, bore.y) == ("BHR123456789012", 134750.0, 477800.0)
    assert bore.final_depth == 2.78 and len(bore.layers) == 3
    assert (bore.layers[0].soil_name, bore.layers[0].classification) == ("puin", "specialMaterial")
    assert "upper_boundary" not in bore.layers[0].admixtures
    assert (bore.layers[-1].soil_name, bore.layers[-1].classification) == ("mergelSiltig", "rockType")
    assert bore.layers[-1].colour == "donkergeel"


def test_bhrp_175723_year_month_dates(sample) -> None:  # noqa: ANN001
    bore = only(sample("bro_bhrp", "brodata__BHR000000175723.xml"))
    assert (bore.bro_id, bore.object_type, bore.x, bore.y) == ("BHR000000175723", "BHR-P", 117589.0, 439779.0)
    assert bore.research_report_date == date(2017, 10, 1)
    assert bore.attributes["research_report_date_precision"] == "month"
    assert bore.attributes["boring_start_date"] == date(1984, 7, 1)
    assert bore.final_depth == 1.7 and bore.offset == -1.04
    assert bore.attributes["soil_classification"]["soil_class"] == "woudeerdgrondRivierklei"
    assert len(bore.layers) == 4
    first = bore.layers[0]
    assert (first.upper_boundary, first.lower_boundary) == (0.0, 0.4)
    assert (first.soil_name, first.classification) == ("sterkSiltigeKlei", "standardSoilName")
    assert first.admixtures["pedological_soil_name"] == "lichteKlei"
    assert first.admixtures["horizon_code"] == "Aa"
    assert first.description_kind == "boreholeSampleDescription"
    assert bore.layers[-1].soil_name == "mineraalarmVeen"


def test_bhrp_108193(sample) -> None:  # noqa: ANN001
    bore = only(sample("bro_bhrp", "geost__bhrp_bro.xml"))
    assert (bore.bro_id, bore.x, bore.y, bore.final_depth) == ("BHR000000108193", 129491.0, 452255.0, 1.5)
    assert len(bore.layers) == 6 and bore.layers[-1].admixtures["sand_median"] == 150.0


def test_bhrp_correction_request_takes_bro_id_from_request(sample) -> None:  # noqa: ANN001
    bore = only(sample("bro_bhrp", "broprogramma__correctionRequest.xml"))
    assert (bore.bro_id, bore.quality_regime) == ("BHR000000343891", "IMBRO/A")
    assert bore.attributes["correction_reason"] == "kwaliteitsregime"
    assert bore.final_depth == 15.0 and len(bore.layers) == 2
    assert bore.layers[0].admixtures["n_components"] == 2


def test_bhrg_398575(sample) -> None:  # noqa: ANN001
    bore = only(sample("bro_bhrg", "bedrock__BHR000000398575.xml"))
    assert (bore.bro_id, bore.object_type, bore.x, bore.y) == (
        "BHR000000398575",
        "BHR-G",
        177740.41,
        313688.12,
    )
    assert bore.final_depth == 1.5 and bore.offset == 48.72
    assert bore.attributes["boring_end_date"] is None  # voidReason
    assert [(layer.upper_boundary, layer.lower_boundary) for layer in bore.layers] == [(0.0, 0.4), (0.4, 1.5)]
    assert (bore.layers[0].soil_name, bore.layers[0].colour) == ("zwakZandigeLeem", "bruin")
    assert bore.layers[0].admixtures["gravel_content_class"] == "zwakGrindig"
