"""harmonise(): every quarantine reason, the cascade location > sample > analysis, conversions."""

from __future__ import annotations

import gc
from collections import Counter
from datetime import date
from typing import Any

import pytest
import shapely
from shapely.geometry import Point, Polygon

from etl.errors import SourceError
from etl.harmonise.pipeline import harmonise
from etl.mapping import Mapping, mapping_from_dict
from etl.records import Locator, RawRecord

TODAY = date(2026, 1, 1)
COLUMNS = {
    "location_id": "loc",
    "sample_id": "sample",
    "x": "x",
    "y": "y",
    "date": "date",
    "depth_from": "from",
    "depth_to": "to",
    "investigation_id": "inv",
    "name": "name",
}


def _mapping(**changes: Any) -> Mapping:
    doc: dict[str, Any] = {
        "name": "t",
        "gemeente": "GM0344",
        "reader": {"type": "csv", "file": "t.csv"},
        "columns": COLUMNS,
        "decimal": ",",
        "depth_unit": "cm",
        "layout": "long",
        "long": {"parameter": "param", "value": "value", "unit": "unit", "below_limit_flag": "lt"},
    }
    doc.update(changes)
    return mapping_from_dict(doc)


def _row(n: int, **values: Any) -> RawRecord:
    base = {
        "loc": "B1",
        "sample": "B1-1",
        "x": "136000,5",
        "y": "455000,25",
        "date": "01-02-2020",
        "from": "0",
        "to": "50",
        "inv": "OZ-1",
        "name": "Dorpsstraat 1",
        "param": "Lood",
        "value": "45",
        "unit": "mg/kg ds",
        "lt": "",
    }
    base.update(values)
    return RawRecord(Locator("t.csv", row=n), base)


def _run(rows: list[RawRecord], mapping: Mapping | None = None):
    return harmonise(rows, mapping or _mapping(), _catalogue(), today=TODAY)


_CAT: list[Any] = []


def _catalogue():
    if not _CAT:
        from etl.harmonise.parameters import Catalogue

        _CAT.append(Catalogue.load())
    return _CAT[0]


def _reasons(batch) -> Counter:
    return Counter((q.reason, q.unit) for q in batch.quarantine)


def test_good_rows_are_converted() -> None:
    batch = _run(
        [
            _row(2),
            _row(3, param="PCB (som 7)", value="<4,9", unit="µg/kg ds"),
            _row(4, param="Kwik", value="0,05", lt="<"),
            _row(5, param="Lutum", value="12,5", unit="% ds"),
            _row(6, param="Organische stof (humus)", value="4", unit="%"),
            _row(7, param="Zink", value=""),  # not analysed
        ]
    )
    assert batch.rows_read == 6 and not batch.quarantine
    (loc,) = batch.locations
    assert (loc.key, loc.x, loc.y, loc.coord_decimals) == ("B1", 136000.5, 455000.25, 2)
    assert (loc.name, loc.investigation_key, loc.investigation_date) == (
        "Dorpsstraat 1",
        "OZ-1",
        date(2020, 2, 1),
    )
    (sample,) = batch.samples
    assert (sample.key, sample.depth_from_m, sample.depth_to_m, sample.sample_date) == (
        "B1-1",
        0.0,
        0.5,
        date(2020, 2, 1),
    )
    assert (sample.lutum_pct, sample.organic_matter_pct) == (12.5, 4.0)
    got = {m.parameter_code: m for m in batch.measurements}
    assert set(got) == {"Pb", "PCB7", "Hg", "lutum", "organische_stof"}
    assert (got["PCB7"].value, got["PCB7"].unit, got["PCB7"].below_detection_limit) == (
        pytest.approx(0.0049),
        "mg/kg ds",
        True,
    )
    assert got["PCB7"].detection_limit == pytest.approx(0.0049)
    assert (got["PCB7"].reported_value, got["PCB7"].reported_unit) == ("<4,9", "ug/kg ds")
    assert got["Hg"].below_detection_limit and got["Hg"].value == 0.05  # flag column
    assert not got["Pb"].below_detection_limit and got["Pb"].detection_limit is None
    assert got["lutum"].reported_unit == "%" and got["Pb"].locator == Locator("t.csv", row=2)


