"""BRO GMW reader: every sample parses; concrete values read from the files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from etl.errors import RecordError
from etl.readers.bro_gmw import iter_gmws
from etl.records import BroObject

SAMPLE_DIRS = ("bro_gmw",)


def only(path: Path) -> BroObject:
    items = list(iter_gmws(path))
    assert len(items) == 1
    assert not isinstance(items[0], RecordError), str(items[0])
    return items[0]


def test_every_sample_parses(sample_file: Path) -> None:
    well = only(sample_file)
    assert well.object_type == "GMW"
    assert well.x is not None and 0 < well.x < 300_000 and 300_000 < well.y < 625_000
    assert well.vertical_datum == "NAP" and well.offset is not None
    assert well.tubes
    for tube in well.tubes:
        assert tube.tube_number is not None and tube.tube_top is not None
        assert tube.screen_bottom < tube.screen_top < tube.tube_top


def test_gmw_36287(sample) -> None:  # noqa: ANN001
    well = only(sample("bro_gmw", "brodata__GMW000000036287.xml"))
    assert (well.bro_id, well.x, well.y) == ("GMW000000036287", 118300.381, 439767.501)
    assert well.quality_regime == "IMBRO" and well.delivery_accountable_party == "62251686"
    assert well.offset == 1.932  # ground level w.r.t. NAP
    attrs = well.attributes
    assert attrs["ground_level_position"] == 1.932 and attrs["reference_point_offset"] == 0.0
    assert attrs["well_head_protector"] == "potNietWaterdicht"
    assert attrs["well_code"] == "GMW38B125170"
    assert attrs["well_construction_date"] == date(2020, 8, 6)
    [tube] = well.tubes
    assert (tube.tube_number, tube.tube_type, tube.tube_top) == (1, "standaardbuis", 1.802)
    assert (tube.screen_top, tube.screen_bottom) == (0.142, -0.858)
    assert tube.attributes["screen"]["screen_length"] == 1.0
    assert tube.attributes["material_used"]["tube_material"] == "peHighDensity"
    assert "screen_position_derived" not in tube.attributes


def test_gmw_5033_tube_number_two(sample) -> None:  # noqa: ANN001
    well = only(sample("bro_gmw", "nens__GMW000000005033.xml"))
    assert (well.bro_id, well.quality_regime, well.x, well.y) == (
        "GMW000000005033",
        "IMBRO/A",
        137028.7,
        455061.1,
    )
    assert well.attributes["well_construction_date"] == date(1962, 1, 14)
    assert well.attributes["nitg_code"] == "B31H2624"
    [tube] = well.tubes
    assert (tube.tube_number, tube.tube_top, tube.screen_top, tube.screen_bottom) == (2, 3.06, 0.11, -0.89)


def test_gmw_46811(sample) -> None:  # noqa: ANN001
    well = only(sample("bro_gmw", "nens__GMW000000046811.xml"))
    assert (well.x, well.y, well.offset) == (136221.14, 456177.6, 2.75)
    assert well.attributes["delivery_context"] == "WW"
    assert (well.tubes[0].screen_top, well.tubes[0].screen_bottom) == (1.15, 0.15)


def test_registration_request_derives_screens(sample) -> None:  # noqa: ANN001
    """.NET-serialised request: per-element namespace redeclarations, gml prefix d5p1, no screen positions."""
    well = only(sample("bro_gmw", "hydropandas__GROND5_B1-1.xml"))
    assert well.bro_id is None and well.delivery_accountable_party == "111"
    assert (well.x, well.y, well.offset) == (56525.207, 386749.698, 0.36)
    assert well.attributes["well_head_protector"] == "kokerNietMetaal"
    assert well.attributes["object_id_accountable_party"] == "B1-1"
    assert [(t.tube_number, t.tube_top, t.screen_top, t.screen_bottom) for t in well.tubes] == [
        (1, 0.86, -10.64, -11.64),
        (2, 1.07, -1.14, -2.14),
    ]
    assert all(t.attributes["screen_position_derived"] for t in well.tubes)
