"""BRO CPT IMBRO-XML reader: every sample parses; concrete values read from the files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from etl.errors import RecordError
from etl.readers.bro_cpt import DISSIPATION_COLUMNS, iter_cpts, read_cpts
from etl.records import CPT_COLUMNS, BroObject

SAMPLE_DIRS = ("bro_cpt",)


def only(path: Path) -> BroObject:
    objects = read_cpts(path)
    assert len(objects) == 1
    return objects[0]


def test_every_sample_parses(sample_file: Path) -> None:
    items = list(iter_cpts(sample_file))
    assert items, "no CPT in the file"
    for cpt in items:
        assert not isinstance(cpt, RecordError), str(cpt)
        assert cpt.object_type == "CPT" and cpt.source_format == "IMBRO-XML"
        assert cpt.x is not None and 0 < cpt.x < 300_000 and 300_000 < cpt.y < 625_000
        assert cpt.cpt is not None and cpt.cpt.n_rows > 0
        assert set(cpt.cpt.columns) <= set(CPT_COLUMNS)
        assert all(len(v) == cpt.cpt.n_rows for v in cpt.cpt.columns.values())
        lengths = [v for v in cpt.cpt.columns["penetration_length"] if v is not None]
        assert lengths == sorted(lengths)
        assert cpt.locator is not None and cpt.locator.xpath


def test_cpt_3688_old_serialisation(sample) -> None:  # noqa: ANN001
    cpt = only(sample("bro_cpt", "geolibplus__CPT000000003688_IMBRO_A.xml"))
    assert cpt.bro_id == "CPT000000003688"
    assert (cpt.x, cpt.y) == (91931.0, 438294.0)
    assert cpt.source_crs == "EPSG:28992" and cpt.attributes["location_used"] == "delivered"
    assert cpt.quality_regime == "IMBRO/A"
    assert cpt.delivery_accountable_party == "52766179"
    assert cpt.research_report_date == date(2004, 6, 14)
    assert cpt.registration_date == date(2017, 1, 10)
    assert cpt.vertical_datum == "NAP" and cpt.offset == -1.75
    assert cpt.final_depth == 24.56
    assert cpt.attributes["predrilled_depth"] == 0.0
    assert cpt.attributes["cone_penetrometer_type"] == "F7.5CKE/V-1214"
    assert cpt.attributes["cone_penetrometer"]["cone_surface_area"] == 1500.0
    assert cpt.attributes["cpt_standard"] == "NEN5140"
    columns = cpt.cpt.columns
    assert cpt.cpt.n_rows == 1229
    assert list(columns) == [
        "penetration_length",
        "depth",
        "elapsed_time",
        "cone_resistance",
        "inclination_resultant",
        "local_friction",
        "friction_ratio",
    ]
    # Delivered out of order (first row 2.740 m); sorted on penetration length.
    assert columns["penetration_length"][0] == 0.0 and columns["penetration_length"][-1] == 24.56
    assert columns["cone_resistance"][0] == 0.196 and columns["cone_resistance"][-1] == 20.404
    assert columns["elapsed_time"][0] == 12.0
    assert columns["local_friction"][0] is None  # -999999 in the file
    assert cpt.cpt.dissipation_tests == []


def test_cpt_3688_two_serialisations_agree(sample) -> None:  # noqa: ANN001
    old = only(sample("bro_cpt", "geolibplus__CPT000000003688_IMBRO_A.xml"))
    new = only(sample("bro_cpt", "geolibplus__CPT000000003688_IMBRO_A_new_version.xml"))
    assert new.delivery_accountable_party == "50200097"  # the one field that differs
    assert (new.bro_id, new.x, new.y, new.final_depth) == (old.bro_id, old.x, old.y, old.final_depth)
    assert new.cpt.columns == old.cpt.columns


def test_cpt_155283_with_dissipation_test(sample) -> None:  # noqa: ANN001
    cpt = only(sample("bro_cpt", "pygef__CPT000000155283.xml"))
    assert cpt.bro_id == "CPT000000155283"
    assert (cpt.x, cpt.y) == (132782.52, 448030.34)
    assert (cpt.source_x, cpt.source_y) == (132782.52, 448030.34)
    assert cpt.quality_regime == "IMBRO" and cpt.offset == 0.09
    assert cpt.final_depth == 6.57 and cpt.attributes["predrilled_depth"] == 0.5
    assert cpt.attributes["request_reference"] == "Mijn-object-aanvraag-000001"
    assert "porePressureU2" in cpt.attributes["parameters"]
    columns = cpt.cpt.columns
    assert cpt.cpt.n_rows == 305
    assert columns["penetration_length"][0] == 0.5 and columns["penetration_length"][-1] == 6.57
    assert columns["cone_resistance"][0] == 0.018 and columns["cone_resistance"][-1] == 10.359
    assert columns["inclination_x"][0] == -1.0
    assert columns["pore_pressure_u2"][:3] == [None, 0.004, 0.005]
    [dissipation] = cpt.cpt.dissipation_tests
    assert dissipation["penetration_length"] == 4.01
    assert dissipation["n_rows"] == 4163
    assert set(dissipation["columns"]) <= set(DISSIPATION_COLUMNS)
    assert list(dissipation["columns"]) == ["elapsed_time", "cone_resistance", "pore_pressure_u2"]
    assert dissipation["columns"]["elapsed_time"][0] == 0.0
    assert dissipation["columns"]["elapsed_time"][-1] == 7238.5


def test_cpt_179849_dissipation_and_u2(sample) -> None:  # noqa: ANN001
    cpt = only(sample("bro_cpt", "bedrock__CPT000000179849.xml"))
    assert (cpt.bro_id, cpt.x, cpt.y) == ("CPT000000179849", 104018.34, 470485.51)
    assert cpt.cpt.n_rows == 945 and cpt.final_depth == 20.062
    assert "elapsed_time" not in cpt.cpt.columns  # void throughout
    assert cpt.cpt.columns["pore_pressure_u2"][0] == 0.0
    [dissipation] = cpt.cpt.dissipation_tests
    assert dissipation["penetration_length"] == 20.1 and dissipation["n_rows"] == 317


def test_cpt_162621_predrilled_quay(sample) -> None:  # noqa: ANN001
    cpt = only(sample("bro_cpt", "amsterdam__DCK-water_S_CPT000000162621.xml"))
    assert (cpt.bro_id, cpt.x, cpt.y) == ("CPT000000162621", 119957.0, 486903.0)
    assert cpt.final_depth == 41.203 and cpt.attributes["predrilled_depth"] == 6.19
    assert cpt.cpt.n_rows == 1753
    assert cpt.cpt.columns["penetration_length"][0] == 6.2
    assert cpt.cpt.columns["cone_resistance"][0] == 0.18 and cpt.cpt.columns["cone_resistance"][-1] == 4.63
    assert cpt.research_report_date == date(2020, 9, 3)


def test_cpt_5925_archive_transfer_without_depth(sample) -> None:  # noqa: ANN001
    cpt = only(sample("bro_cpt", "brodata__CPT000000005925.xml"))
    assert (cpt.bro_id, cpt.x, cpt.y) == ("CPT000000005925", 118406.0, 439678.0)
    assert cpt.quality_regime == "IMBRO/A" and cpt.attributes["cpt_standard"] == "NEN3680"
    assert cpt.cpt.n_rows == 179 and cpt.final_depth == 18.2
    assert list(cpt.cpt.columns) == [
        "penetration_length",
        "cone_resistance",
        "local_friction",
        "friction_ratio",
    ]
    assert cpt.cpt.columns["cone_resistance"][0] == 1.5 and cpt.cpt.columns["cone_resistance"][-1] == 15.5


def test_iscpt_source_document_without_bro_id(sample) -> None:  # noqa: ANN001
    cpt = only(sample("bro_cpt", "cptgefconverter__12_registration-IMBRO-completion-CPT.xml"))
    assert cpt.bro_id is None and cpt.quality_regime is None
    assert (cpt.x, cpt.y) == (155000.543, 463000.22)
    assert cpt.locator.xpath == "/CPT"
    assert cpt.cpt.n_rows == 586 and len(cpt.cpt.columns) == 25


def test_standardized_etrs89_location_is_transformed_lat_first(sample, tmp_path: Path) -> None:  # noqa: ANN001
    """Without a delivered location the ETRS89 (latitude-first) position is transformed to RD."""
    text = sample("bro_cpt", "pygef__CPT000000155283.xml").read_text(encoding="utf-8")
    start, end = (
        text.index("<deliveredLocation>"),
        text.index("</deliveredLocation>") + len("</deliveredLocation>"),
    )
    path = tmp_path / "etrs89_only.xml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    cpt = only(path)
    assert cpt.source_crs == "EPSG:4258"
    assert (cpt.source_x, cpt.source_y) == (5.06352596, 52.0201802)  # lon, lat (the file says lat lon)
    assert cpt.attributes["location_used"] == "standardized"
    assert cpt.x == pytest.approx(132782.52, abs=0.5) and cpt.y == pytest.approx(448030.34, abs=0.5)


def test_many_objects_stream_in_order(sample, tmp_path: Path) -> None:  # noqa: ANN001
    text = sample("bro_cpt", "geolibplus__CPT000000003688_IMBRO_A_new_version.xml").read_text(
        encoding="utf-8"
    )
    start, end = (
        text.index("<dispatchDocument>"),
        text.index("</dispatchDocument>") + len("</dispatchDocument>"),
    )
    block = text[start:end]
    docs = "".join(block.replace("CPT000000003688", f"CPT{n:012d}") for n in range(1, 26))
    path = tmp_path / "bulk.xml"
    path.write_text(text[:start] + docs + text[end:], encoding="utf-8")
    cpts = read_cpts(path)
    assert [c.bro_id for c in cpts] == [f"CPT{n:012d}" for n in range(1, 26)]
    assert all(c.cpt.n_rows == 1229 for c in cpts)
    assert cpts[-1].locator.xpath == "/dispatchDataResponse/dispatchDocument[25]/CPT_O"