def test_analysis_level_reasons_only_reject_that_analysis() -> None:
    batch = _run(
        [
            _row(2),
            _row(3, param="Pb/Zn ratio"),
            _row(4, param="Zink", value="n.b."),
            _row(5, param="Koper", value="-"),
            _row(6, param="Nikkel", value="?"),
            _row(7, param="Kobalt", value="-3,5"),
            _row(8, param="Cadmium", unit="ppm"),
            _row(9, param="Barium", unit="%"),  # known unit, but not convertible for barium
            _row(10, param="Arseen", value="<RG"),  # below an unstated limit
        ]
    )
    assert _reasons(batch) == {
        ("unknown_parameter", "analysis"): 1,
        ("non_numeric_value", "analysis"): 4,
        ("negative_value", "analysis"): 1,
        ("unknown_unit", "analysis"): 2,
    }
    assert [m.parameter_code for m in batch.measurements] == ["Pb"]
    assert len(batch.samples) == 1 and len(batch.locations) == 1
    negative = next(q for q in batch.quarantine if q.reason == "negative_value")
    assert negative.locator.row == 7 and negative.field == "value" and negative.raw["value"] == "-3,5"


def test_reporting_limits_for_unquantified_below() -> None:
    mapping = _mapping(detection_limit={"reporting_limits": {"As": 4.0}})
    (m,) = _run([_row(2, param="Arseen", value="<RG")], mapping).measurements
    assert (m.value, m.below_detection_limit) == (4.0, True)


def test_sample_level_reasons_take_the_analyses() -> None:
    rows = [
        _row(2, sample="S-date", date="30-02-2020"),
        _row(3, sample="S-date", date="30-02-2020", param="Zink", value="n.b."),  # subsumed
        _row(4, sample="S-future", date="01-01-2099"),
        _row(5, sample="S-depth", **{"from": "100", "to": "50"}),
        _row(6, sample="S-text", **{"from": "ondiep"}),
        _row(7, sample="S-neg", **{"from": "-10"}),
        _row(8, sample="S-ok"),
    ]
    batch = _run(rows)
    assert _reasons(batch) == {
        ("invalid_date", "sample"): 1,
        ("future_date", "sample"): 1,
        ("depth_from_gt_to", "sample"): 1,
        ("invalid_depth", "sample"): 2,
    }
    assert [s.key for s in batch.samples] == ["S-ok"]
    assert [m.sample_key for m in batch.measurements] == ["S-ok"]


def test_later_row_with_a_bad_date_rejects_the_sample() -> None:
    batch = _run([_row(2), _row(3, param="Zink", date="31-04-2020")])
    assert _reasons(batch) == {("invalid_date", "sample"): 1} and not batch.samples


def test_location_level_reasons_take_samples_and_analyses() -> None:
    rows = [
        _row(2, loc="MISS", sample="M1", x="", y=""),
        _row(3, loc="MISS", sample="M2", x="", y="", date="30-02-2020"),  # subsumed by the location
        _row(4, loc="SWAP", sample="W1", x="455000", y="136000"),
        _row(5, loc="ZERO", sample="Z1", x="0", y="0"),
        _row(6, loc="TEXT", sample="T1", x="onbekend", y="455000"),
        _row(7, loc="LATER", sample="L1"),
        _row(8, loc="LATER", sample="L2", x="455000,25", y="136000,5"),  # one swapped row
        _row(9, loc="OK", sample="O1"),
    ]
    batch = _run(rows)
    assert _reasons(batch) == {("missing_coordinates", "location"): 3, ("xy_swapped", "location"): 2}
    assert {q.location_key for q in batch.quarantine} == {"MISS", "SWAP", "ZERO", "TEXT", "LATER"}
    assert [loc.key for loc in batch.locations] == ["OK"]
    assert [s.key for s in batch.samples] == ["O1"] and len(batch.measurements) == 1


def test_duplicate_rows_are_dropped_once_each() -> None:
    rows = [_row(2), _row(3), _row(4), _row(5, param="Zink"), _row(6, value="46")]
    batch = _run(rows)
    assert _reasons(batch) == {("duplicate_row", "row"): 2}
    assert [q.locator.row for q in batch.quarantine] == [3, 4]
    assert len(batch.measurements) == 3  # Pb 45, Zn 45 and the (not identical) Pb 46


def test_missing_location_id() -> None:
    batch = _run([_row(2, loc=""), _row(3)])
    assert _reasons(batch) == {("missing_id", "row"): 1} and len(batch.measurements) == 1


