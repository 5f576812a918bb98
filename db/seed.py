"""Load the reference data shipped in ``db/reference/`` (idempotent).

gemeenten (codes, names, boundaries), municipal history, omgevingsdiensten and their temporal
memberships, the parameter catalogue, soil norms, bodemtype-correction constants and sum
parameters. Sources and licences: ``db/reference/SOURCES.md``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyogrio
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Connection

REFERENCE_DIR = Path(__file__).parent / "reference"

# The norms in soil_norms.csv are the pre-Omgevingswet values (Rbk 2015 text, Circulaire
# bodemsanering 2013). Whether the Omgevingsregeling (2024+) kept them unchanged is NOT verified.
NORMS_VALID_FROM = date(2013, 7, 1)
NORMS_NOTE = (
    "Pre-Omgevingswet norms (Regeling bodemkwaliteit Bijlage B; interventiewaarden Circulaire "
    "bodemsanering 2013). Not verified whether the Omgevingsregeling (2024+) kept them unchanged; "
    "no source found for the announced 2024 change for lood. See db/reference/SOURCES.md section 4."
)
CORRECTION_VALID_FROM = date(2008, 1, 1)
CORRECTION_NOTE = "Rbk Bijlage G Tabel 3/4; carry-over into the Omgevingsregeling (2024+) not verified."


def _rows(name: str) -> Iterator[dict[str, str]]:
    with open(REFERENCE_DIR / name, newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def _num(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def load_catalogue() -> list[dict]:
    """The parameter catalogue (``db/reference/parameters.yaml``)."""
    with open(REFERENCE_DIR / "parameters.yaml", encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    return doc["parameters"] if isinstance(doc, dict) else doc


def seed_gemeenten(conn: Connection) -> int:
    meta = pyogrio.read_info(REFERENCE_DIR / "gemeenten.gpkg", layer="gemeenten")
    if "28992" not in (meta["crs"] or ""):
        raise RuntimeError(f"gemeenten.gpkg is in {meta['crs']}, expected EPSG:28992")
    df = pyogrio.read_dataframe(REFERENCE_DIR / "gemeenten.gpkg", layer="gemeenten")
    names = {r["gemeentecode"]: r["naam"] for r in _rows("gemeenten.csv")}
    rows = [
        {
            "code": r.gemeentecode,
            "name": names.get(r.gemeentecode, r.naam),
            "src": r.bron,
            "wkb": r.geometry.wkb,
        }
        for r in df.itertuples()
    ]
    conn.execute(
        sa.text(
            """
            INSERT INTO gemeente (code, name, source, geom, area_km2)
            SELECT :code, :name, :src, g, ST_Area(g) / 1e6
            FROM (SELECT ST_Multi(ST_SetSRID(ST_GeomFromWKB(:wkb), 28992)) AS g) s
            ON CONFLICT (code) DO UPDATE
              SET name = EXCLUDED.name, source = EXCLUDED.source, geom = EXCLUDED.geom,
                  area_km2 = EXCLUDED.area_km2
            """
        ),
        rows,
    )
    conn.execute(sa.text("DELETE FROM gemeente_history"))
    conn.execute(
        sa.text(
            """INSERT INTO gemeente_history (code, name, provincie, valid_from, valid_to, predecessors,
                   successor, event, source)
               VALUES (:c, :n, :p, :vf, :vt, :pre, :succ, :ev, :src)"""
        ),
        [
            {
                "c": r["gemeentecode"],
                "n": r["naam"],
                "p": r["provincie"],
                "vf": _date(r["valid_from"]),
                "vt": _date(r["valid_to"]),
                "pre": [c for c in r["voorgangers"].split(";") if c],
                "succ": r["opvolger"] or None,
                "ev": r["gebeurtenis"],
                "src": r["source"],
            }
            for r in _rows("gemeenten_history.csv")
        ],
    )
    return len(rows)


def seed_omgevingsdiensten(conn: Connection) -> int:
    rows = list(_rows("omgevingsdienst_membership.csv"))
    diensten = {r["omgevingsdienst_code"]: r["omgevingsdienst_naam"] for r in rows}
    conn.execute(
        sa.text(
            "INSERT INTO omgevingsdienst (code, name) VALUES (:c, :n) "
            "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name"
        ),
        [{"c": c, "n": n} for c, n in diensten.items()],
    )
    conn.execute(sa.text("DELETE FROM omgevingsdienst_membership"))
    conn.execute(
        sa.text(
            """INSERT INTO omgevingsdienst_membership
                   (gemeente_code, omgevingsdienst_code, valid_from, valid_to, source)
               VALUES (:g, :o, :vf, :vt, :src)"""
        ),
        [
            {
                "g": r["gemeentecode"],
                "o": r["omgevingsdienst_code"],
                "vf": _date(r["valid_from"]),
                "vt": _date(r["valid_to"]),
                "src": r["source"],
            }
            for r in rows
        ],
    )
    return len(rows)


def seed_parameters(conn: Connection) -> int:
    params = load_catalogue()
    conn.execute(
        sa.text(
            """INSERT INTO parameter (code, name_nl, name_en, cas, aquo_code, "group", canonical_unit,
                   aliases, sum_of)
               VALUES (:code, :name_nl, :name_en, :cas, :aquo_code, :group, :canonical_unit, :aliases,
                       :sum_of)
               ON CONFLICT (code) DO UPDATE SET name_nl = EXCLUDED.name_nl, name_en = EXCLUDED.name_en,
                   cas = EXCLUDED.cas, aquo_code = EXCLUDED.aquo_code, "group" = EXCLUDED."group",
                   canonical_unit = EXCLUDED.canonical_unit, aliases = EXCLUDED.aliases,
                   sum_of = EXCLUDED.sum_of"""
        ),
        [
            {
                "code": p["code"],
                "name_nl": p["name_nl"],
                "name_en": p.get("name_en"),
                "cas": p.get("cas"),
                "aquo_code": p.get("aquo_code"),
                "group": p.get("group", "overig"),
                "canonical_unit": p["canonical_unit"],
                "aliases": [str(a) for a in p.get("aliases") or []],
                "sum_of": p.get("sum_of"),
            }
            for p in params
        ],
    )
    return len(params)


def seed_norms(conn: Connection) -> int:
    norms = list(_rows("soil_norms.csv"))
    conn.execute(
        sa.text(
            """INSERT INTO soil_norm (parameter_code, valid_from, unit, achtergrondwaarde, maximaal_wonen,
                   maximaal_industrie, interventiewaarde, verified, note, source)
               VALUES (:p, :vf, :u, :aw, :w, :i, :iv, false, :note, :src)
               ON CONFLICT (parameter_code, valid_from) DO UPDATE SET unit = EXCLUDED.unit,
                   achtergrondwaarde = EXCLUDED.achtergrondwaarde, maximaal_wonen = EXCLUDED.maximaal_wonen,
                   maximaal_industrie = EXCLUDED.maximaal_industrie,
                   interventiewaarde = EXCLUDED.interventiewaarde, note = EXCLUDED.note,
                   source = EXCLUDED.source"""
        ),
        [
            {
                "p": r["parameter_code"],
                "vf": NORMS_VALID_FROM,
                "u": r["unit"],
                "aw": _num(r["achtergrondwaarde"]),
                "w": _num(r["maximaal_wonen"]),
                "i": _num(r["maximaal_industrie"]),
                "iv": _num(r["interventiewaarde"]),
                "note": NORMS_NOTE,
                "src": r["source"],
            }
            for r in norms
        ],
    )
    corrections = list(_rows("soil_type_correction.csv"))
    conn.execute(
        sa.text(
            """INSERT INTO soil_type_correction (parameter_code, valid_from, a, b, c, organic_matter_min,
                   organic_matter_max, lutum_min, lutum_max, note, source)
               VALUES (:p, :vf, :a, :b, :c, :omin, :omax, :lmin, :lmax, :note, :src)
               ON CONFLICT (parameter_code, valid_from) DO UPDATE SET a = EXCLUDED.a, b = EXCLUDED.b,
                   c = EXCLUDED.c, organic_matter_min = EXCLUDED.organic_matter_min,
                   organic_matter_max = EXCLUDED.organic_matter_max, lutum_min = EXCLUDED.lutum_min,
                   lutum_max = EXCLUDED.lutum_max, note = EXCLUDED.note, source = EXCLUDED.source"""
        ),
        [
            {
                "p": r["parameter_code"],
                "vf": CORRECTION_VALID_FROM,
                "a": float(r["a"]),
                "b": float(r["b"]),
                "c": float(r["c"]),
                "omin": _num(r["organische_stof_min"]),
                "omax": _num(r["organische_stof_max"]),
                "lmin": _num(r["lutum_min"]),
                "lmax": _num(r["lutum_max"]),
                "note": "; ".join(x for x in (r["opmerking"], CORRECTION_NOTE) if x),
                "src": r["source"],
            }
            for r in corrections
        ],
    )
    by_cas = {p.get("cas"): p["code"] for p in load_catalogue() if p.get("cas")}
    conn.execute(
        sa.text(
            """INSERT INTO sum_parameter_member (sum_code, member_name, cas, member_code, source)
               VALUES (:s, :n, :cas, :mc, :src)
               ON CONFLICT (sum_code, cas) DO UPDATE SET member_name = EXCLUDED.member_name,
                   member_code = EXCLUDED.member_code, source = EXCLUDED.source"""
        ),
        [
            {
                "s": r["somparameter_code"],
                "n": r["component"],
                "cas": r["cas"],
                "mc": by_cas.get(r["cas"]),
                "src": r["source"],
            }
            for r in _rows("sum_parameters.csv")
        ],
    )
    return len(norms)


def seed(conn: Connection) -> dict[str, int]:
    """Load all reference data in one transaction (the caller's). Safe to run again."""
    return {
        "gemeenten": seed_gemeenten(conn),
        "memberships": seed_omgevingsdiensten(conn),
        "parameters": seed_parameters(conn),
        "norms": seed_norms(conn),
    }
