"""BRO GLD and SFR readers: every sample parses; concrete values read from the files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from etl.errors import RecordError
from etl.readers.bro_other import iter_other
from etl.records import BroObject

SAMPLE_DIRS = ("bro_gld", "bro_sfr")


def only(path: Path) -> BroObject:
    items = list(iter_other(path))
    assert len(items) == 1
    assert not isinstance(items[0], RecordError), str(items[0])
    return items[0]


def test_every_sample_parses(sample_file: Path) -> None:
    obj = only(sample_file)
    if sample_file.parent.name == "bro_gld":
        assert obj.object_type == "GLD" and obj.x is None  # no coordinates of its own, no error either
        assert obj.bro_id and obj.bro_id.startswith("GLD")
        assert obj.attributes["points"]
    else:
        assert obj.object_type == "SFR" and obj.x is not None and obj.layers


def test_gld_addition_request(sample) -> None:  # noqa: ANN001
    gld = only(sample("bro_gld", "broexchange__registration_request_gld_addition_volledig_test.xml"))
    assert (gld.bro_id, gld.quality_regime, gld.delivery_accountable_party) == (
        "GLD000000054499",
        "IMBRO",
        "27376655",
    )
    assert (gld.x, gld.y, gld.source_crs) == (None, None, None)
    [observation] = gld.attributes["observations"]
    assert observation["observation_type"] == "reguliereMeting"
    assert observation["status"] == "volledigBeoordeeld"
    assert (observation["begin"], observation["end"]) == (date(2019, 1, 7), date(2019, 1, 28))
    assert observation["n_points"] == 3
    assert gld.attributes["points"][0] == ("2019-01-07T08:14:38+01:00", -4.345, "goedgekeurd")


def test_gld_soap_dispatch_keeps_gmw_reference(sample) -> None:  # noqa: ANN001
    gld = only(sample("bro_gld", "broprogramma__DO_ResponseGLD_DO.xml"))
    assert gld.bro_id == "GLD123456789012"
    assert (gld.attributes["gmw_bro_id"], gld.attributes["tube_number"]) == ("GMW123456789012", "1")
    assert gld.attributes["gmn_bro_ids"] == ["GMN123456789012", "GMN210987654321"]
    assert gld.attributes["research_first_date"] == date(2018, 1, 7)
    assert gld.attributes["research_last_date"] == date(2019, 1, 15)
    assert len(gld.attributes["observations"]) == 7 and len(gld.attributes["points"]) == 17


def test_gld_sensor_addition(sample) -> None:  # noqa: ANN001
    gld = only(sample("bro_gld", "broprogramma__11_GLD_Addition_sensorisch.xml"))
    assert gld.bro_id == "GLD000000000153" and len(gld.attributes["points"]) == 4


def test_sfr_243(sample) -> None:  # noqa: ANN001
    sfr = only(sample("bro_sfr", "brodata__SFR000000000243.xml"))
    assert (sfr.bro_id, sfr.x, sfr.y) == ("SFR000000000243", 119150.0, 440300.0)
    assert sfr.quality_regime == "IMBRO/A" and sfr.offset == -1.04
    assert sfr.research_report_date == date(1987, 6, 1)
    assert sfr.attributes["research_report_date_precision"] == "month"
    assert sfr.attributes["fieldwork_date"] == date(1987, 6, 1)
    assert sfr.final_depth == 1.1
    assert sfr.attributes["soil_classification"]["soil_class"] == "waardveengrond"
    assert len(sfr.layers) == 5
    first = sfr.layers[0]
    assert (first.upper_boundary, first.lower_boundary) == (0.0, 0.15)
    assert (first.soil_name, first.classification) == ("matigSiltigeKlei", "soilNameNEN5104")
    assert first.admixtures["pedological_soil_name"] == "matigZwareKlei"
    assert first.admixtures["horizon_code"] == "Ahg" and first.description_kind == "soilProfile"
    assert sfr.layers[-1].soil_name == "mineraalarmVeen" and sfr.layers[-1].lower_boundary == 1.1


def test_sfr_687(sample) -> None:  # noqa: ANN001
    sfr = only(sample("bro_sfr", "geost__sfr_bro.xml"))
    assert (sfr.bro_id, sfr.x, sfr.y, sfr.final_depth) == ("SFR000000000687", 132250.0, 451075.0, 1.6)
    assert sfr.research_report_date == date(1965, 7, 1)
    assert len(sfr.layers) == 7
    assert (sfr.layers[0].soil_name, sfr.layers[0].colour) == ("sterkSiltigeKlei", "zwartBruin")