def test_samples_without_a_sample_column_and_key_collisions() -> None:
    columns = {k: v for k, v in COLUMNS.items() if k != "sample_id"}
    rows = [_row(2), _row(3, param="Zink"), _row(4, **{"from": "50", "to": "100"})]
    batch = _run(rows, _mapping(columns=columns))
    assert [(s.depth_from_m, s.depth_to_m) for s in batch.samples] == [(0.0, 0.5), (0.5, 1.0)]
    assert len({s.key for s in batch.samples}) == 2
    batch = _run([_row(2, loc="A", sample="M1"), _row(3, loc="B", sample="M1")])
    assert [s.key for s in batch.samples] == ["M1", "B/M1"]
    assert {m.sample_key for m in batch.measurements} == {"M1", "B/M1"}


def test_wide_layout() -> None:
    mapping = _mapping(
        layout="wide",
        long=None,
        wide={
            "header_pattern": r"^(?P<parameter>.+?)\s*\[(?P<unit>[^\]]+)\]$",
            "value_columns": {"pcb": {"parameter": "PCB7", "unit": "ug/kg ds"}},
            "exclude": ["Genegeerd [mg/kg ds]"],
        },
    )
    values = {
        "Lood (Pb) [mg/kg ds]": "<0,2",
        "Onbekende stof [mg/kg ds]": "3",
        "Zink [ppm]": "5",
        "Lutum [%]": "",
        "Genegeerd [mg/kg ds]": "9",
        "pcb": "12",
    }
    batch = _run([_row(2, **values)], mapping)
    assert sorted((m.parameter_code, m.value, m.below_detection_limit) for m in batch.measurements) == [
        ("PCB7", pytest.approx(0.012), False),
        ("Pb", 0.2, True),
    ]
    assert _reasons(batch) == {("unknown_parameter", "analysis"): 1, ("unknown_unit", "analysis"): 1}
    assert "param" in batch.locations[0].raw and "Lood (Pb) [mg/kg ds]" not in batch.locations[0].raw


def test_crs_detect_lat_lon_file() -> None:
    rows = [
        _row(2, loc="A", x="52,0041", y="4,3590"),
        _row(3, loc="B", x="52,0050", y="4,3600"),
        _row(4, loc="C", x="4,3600", y="52,0050"),  # the odd one out
    ]
    batch = _run(rows, _mapping(crs="detect"))
    assert [loc.key for loc in batch.locations] == ["A", "B"]
    assert batch.locations[0].x == pytest.approx(84_396, abs=20) and batch.locations[0].y == pytest.approx(
        446_692, abs=20
    )
    assert _reasons(batch) == {("xy_swapped", "location"): 1}


def test_vector_geometry_and_polygons() -> None:
    mapping = _mapping(
        reader={"type": "geojson", "file": "t.geojson"}, columns={"location_id": "loc", "geometry": True}
    )
    point = RawRecord(
        Locator("t", row=1),
        {"loc": "P", "param": "Pb", "value": 5, "unit": "mg/kg ds", "lt": None},
        geometry_wkb=shapely.to_wkb(Point(5.12, 52.09)),
        source_crs="EPSG:4326",
    )
    square = Polygon([(136000, 455000), (136010, 455000), (136010, 455010), (136000, 455010)])
    area = RawRecord(
        Locator("t", row=2),
        {"loc": "V", "param": "Pb", "value": 6, "unit": "mg/kg ds", "lt": None},
        geometry_wkb=shapely.to_wkb(square),
        source_crs="EPSG:28992",
    )
    empty = RawRecord(
        Locator("t", row=3),
        {"loc": "E", "param": "Pb", "value": 7, "unit": "mg/kg ds", "lt": None},
        geometry_wkb=None,
        source_crs="EPSG:28992",
    )
    batch = _run([point, area, empty], mapping)
    locs = {loc.key: loc for loc in batch.locations}
    assert 135_000 < locs["P"].x < 138_000 and locs["P"].geometry_wkt is None
    assert locs["V"].geometry_wkt.startswith("POLYGON") and locs["V"].x == pytest.approx(136_005)
    assert _reasons(batch) == {("missing_coordinates", "location"): 1}


def test_per_record_crs_column() -> None:
    columns = dict(COLUMNS, crs="srs")
    rows = [
        _row(2, loc="A", x="4,359", y="52,004", srs="EPSG:4326"),
        _row(3, loc="B", srs="EPSG:28992"),
        _row(4, loc="C", srs="EPSG:123456789"),
    ]
    batch = _run(rows, _mapping(columns=columns))
    assert [loc.key for loc in batch.locations] == ["A", "B"]
    assert _reasons(batch) == {("missing_coordinates", "location"): 1}


