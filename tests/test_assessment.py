"""Assessment (toetsing): worked examples computed by hand from the published formulas.

Norms (soil_norms.csv, standard soil, mg/kg ds) and constants (soil_type_correction.csv) used below:
    Pb   AW 50   wonen 210  industrie 530  IW 530    A=50  B=1    C=1     (L >= 2, H >= 2)
    Zn   AW 140  wonen 200  industrie 720  IW 720    A=50  B=3    C=1.5   (L >= 2, H >= 2)
    Cd   AW 0.6  wonen 1.2  industrie 4.3  IW 13     A=0.4 B=0.007 C=0.021
    As   AW 20   wonen 27   industrie 76   IW 76     A=15  B=0.4  C=0.4
    Mo   AW 1.5  wonen 88   industrie 190  IW 190    A=1   B=0    C=0     (no correction)
    OLIE AW 190  wonen 190  industrie 500  IW 5000   organic: G_st = G x 10 / H, H clamped 2..30
    PAK10 AW 1.5 wonen 6.8  industrie 40   IW 40     PAK:     G_st = G x 10 / H, H clamped 10..30
    PCB7 AW 0.02 wonen 0.04 industrie 0.5  IW 1      organic: H clamped 2..30
Metals: G_st = G x (A + B*25 + C*10) / (A + B*L + C*H). Below the detection limit: 0.7 x limit.
These are the pre-Omgevingswet norms; their 2024+ status is not verified (norms_verified = false).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.quality import refresh

GEMEENTE = "GM0313"  # Bunschoten: no other test writes there


class SoilData:
    """Test rows under one source (also used by test_quality_metrics.py).

    Deleting the source removes all of it (datasets, locations, samples, measurements cascade).
    """

    def __init__(self, conn: Connection, gemeente_code: str | None, label: str) -> None:
        self.conn = conn
        self.gemeente_code = gemeente_code
        self.source_name = f"test_{label}_{uuid.uuid4().hex[:10]}"
        self.source_id = conn.execute(
            sa.text("INSERT INTO source (name, kind, gemeente_code) VALUES (:n, 'test', :g) RETURNING id"),
            {"n": self.source_name, "g": gemeente_code},
        ).scalar_one()
        self.dataset_id = conn.execute(
            sa.text(
                "INSERT INTO dataset (source_id, path, sha256, format) "
                "VALUES (:s, :p, :h, 'test') RETURNING id"
            ),
            {"s": self.source_id, "p": f"{self.source_name}.csv", "h": uuid.uuid4().hex * 2},
        ).scalar_one()
        self._n = 0

    def _key(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def investigation(self, on: date | None) -> int:
        return self.conn.execute(
            sa.text(
                "INSERT INTO investigation (dataset_id, external_id, investigation_date) "
                "VALUES (:d, :e, :dt) RETURNING id"
            ),
            {"d": self.dataset_id, "e": self._key("O"), "dt": on},
        ).scalar_one()

    def location(
        self,
        gemeente_code: str | None = None,
        *,
        coord_decimals: int | None = 2,
        investigation_id: int | None = None,
        offset_m: float = 0.0,
    ) -> int:
        """A point inside the gemeente (its point on surface, shifted ``offset_m`` east)."""
        code = gemeente_code or self.gemeente_code
        return self.conn.execute(
            sa.text(
                """INSERT INTO location (dataset_id, investigation_id, external_id, gemeente_code,
                                         coord_decimals, geom)
                   SELECT :d, :i, :e, g.code, :cd, ST_Translate(ST_PointOnSurface(g.geom), :off, 0)
                   FROM gemeente g WHERE g.code = :g
                   RETURNING id"""
            ),
            {
                "d": self.dataset_id,
                "i": investigation_id,
                "e": self._key("B"),
                "g": code,
                "cd": coord_decimals,
                "off": offset_m,
            },
        ).scalar_one()

    def sample(
        self,
        location_id: int,
        *,
        lutum: float | None = None,
        organic_matter: float | None = None,
        depth: tuple[float | None, float | None] = (0.0, 0.5),
        sample_date: date | None = date(2024, 5, 1),
        investigation_id: int | None = None,
    ) -> int:
        return self.conn.execute(
            sa.text(
                """INSERT INTO sample (dataset_id, location_id, investigation_id, external_id, depth_from_m,
                                       depth_to_m, sample_date, lutum_pct, organic_matter_pct)
                   VALUES (:d, :l, :i, :e, :f, :t, :sd, :lu, :om) RETURNING id"""
            ),
            {
                "d": self.dataset_id,
                "l": location_id,
                "i": investigation_id,
                "e": self._key("M"),
                "f": depth[0],
                "t": depth[1],
                "sd": sample_date,
                "lu": lutum,
                "om": organic_matter,
            },
        ).scalar_one()

    def measure(
        self,
        sample_id: int,
        parameter_code: str,
        value: float,
        *,
        below_detection_limit: bool = False,
        detection_limit: float | None = None,
        unit: str = "mg/kg ds",
    ) -> int:
        return self.conn.execute(
            sa.text(
                """INSERT INTO measurement (sample_id, dataset_id, parameter_code, value, unit,
                                            below_detection_limit, detection_limit)
                   VALUES (:s, :d, :p, :v, :u, :b, :dl) RETURNING id"""
            ),
            {
                "s": sample_id,
                "d": self.dataset_id,
                "p": parameter_code,
                "v": value,
                "u": unit,
                "b": below_detection_limit,
                "dl": detection_limit,
            },
        ).scalar_one()

    def quarantine(self, reason: str, n: int = 1, unit: str = "location") -> None:
        self.conn.execute(
            sa.text(
                """INSERT INTO quarantine (dataset_id, locator, reason, unit, message)
                   SELECT :d, 'row ' || g, :r, :u, 'test' FROM generate_series(1, :n) g"""
            ),
            {"d": self.dataset_id, "r": reason, "u": unit, "n": n},
        )

    def delete(self, conn: Connection) -> None:
        """Remove everything of this source (on ``conn``: the building connection may be closed)."""
        conn.execute(sa.text("DELETE FROM source WHERE id = :s"), {"s": self.source_id})


def member_codes(conn: Connection, sum_code: str) -> tuple[dict[str, str], list[str]]:
    """CAS -> parameter code of the members of ``sum_code``; creates a stand-in parameter for a
    member missing from the catalogue. Returns the map and the stand-ins created (to delete)."""
    rows = conn.execute(
        sa.text(
            """SELECT spm.cas, p.code FROM sum_parameter_member spm
               LEFT JOIN parameter p ON p.cas = spm.cas OR p.code = spm.member_code
               WHERE spm.sum_code = :s"""
        ),
        {"s": sum_code},
    ).all()
    codes: dict[str, str] = {}
    created: list[str] = []
    for cas, code in rows:
        if code is None:
            code = f"test_{cas}"
            conn.execute(
                sa.text(
                    """INSERT INTO parameter (code, name_nl, cas, "group", canonical_unit)
                       VALUES (:c, :c, :cas, :g, 'mg/kg ds') ON CONFLICT (code) DO NOTHING"""
                ),
                {"c": code, "cas": cas, "g": "PAK" if sum_code == "PAK10" else "PCB"},
            )
            created.append(code)
        codes[cas] = code
    return codes, created


# -- the worked examples --------------------------------------------------------------------------------
@dataclass
class Case:
    """Ids of the fixture rows by name: measurements (m), samples (s), locations (loc)."""

    m: dict[str, int] = field(default_factory=dict)
    s: dict[str, int] = field(default_factory=dict)
    loc: dict[str, int] = field(default_factory=dict)
    pak: dict[str, str] = field(default_factory=dict)  # CAS -> parameter code
    pcb: dict[str, str] = field(default_factory=dict)


PCB_VALUES = {  # CAS: (value as stored, below detection limit)
    "7012-37-5": (0.001, True),  # PCB 28  <0.001 -> 0.7 x 0.001 = 0.0007
    "35693-99-3": (0.001, True),  # PCB 52  <0.001 -> 0.0007
    "37680-73-2": (0.002, False),  # PCB 101
    "31508-00-6": (0.003, False),  # PCB 118
    "35065-28-2": (0.010, False),  # PCB 138
    "35065-27-1": (0.012, False),  # PCB 153
    "35065-29-3": (0.008, False),  # PCB 180
}


def _build(d: SoilData, case: Case) -> None:
    m, s, loc = case.m, case.s, case.loc
    # metals ---------------------------------------------------------------------------------------
    loc["metals"] = d.location()
    s["measured"] = d.sample(loc["metals"], lutum=5, organic_matter=3)
    m["pb_measured"] = d.measure(s["measured"], "Pb", 100)
    s["default"] = d.sample(loc["metals"])  # no lutum, no organic matter
    m["pb_default"] = d.measure(s["default"], "Pb", 100)
    m["mo_none"] = d.measure(s["default"], "Mo", 2.0)
    m["ba"] = d.measure(s["default"], "Ba", 300)  # barium: no norms -> no class
    s["as_parameters"] = d.sample(loc["metals"])  # lutum / organic matter delivered as measurements
    m["lutum"] = d.measure(s["as_parameters"], "lutum", 5, unit="%")
    m["om"] = d.measure(s["as_parameters"], "organische_stof", 3, unit="%")
    m["pb_as_parameters"] = d.measure(s["as_parameters"], "Pb", 100)
    s["lutum_only"] = d.sample(loc["metals"], lutum=5)
    m["pb_lutum_only"] = d.measure(s["lutum_only"], "Pb", 100)
    s["clamp_low"] = d.sample(loc["metals"], lutum=1, organic_matter=1)
    m["zn_clamped"] = d.measure(s["clamp_low"], "Zn", 100)
    m["olie_om1"] = d.measure(s["clamp_low"], "OLIE", 50)
    # organic substances at the clamping bounds --------------------------------------------------------
    loc["organic"] = d.location()
    s["om40"] = d.sample(loc["organic"], lutum=20, organic_matter=40)
    m["olie_om40"] = d.measure(s["om40"], "OLIE", 600)
    m["pak_om40"] = d.measure(s["om40"], "PAK10", 3)
    s["om5"] = d.sample(loc["organic"], lutum=20, organic_matter=5)
    m["pak_om5"] = d.measure(s["om5"], "PAK10", 3)
    m["olie_om5"] = d.measure(s["om5"], "OLIE", 100)
    # below the detection limit, sums ---------------------------------------------------------------
    loc["bdl"] = d.location()
    s["bdl"] = d.sample(loc["bdl"], lutum=25, organic_matter=10)
    m["cd_bdl"] = d.measure(s["bdl"], "Cd", 0.2, below_detection_limit=True)
    m["as_bdl"] = d.measure(s["bdl"], "As", 8, below_detection_limit=True, detection_limit=8)
    s["pcb"] = d.sample(loc["bdl"], lutum=25, organic_matter=10)
    for cas, (value, bdl) in PCB_VALUES.items():
        m[f"pcb_{cas}"] = d.measure(s["pcb"], case.pcb[cas], value, below_detection_limit=bdl)
    s["pak_delivered"] = d.sample(loc["bdl"], lutum=25, organic_matter=10)
    m["pak_delivered"] = d.measure(s["pak_delivered"], "PAK10", 2.0)
    m["bap_member"] = d.measure(s["pak_delivered"], case.pak["50-32-8"], 0.5)
    # class boundaries: standard soil measured (L = 25, H = 10), so G_st = G ------------------------
    loc["bounds"] = d.location()
    s["bounds"] = d.sample(loc["bounds"], lutum=25, organic_matter=10)
    for value in (0.6, 0.61, 1.2, 1.21, 4.3, 4.31, 13, 13.01):
        m[f"cd_{value}"] = d.measure(s["bounds"], "Cd", value)
    # a location whose worst class comes from a sum computed from its members --------------------------
    loc["sum_worst"] = d.location()
    s["sum_a"] = d.sample(loc["sum_worst"])
    m["pb_sum_a"] = d.measure(s["sum_a"], "Pb", 100)
    m["zn_sum_a"] = d.measure(s["sum_a"], "Zn", 150)
    s["sum_b"] = d.sample(loc["sum_worst"], lutum=25, organic_matter=10, depth=(0.5, 1.0))
    for code in case.pak.values():
        d.measure(s["sum_b"], code, 4.5)


@pytest.fixture(scope="module")
def case(engine: sa.Engine) -> Iterator[Case]:
    c = Case()
    with engine.begin() as conn:
        c.pak, created_pak = member_codes(conn, "PAK10")
        c.pcb, created_pcb = member_codes(conn, "PCB7")
        data = SoilData(conn, GEMEENTE, "assessment")
        _build(data, c)
        refresh(conn)
    yield c
    with engine.begin() as conn:
        data.delete(conn)
        conn.execute(sa.text("DELETE FROM parameter WHERE code = ANY(:c)"), {"c": created_pak + created_pcb})
        refresh(conn)


def _ma(engine: sa.Engine, measurement_id: int) -> dict:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                sa.text("SELECT * FROM measurement_assessment WHERE measurement_id = :m"),
                {"m": measurement_id},
            )
            .mappings()
            .one()
        )


def _derived(engine: sa.Engine, sample_id: int) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT * FROM measurement_assessment WHERE sample_id = :s AND derived"), {"s": sample_id}
        ).mappings()
        return [dict(r) for r in rows]


def _one(engine: sa.Engine, view: str, key: str, value: int) -> dict:
    with engine.connect() as conn:
        return dict(
            conn.execute(sa.text(f"SELECT * FROM {view} WHERE {key} = :v"), {"v": value}).mappings().one()
        )


def test_metal_with_lutum_and_organic_matter(engine: sa.Engine, case: Case) -> None:
    # Pb 100 at L = 5, H = 3: 100 x (50 + 1*25 + 1*10) / (50 + 1*5 + 1*3) = 100 x 85/58 = 146.5517...
    r = _ma(engine, case.m["pb_measured"])
    assert r["value_std"] == pytest.approx(100 * 85 / 58) == pytest.approx(146.551724137931)
    assert (r["correction"], r["lutum_used"], r["organic_matter_used"]) == ("measured", 5, 3)
    assert r["klasse"] == "wonen" and r["above_interventiewaarde"] is False  # 50 < 146.55 <= 210
    # the same when lutum and organic matter come as measurements of the sample
    r = _ma(engine, case.m["pb_as_parameters"])
    assert r["value_std"] == pytest.approx(146.551724137931) and r["correction"] == "measured"


def test_metal_without_lutum_and_organic_matter_uses_standard_soil(engine: sa.Engine, case: Case) -> None:
    # no L, no H: standard soil (25, 10) -> 100 x 85/85 = 100, recorded as 'default'
    r = _ma(engine, case.m["pb_default"])
    assert r["value_std"] == pytest.approx(100.0)
    assert (r["correction"], r["lutum_used"], r["organic_matter_used"]) == ("default", 25, 10)
    assert r["klasse"] == "wonen"
    # only lutum measured (5): H defaults to 10 -> 100 x 85 / (50 + 5 + 10) = 100 x 85/65 = 130.769...
    r = _ma(engine, case.m["pb_lutum_only"])
    assert r["value_std"] == pytest.approx(130.76923076923077) and r["correction"] == "default"


def test_metal_clamped_and_substances_without_correction(engine: sa.Engine, case: Case) -> None:
    # Zn 100 at L = 1, H = 1, clamped to L = 2, H = 2:
    # 100 x (50 + 3*25 + 1.5*10) / (50 + 3*2 + 1.5*2) = 100 x 140/59 = 237.288...
    # -> industrie (200 < x <= 720)
    r = _ma(engine, case.m["zn_clamped"])
    assert r["value_std"] == pytest.approx(100 * 140 / 59) == pytest.approx(237.28813559322035)
    assert (r["lutum_used"], r["organic_matter_used"], r["klasse"]) == (2, 2, "industrie")
    # Mo: A=1, B=C=0, no correction: 2.0 stays 2.0 -> wonen (1.5 < 2 <= 88)
    r = _ma(engine, case.m["mo_none"])
    assert (r["value_std"], r["correction"], r["klasse"]) == (2.0, "none", "wonen")
    assert r["lutum_used"] is None and r["organic_matter_used"] is None


def test_substances_without_norms_are_not_assessed(engine: sa.Engine, case: Case) -> None:
    # lutum, organic matter and the members of a sum have no norms (inputs of the assessment), and
    # barium's norms are withdrawn (empty in soil_norms.csv): no assessment row for any of them
    ids = [case.m["lutum"], case.m["om"], case.m["bap_member"], case.m["pcb_7012-37-5"], case.m["ba"]]
    with engine.connect() as conn:
        n = conn.execute(
            sa.text("SELECT count(*) FROM measurement_assessment WHERE measurement_id = ANY(:ids)"),
            {"ids": ids},
        ).scalar()
    assert n == 0


def test_organic_substances_at_the_clamping_bounds(engine: sa.Engine, case: Case) -> None:
    # OLIE 50 at H = 1 -> clamped to 2: 50 x 10/2 = 250 -> industrie (190 < 250 <= 500)
    r = _ma(engine, case.m["olie_om1"])
    assert r["value_std"] == pytest.approx(250.0) and r["organic_matter_used"] == 2
    assert r["klasse"] == "industrie" and r["lutum_used"] is None
    # OLIE 600 at H = 40 -> clamped to 30: 600 x 10/30 = 200 -> industrie
    r = _ma(engine, case.m["olie_om40"])
    assert r["value_std"] == pytest.approx(200.0) and r["organic_matter_used"] == 30
    assert r["klasse"] == "industrie"
    # PAK10 3 at H = 40 -> 30: 3 x 10/30 = 1.0 -> achtergrondwaarde (<= 1.5)
    r = _ma(engine, case.m["pak_om40"])
    assert r["value_std"] == pytest.approx(1.0) and r["klasse"] == "achtergrondwaarde"
    # PAK10 3 at H = 5 -> PAK minimum 10: 3 x 10/10 = 3.0 -> wonen (1.5 < 3 <= 6.8)
    r = _ma(engine, case.m["pak_om5"])
    assert r["value_std"] == pytest.approx(3.0) and r["organic_matter_used"] == 10 and r["klasse"] == "wonen"
    # ... while minerale olie at the same H = 5 is not lifted to 10: 100 x 10/5 = 200
    r = _ma(engine, case.m["olie_om5"])
    assert r["value_std"] == pytest.approx(200.0) and r["organic_matter_used"] == 5


def test_below_detection_limit_counts_seven_tenths(engine: sa.Engine, case: Case) -> None:
    # Cd '<0.2' (the value holds the limit): 0.7 x 0.2 = 0.14, standard soil -> 0.14 -> achtergrondwaarde
    r = _ma(engine, case.m["cd_bdl"])
    assert r["below_detection_limit"] is True and r["value"] == 0.2
    assert r["value_used"] == pytest.approx(0.14) and r["value_std"] == pytest.approx(0.14)
    assert r["klasse"] == "achtergrondwaarde"
    # As with detection_limit 8: 0.7 x 8 = 5.6
    r = _ma(engine, case.m["as_bdl"])
    assert r["value_used"] == pytest.approx(5.6) and r["value_std"] == pytest.approx(5.6)
    assert r["below_detection_limit"] is True


def test_sum_parameter_computed_from_members(engine: sa.Engine, case: Case) -> None:
    # PCB7 not delivered: 0.0007 + 0.0007 + 0.002 + 0.003 + 0.010 + 0.012 + 0.008 = 0.0364 (H = 10: x 10/10)
    # -> wonen (0.02 < 0.0364 <= 0.04)
    (r,) = _derived(engine, case.s["pcb"])
    assert r["parameter_code"] == "PCB7" and r["measurement_id"] is None
    assert r["value_std"] == pytest.approx(0.0364) and r["n_sum_members"] == 7
    assert r["below_detection_limit"] is False and r["klasse"] == "wonen"
    # a sum delivered as a sum is used as delivered; its members do not make a second one
    assert _derived(engine, case.s["pak_delivered"]) == []
    r = _ma(engine, case.m["pak_delivered"])
    assert r["value_std"] == pytest.approx(2.0) and r["klasse"] == "wonen"


@pytest.mark.parametrize(
    ("value", "klasse", "above_iw"),
    [
        (0.6, "achtergrondwaarde", False),  # equal to AW: still achtergrondwaarde
        (0.61, "wonen", False),
        (1.2, "wonen", False),  # equal to maximaal wonen
        (1.21, "industrie", False),
        (4.3, "industrie", False),  # equal to maximaal industrie
        (4.31, "niet_toepasbaar", False),
        (13, "niet_toepasbaar", False),  # equal to the interventiewaarde: not above it
        (13.01, "niet_toepasbaar", True),
    ],
)
def test_class_boundaries(engine: sa.Engine, case: Case, value: float, klasse: str, above_iw: bool) -> None:
    # Cd at L = 25, H = 10 measured: (0.4 + 0.007*25 + 0.021*10) / (same) = 1, so G_st = G
    r = _ma(engine, case.m[f"cd_{value}"])
    assert r["value_std"] == pytest.approx(value) and r["correction"] == "measured"
    assert (r["klasse"], r["above_interventiewaarde"]) == (klasse, above_iw)


def test_sample_worst_class_and_deciding_parameters(engine: sa.Engine, case: Case) -> None:
    r = _one(engine, "sample_assessment", "sample_id", case.s["bounds"])
    assert (r["klasse"], r["above_interventiewaarde"], r["deciding_parameters"]) == (
        "niet_toepasbaar",
        True,
        ["Cd"],
    )
    assert r["n_assessed"] == 8 and r["norms_verified"] is False
    assert r["interventiewaarde_parameters"] == ["Cd"]
    r = _one(engine, "sample_assessment", "sample_id", case.s["clamp_low"])
    assert (r["klasse"], r["deciding_parameters"]) == ("industrie", ["OLIE", "Zn"])  # a tie: both decide
    r = _one(engine, "sample_assessment", "sample_id", case.s["bdl"])
    assert (r["klasse"], r["deciding_parameters"]) == ("achtergrondwaarde", ["As", "Cd"])
    assert r["interventiewaarde_parameters"] is None  # none above it


def test_location_worst_class_from_a_sum(engine: sa.Engine, case: Case) -> None:
    # sample a: Pb 100 (standard soil -> 100, wonen), Zn 150 (wonen: 140 < 150 <= 200)
    # sample b: ten PAK members of 4.5 each, no PAK10 delivered: sum 45, H = 10 -> 45 > 40 -> niet_toepasbaar,
    # and above the interventiewaarde 40
    (pak,) = _derived(engine, case.s["sum_b"])
    assert pak["parameter_code"] == "PAK10" and pak["n_sum_members"] == 10
    assert pak["value_std"] == pytest.approx(45.0) and pak["klasse"] == "niet_toepasbaar"
    a = _one(engine, "sample_assessment", "sample_id", case.s["sum_a"])
    assert (a["klasse"], a["deciding_parameters"]) == ("wonen", ["Pb", "Zn"])
    r = _one(engine, "location_assessment", "location_id", case.loc["sum_worst"])
    assert r["klasse"] == "niet_toepasbaar" and r["deciding_parameters"] == ["PAK10"]
    assert r["above_interventiewaarde"] is True and r["interventiewaarde_parameters"] == ["PAK10"]
    assert r["n_samples"] == 2 and r["gemeente_code"] == GEMEENTE


def test_every_measurement_of_a_normed_substance_assessed_once(engine: sa.Engine, case: Case) -> None:
    with engine.connect() as conn:
        missing = conn.execute(
            sa.text(
                """SELECT count(*) FROM measurement m
                   WHERE m.id = ANY(:ids) AND m.parameter_code IN (
                       SELECT parameter_code FROM soil_norm WHERE achtergrondwaarde IS NOT NULL)
                     AND (SELECT count(*) FROM measurement_assessment a WHERE a.measurement_id = m.id) <> 1"""
            ),
            {"ids": list(case.m.values())},
        ).scalar()
        verified = conn.execute(
            sa.text("SELECT bool_or(norms_verified) FROM measurement_assessment")
        ).scalar()
    assert missing == 0
    assert verified is False  # the norms' 2024+ status is not verified, and the results say so


def test_klasse_rank_is_an_immutable_order(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        volatility = conn.execute(
            sa.text("SELECT provolatile FROM pg_proc WHERE proname = 'klasse_rank'")
        ).scalar()
        ranks = conn.execute(
            sa.text(
                "SELECT klasse_rank('achtergrondwaarde'), klasse_rank('wonen'), klasse_rank('industrie'), "
                "klasse_rank('niet_toepasbaar'), klasse_rank(NULL), klasse_name(3)"
            )
        ).one()
    assert volatility == "i"
    assert tuple(ranks) == (1, 2, 3, 4, None, "industrie")
