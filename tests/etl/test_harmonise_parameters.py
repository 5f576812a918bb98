"""The parameter catalogue (db/reference/parameters.yaml) and its lookup."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from etl.errors import ConfigError
from etl.harmonise.parameters import Catalogue, normalise_key


def test_catalogue_covers_norms_and_sums(repo: Path, catalogue: Catalogue) -> None:
    with open(repo / "db" / "reference" / "soil_norms.csv", encoding="utf-8") as fh:
        norms = list(csv.DictReader(fh))
    for row in norms:
        p = catalogue.get(row["parameter_code"])
        assert p.canonical_unit == row["unit"]
        assert (p.cas or "") == row["cas"]
    with open(repo / "db" / "reference" / "sum_parameters.csv", encoding="utf-8") as fh:
        members = list(csv.DictReader(fh))
    by_cas = {p.cas: p for p in catalogue.parameters.values() if p.cas}
    for row in members:
        member = by_cas[row["cas"]]
        assert member.code in catalogue.get(row["somparameter_code"]).sum_of
    assert len(catalogue.get("PAK10").sum_of) == 10 and len(catalogue.get("PCB7").sum_of) == 7
    for code in ("lutum", "organische_stof", "droge_stof"):
        assert catalogue.get(code).canonical_unit == "%"
    assert {p.group for p in catalogue.parameters.values()} == {
        "metalen",
        "PAK",
        "PCB",
        "overig",
        "bodemkenmerken",
    }


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("Pb", "Pb"),
        ("pb", "Pb"),
        ("lood", "Pb"),
        ("Lood (Pb)", "Pb"),
        ("LOOD (PB)", "Pb"),
        ("lood_mgkg", "Pb"),
        ("7439-92-1", "Pb"),  # CAS
        ("urn:immetingen:parameter:id:1116", "Pb"),  # SIKB domain id
        ("Arseen (As)", "As"),
        ("PAK 10 VROM", "PAK10"),
        ("PAK (10 VROM)", "PAK10"),
        ("PCB (som 7)", "PCB7"),
        ("pcb7_ugkg", "PCB7"),
        ("Minerale olie C10-C40", "OLIE"),
        ("Minerale olie (C10-C40)", "OLIE"),
        ("Organische stof (humus)", "organische_stof"),
        ("Organische stof", "organische_stof"),
        ("Lutum", "lutum"),
        ("benzo(a)pyreen", "BAP"),
        ("Benzo[a]pyreen", "BAP"),
        ("indeno(1,2,3-cd)pyreen", "INDP"),
        ("PCB 153", "PCB153"),
        ("2,2',4,4',5,5'-hexachloorbifenyl", "PCB153"),
        ("Naftaleen", "NAFT"),
    ],
)
def test_lookup(catalogue: Catalogue, label: str, code: str) -> None:
    p = catalogue.lookup(label)
    assert p is not None and p.code == code


@pytest.mark.parametrize(
    "label",
    [
        "Pb/Zn ratio",
        "Stof 123",
        "onbekend",
        "Param_17",
        "Testparameter",
        "",
        None,
        "urn:immetingen:parameter:id:1",
    ],
)
def test_unknown_labels(catalogue: Catalogue, label: str | None) -> None:
    assert catalogue.lookup(label) is None


def test_normalise_key() -> None:
    assert normalise_key("  Lood (Pb) ") == "loodpb"
    assert normalise_key("Coördinaten") == "coordinaten"
    assert normalise_key("µg") == "ug"


def test_bad_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("parameters:\n  - {code: X, name_nl: x}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="lacks canonical_unit"):
        Catalogue.load(path)
    path.write_text(
        "parameters:\n"
        "  - {code: X, name_nl: x, canonical_unit: '%'}\n"
        "  - {code: X, name_nl: y, canonical_unit: '%'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="duplicate code 'X'"):
        Catalogue.load(path)