def test_missing_mapped_column_is_a_source_error() -> None:
    bad = RawRecord(Locator("t.csv", row=2), {"loc": "B1"})
    with pytest.raises(
        SourceError, match=r"t\.csv: column 'sample' \(columns\.sample_id in mapping 't'\) not found"
    ):
        _run([bad])


def test_gc_state_is_restored() -> None:
    assert gc.isenabled()
    _run([_row(2)])
    assert gc.isenabled()
    gc.disable()
    try:
        _run([_row(2)])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_depth_interval_in_one_column() -> None:
    """A lab's "traject" column ("0-50", "50 - 100", "0,5–1,0") instead of depth_from/depth_to."""
    cols = {k: v for k, v in COLUMNS.items() if k not in ("depth_from", "depth_to")} | {"depth": "traject"}
    mapping = _mapping(columns=cols)
    batch = _run(
        [
            _row(2, traject="0-50"),
            _row(3, sample="B1-2", traject="50 - 100"),
            _row(4, sample="B1-3", traject="100–150"),  # en dash
            _row(5, sample="B1-4", traject="150"),  # no interval
            _row(6, sample="B1-5", traject="200-150"),
            _row(7, sample="B1-6", traject=""),  # not given: no depth, not a problem
        ],
        mapping,
    )
    depths = {s.key: (s.depth_from_m, s.depth_to_m) for s in batch.samples}
    assert depths == {"B1-1": (0.0, 0.5), "B1-2": (0.5, 1.0), "B1-3": (1.0, 1.5), "B1-6": (None, None)}
    by_reason = {q.reason: q for q in batch.quarantine}
    assert set(by_reason) == {"invalid_depth", "depth_from_gt_to"}
    assert (
        by_reason["invalid_depth"].message == "depth interval '150' is not written as 'from-to' (e.g. '0-50')"
    )
    assert by_reason["invalid_depth"].field == "traject"
    assert by_reason["depth_from_gt_to"].message == "depth from '200' is below depth to '150'"
    # metres with decimal commas
    metres = _mapping(columns=cols, depth_unit="m")
    (sample,) = _run([_row(2, traject="0,5 - 1,0")], metres).samples
    assert (sample.depth_from_m, sample.depth_to_m) == (0.5, 1.0)


def test_depth_column_and_from_to_columns_exclude_each_other() -> None:
    from etl.errors import ConfigError

    with pytest.raises(
        ConfigError, match="use either 'depth' \\(one column 'from-to'\\) or 'depth_from'/'depth_to'"
    ):
        _mapping(columns=COLUMNS | {"depth": "traject"})


def test_long_layout_with_the_unit_in_the_parameter_label() -> None:
    """`long.parameter_pattern` splits "Lood [mg/kg ds]"; a filled unit column still wins."""
    mapping = _mapping(
        long={
            "parameter": "param",
            "value": "value",
            "unit": "unit",
            "parameter_pattern": r"^(?P<parameter>.+?)\s*\[(?P<unit>[^\]]+)\]\s*$",
        }
    )
    batch = _run(
        [
            _row(2, param="Lood [mg/kg ds]", value="45", unit=""),
            _row(3, param="PCB (som 7) [µg/kg ds]", value="<4,9", unit=""),
            _row(4, param="Zink [mg/kg ds]", value="0,12", unit="g/kg ds"),  # the unit column wins
            _row(5, param="Kwik", value="0,3", unit="mg/kg ds"),  # no unit in the label
            _row(6, param="Onbekend [mg/kg ds]", value="1", unit=""),
        ],
        mapping,
    )
    # converted from the unit in the label (µg -> mg) or, where filled, from the unit column (g -> mg)
    got = {m.parameter_code: (m.value, m.unit) for m in batch.measurements}
    assert got == {
        "Pb": (45.0, "mg/kg ds"),
        "PCB7": (pytest.approx(0.0049), "mg/kg ds"),
        "Zn": (pytest.approx(120.0), "mg/kg ds"),
        "Hg": (0.3, "mg/kg ds"),
    }
    assert [(q.reason, q.message) for q in batch.quarantine] == [
        ("unknown_parameter", "unknown parameter 'Onbekend [mg/kg ds]'")
    ]


def test_parameter_pattern_needs_parameter_and_unit_groups() -> None:
    from etl.errors import ConfigError

    with pytest.raises(ConfigError, match=r"long\.parameter_pattern: .*needs the named groups"):
        _mapping(long={"parameter": "param", "value": "value", "parameter_pattern": r"^(?P<parameter>.+)$"})
