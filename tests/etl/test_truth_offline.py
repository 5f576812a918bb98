"""The three municipal exports, read and harmonised with their mappings, against truth.json.

``outside_gemeente`` is decided later by the loader (PostGIS point-in-polygon), so what harmonise
passes on is truth's loaded data *plus* the locations truth lists under outside_gemeente. Those are
the locations we pass on that are not in truth's ``location_ids``; without them every count per
parameter must equal truth exactly.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from etl.harmonise.parameters import Catalogue
from etl.harmonise.pipeline import harmonise_source
from etl.mapping import Mapping, load_mapping, mapping_from_dict
from etl.records import HarmonisedBatch

SOURCES = ["de_ronde_venen", "houten", "stichtse_vecht"]
_BATCHES: dict[str, tuple[Mapping, HarmonisedBatch]] = {}


@pytest.fixture
def run(repo: Path, export_file: Any, catalogue: Catalogue) -> Any:
    """``run(source)`` -> (mapping, batch); harmonised once per source and test session."""

    def _run(source: str) -> tuple[Mapping, HarmonisedBatch]:
        if source not in _BATCHES:
            mapping = load_mapping(repo / "sources" / f"{source}.yaml")
            if not mapping.file_path.exists():  # not bundled in this checkout: use ../shared/data
                doc = mapping.model_dump(exclude_none=True)
                doc["reader"]["file"] = str(export_file(source, Path(mapping.reader.file).name))
                mapping = mapping_from_dict(doc)
            _BATCHES[source] = (mapping, harmonise_source(mapping, catalogue, today=date.today()))
        return _BATCHES[source]

    return _run


def _param_name(t: dict[str, Any]) -> dict[str, str]:
    return {code: name for name, code in t["parameter_codes"].items()}


@pytest.mark.parametrize("source", SOURCES)
def test_quarantine_counts_per_reason(source: str, run: Any, truth: Any) -> None:
    t = truth(source)
    _, batch = run(source)
    got = Counter(q.reason for q in batch.quarantine)
    for reason, expected in t["quarantined"].items():
        if reason == "outside_gemeente":
            continue
        assert got.get(reason, 0) == expected, reason
        unit = t["quarantine_detail"].get(reason, {}).get("unit")
        if unit:
            assert {q.unit for q in batch.quarantine if q.reason == reason} <= {unit}, reason
    assert set(got) <= set(t["quarantined"]), f"unexpected reasons: {set(got) - set(t['quarantined'])}"
    assert batch.rows_read == t["file_layout"]["rows"]


@pytest.mark.parametrize("source", SOURCES)
def test_loaded_counts_include_outside_gemeente(source: str, run: Any, truth: Any) -> None:
    t = truth(source)
    mapping, batch = run(source)
    outside = t["quarantine_detail"]["outside_gemeente"]
    assert len(batch.locations) == t["n_locations"] + outside["count"]
    assert len(batch.samples) == t["n_samples"] + outside["samples_not_loaded"]
    assert len(batch.measurements) == t["n_analyses"] + outside["analyses_not_loaded"]
    keys = {loc.key for loc in batch.locations}
    assert set(t["location_ids"]) <= keys
    assert len(keys - set(t["location_ids"])) == outside["count"]


@pytest.mark.parametrize("source", SOURCES)
def test_analyses_per_parameter_and_lead_above_210(source: str, run: Any, truth: Any) -> None:
    t = truth(source)
    mapping, batch = run(source)
    loaded_locations = set(t["location_ids"])
    samples = {s.key for s in batch.samples if s.location_key in loaded_locations}
    assert len(samples) == t["n_samples"]
    measurements = [m for m in batch.measurements if m.sample_key in samples]
    assert len(measurements) == t["n_analyses"]
    names = _param_name(t)
    per_parameter = Counter(names[m.parameter_code] for m in measurements)
    assert dict(per_parameter) == t["analyses_per_parameter"]
    lead = {
        m.sample_key
        for m in measurements
        if m.parameter_code == "Pb" and not m.below_detection_limit and m.value > 210
    }
    assert len(lead) == t["samples_lead_gt_210"]


@pytest.mark.parametrize("source", SOURCES)
def test_spot_checks(source: str, run: Any, truth: Any) -> None:
    t = truth(source)
    mapping, batch = run(source)
    samples = {s.key: s for s in batch.samples}
    assert len(t["spot_checks"]) == 10
    for check in t["spot_checks"]:
        sample = samples[check["sample_id"]]
        assert sample.location_key == check["location_id"]
        assert sample.sample_date == date.fromisoformat(check["sample_date"])
        assert sample.depth_from_m == pytest.approx(check["depth_from_m"])
        assert sample.depth_to_m == pytest.approx(check["depth_to_m"])
        found = [
            m
            for m in batch.measurements
            if m.sample_key == check["sample_id"] and m.parameter_code == check["parameter_code"]
        ]
        assert len(found) == 1, check
        m = found[0]
        assert m.value == pytest.approx(check["value"], rel=1e-9), check
        assert m.unit == check["unit"]
        assert m.below_detection_limit is check["below_detection_limit"]
        assert m.reported_unit == check["reported_unit"]
        if m.below_detection_limit:
            assert m.detection_limit == pytest.approx(check["value"])


@pytest.mark.parametrize("source", SOURCES)
def test_rejected_locations_take_their_samples_and_analyses(source: str, run: Any, truth: Any) -> None:
    t = truth(source)
    mapping, batch = run(source)
    rejected = {q.location_key for q in batch.quarantine if q.unit == "location"}
    expected = sum(t["quarantine_detail"][r]["count"] for r in ("missing_coordinates", "xy_swapped"))
    assert len(rejected) == expected
    assert not rejected & {loc.key for loc in batch.locations}
    assert not rejected & {s.location_key for s in batch.samples}
    sample_keys = {s.key for s in batch.samples}
    assert all(m.sample_key in sample_keys for m in batch.measurements)
    rejected_samples = {q.raw.get(mapping.columns.sample_id) for q in batch.quarantine if q.unit == "sample"}
    assert not rejected_samples & sample_keys
