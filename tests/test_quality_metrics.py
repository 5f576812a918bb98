"""Data-quality metrics: every gemeente present, roll-ups equal to the sums of their members, the CLI.

Test data go into Renswoude (GM0339, ODRU until 2026) and Eemnes (GM0317, RUDU until 2026), where no
other test writes; the other gemeenten may hold data of other test modules, so "empty" is decided
by looking at the base tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from db import quality
from db.settings import StoreSettings
from grondslag.cli_quality import app
from tests.test_assessment import SoilData

RENSWOUDE, EEMNES = "GM0339", "GM0317"
runner = CliRunner()


@dataclass
class Metrics:
    loc: dict[str, int] = field(default_factory=dict)
    source_id: int = 0
    source_name: str = ""


def _build(conn: sa.Connection, m: Metrics) -> list[SoilData]:
    r = SoilData(conn, RENSWOUDE, "metrics_renswoude")
    m.source_id, m.source_name = r.source_id, r.source_name
    inv = r.investigation(date(2010, 1, 1))
    m.loc["old"] = r.location(coord_decimals=0, investigation_id=inv)
    s1 = r.sample(
        m.loc["old"], lutum=25, organic_matter=10, sample_date=date(2012, 3, 1), investigation_id=inv
    )
    r.measure(s1, "Pb", 300)  # standard soil: 300 -> industrie (210 < 300 <= 530), top soil
    r.measure(s1, "Cu", 30)
    m.loc["new"] = r.location(coord_decimals=2, offset_m=200)
    s2 = r.sample(m.loc["new"], depth=(None, None), sample_date=date(2024, 5, 1))
    r.measure(s2, "Pb", 40)  # no depth: not counted as top soil; 40 -> achtergrondwaarde
    m.loc["undated"] = r.location(coord_decimals=None, offset_m=400)
    s3 = r.sample(m.loc["undated"], depth=(0.5, 1.0), sample_date=None)
    r.measure(s3, "Zn", 100)  # default soil: 100 -> achtergrondwaarde
    r.quarantine("missing_coordinates", 2)
    r.quarantine("xy_swapped", 1)
    r.quarantine("invalid_date", 1, unit="sample")
    conn.execute(
        sa.text("UPDATE dataset SET rows_read = 20, rows_loaded = 4, rows_quarantined = 4 WHERE id = :d"),
        {"d": r.dataset_id},
    )

    e = SoilData(conn, EEMNES, "metrics_eemnes")
    m.loc["bro_near"] = e.location()
    m.loc["bro_far"] = e.location(offset_m=1500)
    s4 = e.sample(m.loc["bro_near"], lutum=25, organic_matter=10)
    e.measure(s4, "Pb", 100)
    # a second source delivering the same place: linked, not duplicated
    e2 = SoilData(conn, EEMNES, "metrics_eemnes_2")
    m.loc["duplicate"] = e2.location(offset_m=1)
    conn.execute(
        sa.text(
            "INSERT INTO location_link (location_id_a, location_id_b, distance_m, method) "
            "VALUES (:a, :b, 1, 'test')"
        ),
        {"a": m.loc["bro_near"], "b": m.loc["duplicate"]},
    )
    # BRO: one object 50 m from a location (with gemeente), one without gemeente (found by its position)
    conn.execute(
        sa.text(
            """INSERT INTO bro_object (bro_id, object_type, dataset_id, gemeente_code, geom)
               SELECT 'TESTQ' || n, 'CPT', :d, CASE WHEN n = 1 THEN g.code END,
                      ST_Translate(ST_PointOnSurface(g.geom), 0, 50 * n)
               FROM gemeente g, generate_series(1, 2) n WHERE g.code = :g"""
        ),
        {"d": e.dataset_id, "g": EEMNES},
    )
    return [r, e, e2]


@pytest.fixture(scope="module")
def metrics(engine: sa.Engine) -> Iterator[Metrics]:
    m = Metrics()
    with engine.begin() as conn:
        sets = _build(conn, m)
        quality.refresh(conn)
    yield m
    with engine.begin() as conn:
        for s in sets:
            s.delete(conn)
        quality.refresh(conn)


def _gemeenten(engine: sa.Engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r["gemeente_code"]: r for r in quality.report(conn, "gemeente")}


COUNTS = (
    "n_locations",
    "n_investigations",
    "n_samples",
    "n_measurements",
    "n_bro_objects",
    "n_samples_with_date",
    "n_samples_with_depth",
    "n_samples_with_lutum",
    "n_samples_with_organic_matter",
    "n_investigations_with_date",
    "n_locations_with_investigation",
    "n_locations_dated",
    "n_locations_older_5y",
    "n_locations_older_10y",
    "n_quarantined_missing_coordinates",
    "n_quarantined_xy_swapped",
    "n_quarantined_outside_gemeente",
    "n_quarantined_position",
    "n_locations_coord_decimals_known",
    "n_locations_coord_decimals_0",
    "n_linked_duplicates",
    "n_locations_linked",
    "n_rows_read",
    "n_rows_quarantined",
    "n_quarantined",
    "n_locations_bro_100m",
    "n_locations_bro_linked",
    "n_locations_assessed",
    "n_locations_achtergrondwaarde",
    "n_locations_wonen",
    "n_locations_industrie",
    "n_locations_niet_toepasbaar",
    "n_locations_above_interventiewaarde",
    "n_lead_topsoil_samples",
    "n_lead_topsoil_above_achtergrondwaarde",
    "n_lead_topsoil_above_wonen",
    "n_lead_topsoil_above_industrie",
    "n_lead_topsoil_above_interventiewaarde",
)


def test_every_gemeente_present_with_zeros_for_empty_ones(engine: sa.Engine, metrics: Metrics) -> None:
    rows = _gemeenten(engine)
    assert len(rows) == 26
    with engine.connect() as conn:
        with_data = set(
            conn.execute(
                sa.text(
                    """SELECT gemeente_code FROM location UNION SELECT gemeente_code FROM bro_object
                       UNION SELECT s.gemeente_code FROM source s JOIN dataset d ON d.source_id = s.id"""
                )
            ).scalars()
        )
    empty = [code for code in rows if code not in with_data]
    assert empty, "expected gemeenten without any data"
    for code in empty:
        row = rows[code]
        for key, value in row.items():
            if key.startswith(("n_", "share_")) or key.endswith("_per_km2") or key == "quarantine_rate":
                assert value == 0, (code, key, value)
        assert row["coord_decimals_counts"] == {} and row["median_age_years"] is None
        assert row["area_km2"] > 0 and row["norms_verified"] is False


def test_gemeente_metrics_of_the_test_data(engine: sa.Engine, metrics: Metrics) -> None:
    g = _gemeenten(engine)[RENSWOUDE]
    assert (g["n_locations"], g["n_investigations"], g["n_samples"], g["n_measurements"]) == (3, 1, 3, 4)
    assert g["locations_per_km2"] == pytest.approx(3 / g["area_km2"])
    # completeness: 2 of 3 samples dated, 2 of 3 with both depths, 1 of 3 with lutum and organic matter
    assert g["share_samples_with_date"] == pytest.approx(2 / 3)
    assert g["share_samples_with_depth"] == pytest.approx(2 / 3)
    assert g["share_samples_with_lutum"] == pytest.approx(1 / 3)
    assert g["share_locations_with_investigation"] == pytest.approx(1 / 3)
    # currency: newest date per location (old: sample 2012-03-01 beats its investigation 2010-01-01)
    ref = g["reference_date"]
    ages = [(ref - date(2012, 3, 1)).days / 365.25, (ref - date(2024, 5, 1)).days / 365.25]
    assert g["n_locations_dated"] == 2
    assert g["median_age_years"] == pytest.approx(sum(ages) / 2)
    assert g["n_locations_older_5y"] == sum(a > 5 for a in ages)
    assert g["n_locations_older_10y"] == sum(a > 10 for a in ages)
    assert g["newest_date"] == date(2024, 5, 1)
    # position: 3 location records quarantined for position beside 3 loaded -> 3 / 6
    assert (g["n_quarantined_missing_coordinates"], g["n_quarantined_xy_swapped"]) == (2, 1)
    assert g["n_quarantined_position"] == 3 and g["share_position_quarantined"] == pytest.approx(0.5)
    assert (g["n_quarantined"], g["n_rows_read"], g["quarantine_rate"]) == (4, 20, pytest.approx(0.2))
    assert (g["coord_decimals_min"], g["coord_decimals_max"]) == (0, 2)
    assert g["coord_decimals_counts"] == {"0": 1, "2": 1, "unknown": 1}
    assert g["share_coord_decimals_0"] == pytest.approx(0.5)
    # soil quality: worst class per location; lead in the top soil (0-0.5 m) only for the first sample
    assert (g["n_locations_assessed"], g["n_locations_achtergrondwaarde"], g["n_locations_industrie"]) == (
        3,
        2,
        1,
    )
    assert g["share_locations_industrie"] == pytest.approx(1 / 3)
    assert (g["n_lead_topsoil_samples"], g["n_lead_topsoil_above_wonen"]) == (1, 1)
    assert g["share_lead_topsoil_above_wonen"] == 1.0 and g["n_lead_topsoil_above_industrie"] == 0
    assert g["last_loaded_at"] is not None

    e = _gemeenten(engine)[EEMNES]
    assert e["n_bro_objects"] == 2  # one by its gemeente_code, one by its position
    assert (e["n_locations_bro_100m"], e["share_locations_bro_100m"]) == (2, pytest.approx(2 / 3))
    assert (e["n_linked_duplicates"], e["n_locations_linked"]) == (1, 2)


def test_parameter_and_source_metrics(engine: sa.Engine, metrics: Metrics) -> None:
    with engine.connect() as conn:
        pb = (
            conn.execute(
                sa.text(
                    "SELECT * FROM quality_gemeente_parameter "
                    "WHERE gemeente_code = :g AND parameter_code = 'Pb'"
                ),
                {"g": RENSWOUDE},
            )
            .mappings()
            .one()
        )
        src = (
            conn.execute(
                sa.text("SELECT * FROM quality_source WHERE source_id = :s"), {"s": metrics.source_id}
            )
            .mappings()
            .one()
        )
    # Pb 300 (standard soil) and 40 (default soil): median 170, p90 = 40 + 0.9 x 260 = 274, max 300
    assert (pb["n_samples"], pb["median"], pb["max"]) == (2, pytest.approx(170), pytest.approx(300))
    assert pb["p90"] == pytest.approx(274)
    assert (pb["n_achtergrondwaarde"], pb["n_industrie"], pb["n_wonen"]) == (1, 1, 0)
    assert src["source_name"] == metrics.source_name and src["n_datasets"] == 1
    assert (src["rows_read"], src["rows_quarantined"], src["quarantine_rate"]) == (20, 4, pytest.approx(0.2))
    assert src["quarantined_by_reason"] == {"missing_coordinates": 2, "xy_swapped": 1, "invalid_date": 1}
    assert (src["n_locations"], src["n_samples"], src["n_measurements"]) == (3, 3, 4)


def _assert_rollup(area: dict, members: list[dict]) -> None:
    assert area["n_gemeenten"] == len(members)
    for key in COUNTS:
        assert area[key] == sum(m[key] for m in members), key
    assert area["area_km2"] == pytest.approx(sum(m["area_km2"] for m in members))

    def share(num: str, den: str) -> float:
        d = sum(m[den] for m in members)
        return sum(m[num] for m in members) / d if d else 0.0

    # shares are recomputed from the summed counts, not averaged
    assert area["share_samples_with_date"] == pytest.approx(share("n_samples_with_date", "n_samples"))
    assert area["share_locations_older_10y"] == pytest.approx(
        share("n_locations_older_10y", "n_locations_dated")
    )
    assert area["quarantine_rate"] == pytest.approx(share("n_rows_quarantined", "n_rows_read"))
    assert area["share_lead_topsoil_above_wonen"] == pytest.approx(
        share("n_lead_topsoil_above_wonen", "n_lead_topsoil_samples")
    )
    pos = sum(m["n_quarantined_position"] for m in members)
    assert area["share_position_quarantined"] == pytest.approx(
        pos / (sum(m["n_locations"] for m in members) + pos) if pos else 0.0
    )


def test_province_totals_equal_the_sum_over_gemeenten(engine: sa.Engine, metrics: Metrics) -> None:
    rows = list(_gemeenten(engine).values())
    with engine.connect() as conn:
        (prov,) = quality.report(conn, "provincie")
    assert prov["provincie"] == "PV26" and prov["provincie_name"] == "Utrecht"
    _assert_rollup(prov, rows)
    assert prov["n_locations"] >= 6 and prov["n_bro_objects"] >= 2


@pytest.mark.parametrize(
    ("day", "diensten"),
    [(date(2025, 6, 1), {"ODRU": 15, "RUDU": 11}), (date(2026, 6, 1), {"ODU": 26})],
)
def test_omgevingsdienst_totals_equal_the_sum_over_members(
    engine: sa.Engine, metrics: Metrics, day: date, diensten: dict[str, int]
) -> None:
    gemeenten = _gemeenten(engine)
    with engine.connect() as conn:
        members = conn.execute(
            sa.text(
                """SELECT omgevingsdienst_code, array_agg(gemeente_code) FROM omgevingsdienst_membership
                   WHERE gemeente_code LIKE 'GM%' AND (valid_from IS NULL OR valid_from <= :d)
                     AND (valid_to IS NULL OR :d < valid_to)
                   GROUP BY 1"""
            ),
            {"d": day},
        ).all()
        rows = {r["omgevingsdienst_code"]: r for r in quality.report(conn, "omgevingsdienst", on_date=day)}
    assert {od: len(r["gemeente_codes"]) for od, r in rows.items()} == diensten
    for od, codes in members:
        _assert_rollup(rows[od], [gemeenten[c] for c in codes])
    if day.year == 2025:  # Renswoude was ODRU, Eemnes RUDU: the test data land on both sides
        assert rows["ODRU"]["n_quarantined_position"] >= 3 and rows["RUDU"]["n_bro_objects"] >= 2


def test_rollup_of_one_gemeente_is_its_own_row(engine: sa.Engine, metrics: Metrics) -> None:
    g = _gemeenten(engine)[RENSWOUDE]
    with engine.connect() as conn:
        (row,) = (
            conn.execute(
                sa.text("SELECT * FROM quality_rollup('test', NULL, ARRAY['X'], ARRAY['x'], ARRAY[:g])"),
                {"g": RENSWOUDE},
            )
            .mappings()
            .all()
        )
    for key, value in row.items():
        if key in g:
            assert value == (pytest.approx(g[key]) if isinstance(value, float) else g[key]), key


def _cli(settings: StoreSettings, monkeypatch: pytest.MonkeyPatch, *args: str):
    monkeypatch.setenv("GRONDSLAG_DATABASE_URL", settings.libpq_url)
    return runner.invoke(app, list(args))


def test_cli_report_json_shape(
    settings: StoreSettings, metrics: Metrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ("n_locations", "n_samples", "n_measurements", "n_bro_objects")
    result = _cli(settings, monkeypatch, "report", "--level", "gemeente", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert isinstance(rows, list) and len(rows) == 26
    assert all({"gemeente_code", "gemeente_name", *base} <= set(r) for r in rows)
    result = _cli(settings, monkeypatch, "report", "--gemeente", "339", "--format", "json")
    (one,) = json.loads(result.stdout)
    assert one["gemeente_code"] == RENSWOUDE and one["n_locations"] == 3

    result = _cli(
        settings, monkeypatch, "report", "-l", "omgevingsdienst", "--date", "2025-06-01", "-f", "json"
    )
    rows = json.loads(result.stdout)
    assert [r["omgevingsdienst_code"] for r in rows] == ["ODRU", "RUDU"]
    assert all(set(base) <= set(r) and "area_code" not in r for r in rows)
    result = _cli(
        settings, monkeypatch, "report", "-l", "omgevingsdienst", "--omgevingsdienst", "odu", "-f", "json"
    )
    assert [r["omgevingsdienst_code"] for r in json.loads(result.stdout)] in (["ODU"], [])

    result = _cli(settings, monkeypatch, "report", "--level", "provincie", "--format", "json")
    (prov,) = json.loads(result.stdout)
    assert prov["provincie"] == "PV26" and set(base) <= set(prov)

    result = _cli(settings, monkeypatch, "report", "--level", "provincie", "--format", "csv")
    assert result.exit_code == 0 and result.stdout.splitlines()[0].startswith("provincie,provincie_name,")
    result = _cli(settings, monkeypatch, "report")
    assert result.exit_code == 0 and "Renswoude" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("report", "--gemeente", "GM9999"),
        ("report", "--level", "omgevingsdienst", "--omgevingsdienst", "XYZ"),
        ("report", "--level", "provincie", "--gemeente", "GM0339"),
        ("report", "--level", "omgevingsdienst", "--date", "2025-13-01"),
    ],
)
def test_cli_unknown_code_exits_2(
    settings: StoreSettings, monkeypatch: pytest.MonkeyPatch, args: tuple
) -> None:
    result = _cli(settings, monkeypatch, *args)
    assert result.exit_code == 2, result.output
    assert "error:" in result.stderr


def test_refresh_twice_concurrently_and_reading_does_not_recompute(
    engine: sa.Engine, settings: StoreSettings, metrics: Metrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.begin() as conn:
        first = quality.refresh(conn)
        second = quality.refresh(conn)
        populated = dict(
            conn.execute(
                sa.text("SELECT matviewname, ispopulated FROM pg_matviews WHERE schemaname = 'public'")
            ).all()
        )
    assert list(first) == list(second) == list(quality.VIEWS)
    assert all(populated[v] for v in quality.VIEWS)
    result = _cli(settings, monkeypatch, "refresh", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [r["view"] for r in json.loads(result.stdout)] == [*quality.VIEWS, "total"]

    # new data show up after a refresh, not before: reading never recomputes
    before = _gemeenten(engine)[RENSWOUDE]["n_locations"]
    with engine.begin() as conn:
        extra = SoilData(conn, RENSWOUDE, "metrics_extra")
        extra.location()
    try:
        assert _gemeenten(engine)[RENSWOUDE]["n_locations"] == before
        with engine.begin() as conn:
            quality.refresh(conn)
        assert _gemeenten(engine)[RENSWOUDE]["n_locations"] == before + 1
    finally:
        with engine.begin() as conn:
            extra.delete(conn)
            quality.refresh(conn)


def test_views_reading_follows_the_catalogue(engine: sa.Engine) -> None:
    """Which views a change of a table must refresh comes from pg_depend, through views of views."""
    municipal = quality.VIEWS  # every view reads measurements, directly or through the assessments
    bro_only = ("quality_location", "quality_gemeente", "quality_source")
    assessments = ("measurement_assessment", "sample_assessment", "location_assessment")
    with engine.connect() as conn:
        assert quality.views_reading(conn, ["measurement"]) == municipal
        assert quality.views_reading(conn, ["location", "sample"]) == municipal
        assert quality.views_reading(conn, ["bro_object", "bro_location_link", "dataset"]) == bro_only
        assert quality.views_reading(conn, ["bro_cpt_data", "bro_well_tube"]) == ()  # read by no quality view
        # norms: the assessments and what is built on them, not the per-location facts
        assert quality.views_reading(conn, ["soil_norm"]) == (
            *assessments,
            "quality_gemeente_parameter",
            "quality_gemeente",
        )
        assert quality.views_reading(conn, ["quarantine"]) == ("quality_gemeente", "quality_source")
