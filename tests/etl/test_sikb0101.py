"""SIKB0101 / BRO SAD reader on the sample files, and a generated file with other prefixes."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from etl.errors import SourceError
from etl.harmonise.pipeline import harmonise
from etl.mapping import complete_sikb0101_mapping
from etl.readers import sikb0101

SIKB = ("samples", "sikb0101", "garsikbconverter__WBB_BBK_BOTOVA_v14.2.0.xml")
SAD_IMBROA = ("samples", "bro_sad", "broprogramma__v1.1.0_1_SAD_registrationRequest_IMBROA.xml")
SAD_IMBRO = ("samples", "bro_sad", "broprogramma__v1.1.0_3_SAD_registrationRequest_IMBRO.xml")


def _harmonised(path, catalogue, today=None):
    """Read a SIKB0101 / SAD file and harmonise it with the built-in SIKB0101 mapping."""
    mapping = complete_sikb0101_mapping(None, path)
    return harmonise(sikb0101.read(path), mapping, catalogue, today=today)


def test_sikb_file_samples_and_analyses(find_data) -> None:
    path = find_data(*SIKB)
    records = list(sikb0101.read(path))
    assert len(records) == 858
    assert len({r.values["sample_gml_id"] for r in records}) == 10
    assert {r.values["location_id"] for r in records} == {"MP2", "MP3"}
    assert all(r.values["x"] is None and r.values["crs"] is None for r in records)  # no geometry at all
    by_id = {r.values["analysis_gml_id"]: r for r in records}
    pcb = by_id["_2110bb01-6bf9-4a15-b7ce-17c0ae126a4f"]
    assert pcb.values["parameter"] == "urn:immetingen:parameter:id:1365"  # som 7 PCB
    assert (pcb.values["value"], pcb.values["unit"]) == ("0.01", "ug/l")
    assert pcb.values["sample_id"] == "KleinerAW" and pcb.values["location_id"] == "MP2"
    assert pcb.locator.line == 287 and "featureMember" in pcb.locator.xpath
    assert Counter(r.values["limit_symbol"] for r in records)["<"] == 166


def test_sikb_file_locations_without_geometry_are_quarantined(find_data, catalogue) -> None:
    batch = _harmonised(find_data(*SIKB), catalogue)
    assert not batch.locations and not batch.samples and not batch.measurements
    assert [(q.reason, q.unit) for q in batch.quarantine] == [("missing_coordinates", "location")] * 2
    assert {q.location_key for q in batch.quarantine} == {"MP2", "MP3"}
    assert batch.rows_read == 858


def test_inspect_sikb(find_data) -> None:
    info = sikb0101.inspect(find_data(*SIKB))
    assert info["sad"] is False and info["version"] == "14.3.0"
    assert info["features"]["Analysis"] == 858 and info["features"]["Borehole"] == 2
    assert info["samples"] == 10 and info["sample_analyses"] == 858


@pytest.mark.parametrize("parts", [SAD_IMBROA, SAD_IMBRO])
def test_sad_message(parts, find_data, catalogue) -> None:
    path = find_data(*parts)
    info = sikb0101.inspect(path)
    assert info["sad"] is True and info["root"] == "registrationRequest" and info["version"] == "14.9.0"
    assert info["features"]["Sample"] == 7 and info["features"]["Analysis"] == 21
    assert info["sample_analyses"] == 16  # the other five are field measurements on borehole/filter/layer
    assert info["crs"] == ["EPSG:4326"]

    batch = _harmonised(path, catalogue, today=date(2026, 1, 1))
    (loc,) = batch.locations
    assert loc.key == "PB01"
    # gml:pos "52.00410874694697 4.358954632907231" (EPSG:4326, lat/lon) -> RD New
    assert (loc.x, loc.y) == pytest.approx((84396.2, 446692.5), abs=1.0)
    samples = {s.key: s for s in batch.samples}
    assert (samples["MM01"].depth_from_m, samples["MM01"].depth_to_m) == (0.3, 0.5)  # 30-50 cm
    assert samples["MM01"].sample_date == date(2018, 3, 9)
    lead = [m for m in batch.measurements if m.parameter_code == "Pb"]
    assert {(m.value, m.unit, m.below_detection_limit) for m in lead} == {
        (0.078, "mg/kg ds", True),
        (0.08, "mg/kg ds", False),
    }
    assert {m.sample_key for m in batch.measurements} == {"MM01"}
    assert Counter(q.reason for q in batch.quarantine) == {"unknown_parameter": 12}


def test_sikb_unit_ids() -> None:
    assert sikb0101.sikb_unit("urn:immetingen:Eenheid:id:58") == "mg/kg ds"
    assert sikb0101.sikb_unit("urn:immetingen:eenheid:id:14") == "ug/l"
    assert sikb0101.sikb_unit("urn:immetingen:Eenheid:id:999") is None


GENERATED = """<?xml version="1.0" encoding="UTF-8"?>
<x:FeatureCollectionIMSIKB0101 xmlns:x="http://www.sikb.nl/imsikb0101" xmlns:m="http://www.sikb.nl/immetingen"
    xmlns:g="http://www.opengis.net/gml/3.2" xmlns:s="http://www.opengis.net/sampling/2.0"
    xmlns:o="http://www.opengis.net/om/2.0" xmlns:l="http://www.w3.org/1999/xlink"
    xmlns:sp="http://www.opengis.net/samplingSpecimen/2.0" g:id="c1">
  <x:metaData><x:version>15.0.0</x:version></x:metaData>
  <x:featureMember>
    <m:Analysis g:id="a1">
      <o:featureOfInterest l:href="#s1"/>
      <o:result>
        <m:numericValue uom="urn:immetingen:Eenheid:id:58">45</m:numericValue><m:limitSymbol/>
      </o:result>
      <m:physicalProperty><m:PhysicalProperty>
        <m:quantity>urn:immetingen:parameter:id:2725</m:quantity>
        <m:parameter>urn:immetingen:parameter:id:1116</m:parameter>
      </m:PhysicalProperty></m:physicalProperty>
    </m:Analysis>
  </x:featureMember>
  <x:featureMember>
    <x:Sample g:id="s1">
      <s:relatedSamplingFeature><s:SamplingFeatureComplex>
        <s:role l:href="urn:immetingen:RelatedSamplingFeatureRollen:id:6"/>
        <s:relatedSamplingFeature l:href="#b1"/>
      </s:SamplingFeatureComplex></s:relatedSamplingFeature>
      <sp:samplingTime>
        <g:TimeInstant g:id="t1"><g:timePosition>2021-06-01</g:timePosition></g:TimeInstant>
      </sp:samplingTime>
      <m:name>M1</m:name>
      <x:upperDepth><m:Depth><m:value uom="urn:immetingen:Eenheid:id:19">0</m:value></m:Depth></x:upperDepth>
      <x:lowerDepth><m:Depth><m:value uom="urn:immetingen:Eenheid:id:19">50</m:value></m:Depth></x:lowerDepth>
    </x:Sample>
  </x:featureMember>
  <x:featureMember>
    <x:MeasurementPoint g:id="b1">
      <m:name>MP1</m:name>
      <m:geometry>
        <g:Point g:id="p1" srsName="EPSG:28992"><g:pos>136500.25 455800.5</g:pos></g:Point>
      </m:geometry>
    </x:MeasurementPoint>
  </x:featureMember>
</x:FeatureCollectionIMSIKB0101>
"""


def test_other_prefixes_forward_references_and_rd_geometry(tmp_path: Path, catalogue) -> None:
    path = tmp_path / "other.xml"
    path.write_text(GENERATED, encoding="utf-8")
    (rec,) = sikb0101.read(path)
    assert rec.values["location_id"] == "MP1" and rec.values["location_type"] == "MeasurementPoint"
    assert (rec.values["x"], rec.values["y"], rec.values["crs"]) == (136500.25, 455800.5, "EPSG:28992")
    assert (rec.values["depth_from_m"], rec.values["depth_to_m"]) == (0.0, 0.5)
    batch = _harmonised(path, catalogue, today=date(2026, 1, 1))
    (m,) = batch.measurements
    assert (m.sample_key, m.parameter_code, m.value, m.unit) == ("M1", "Pb", 45.0, "mg/kg ds")
    assert (batch.locations[0].x, batch.locations[0].y) == (136500.25, 455800.5)


def test_not_sikb(tmp_path: Path) -> None:
    path = tmp_path / "x.xml"
    path.write_text("<root><a/></root>")
    with pytest.raises(SourceError, match="no IMSIKB0101 featureMember"):
        list(sikb0101.read(path))
    path.write_text("<root><a></root>")
    with pytest.raises(SourceError, match="not well-formed"):
        list(sikb0101.read(path))
