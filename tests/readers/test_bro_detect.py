"""Detection of BRO/GEF files and dispatch by read_bro."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.errors import RecordError, SourceError
from etl.readers.bro_cpt import iter_cpts
from etl.readers.bro_detect import KINDS, DelegatedFormat, detect, read_bro

SAMPLE_DIRS = (
    "bro_cpt",
    "bro_bhrgt",
    "bro_bhrp",
    "bro_bhrg",
    "bro_gmw",
    "bro_gld",
    "bro_sfr",
    "bro_sad",
    "gef_cpt",
    "gef_bore",
    "gef_dis",
)
FOLDER_KIND = {
    "bro_cpt": "CPT",
    "bro_bhrgt": "BHR-GT",
    "bro_bhrp": "BHR-P",
    "bro_bhrg": "BHR-G",
    "bro_gmw": "GMW",
    "bro_gld": "GLD",
    "bro_sfr": "SFR",
    "bro_sad": "SAD",
    "gef_cpt": "GEF-CPT",
    "gef_bore": "GEF-BORE",
    "gef_dis": "GEF-DISS",
}
BROKEN = {"geolibplus__Exception_NoCoord.gef", "geost__CPT10.gef"}


def test_detect_and_read_every_sample(sample_file: Path) -> None:
    kind = detect(sample_file)
    assert kind == FOLDER_KIND[sample_file.parent.name] and kind in KINDS
    if kind == "SAD":
        with pytest.raises(DelegatedFormat) as info:
            read_bro(sample_file)
        assert info.value.object_type == "SAD" and info.value.reader == "SIKB0101"
        return
    if sample_file.name in BROKEN:
        with pytest.raises((SourceError, RecordError)):
            items = list(read_bro(sample_file))
            if isinstance(items[0], RecordError):
                raise items[0]
        return
    items = list(read_bro(sample_file))
    assert items and not any(isinstance(item, RecordError) for item in items)
    expected_type = {"GEF-CPT": "CPT", "GEF-DISS": "CPT", "GEF-BORE": "BHR-GT"}.get(kind, kind)
    assert {item.object_type for item in items} == {expected_type}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_soap_wrapped_dispatch_is_detected(sample) -> None:  # noqa: ANN001
    assert detect(sample("bro_bhrgt", "broprogramma__DO_ResponseBHR_GT_O_DP.xml")) == "BHR-GT"
    assert detect(sample("bro_gld", "broprogramma__DO_ResponseGLD_DO.xml")) == "GLD"


def test_namespace_styles_are_detected(sample) -> None:  # noqa: ANN001
    assert detect(sample("bro_cpt", "geolibplus__CPT000000003688_IMBRO_A.xml")) == "CPT"  # ns13: prefixes
    assert detect(sample("bro_gmw", "hydropandas__GROND5_B1-1.xml")) == "GMW"  # .NET redeclarations
    assert detect(sample("bro_bhrp", "brodata__BHR000000175723.xml")) == "BHR-P"  # dsbhr BHR_O


def test_unknown_root_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "other.xml", '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"/>')
    with pytest.raises(SourceError, match="unknown root element.*kml"):
        detect(path)
    with pytest.raises(SourceError, match="unknown root element"):
        list(read_bro(path))


def test_sikb0101_is_not_a_bro_file(sample) -> None:  # noqa: ANN001
    with pytest.raises(SourceError, match="unknown root element.*FeatureCollectionIMSIKB0101"):
        detect(sample("sikb0101", "garsikbconverter__WBB_BBK_BOTOVA_v14.2.0.xml"))


def test_unknown_format_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="unknown format"):
        detect(write(tmp_path, "a.csv", "x;y\n1;2\n"))
    with pytest.raises(SourceError, match="empty file"):
        detect(write(tmp_path, "empty.xml", ""))


def test_rejection_document(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rejected.xml",
        '<dispatchDataResponse xmlns="http://www.broservices.nl/xsd/dscpt/1.1" '
        'xmlns:brocom="http://www.broservices.nl/xsd/brocommon/3.0">'
        "<brocom:responseType>rejection</brocom:responseType>"
        "<brocom:rejectionReason>Het opgevraagde object bestaat niet.</brocom:rejectionReason>"
        "</dispatchDataResponse>",
    )
    with pytest.raises(SourceError, match="rejection document: Het opgevraagde object bestaat niet"):
        detect(path)
    with pytest.raises(SourceError, match="rejection document"):
        list(iter_cpts(path))  # the streaming reader refuses it too


def test_soap_fault(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "fault.xml",
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
        "<faultcode>soap:Server</faultcode><faultstring>Interne fout</faultstring></soap:Fault></soap:Body>"
        "</soap:Envelope>",
    )
    with pytest.raises(SourceError, match="SOAP fault: Interne fout"):
        detect(path)


def test_minimal_sad_is_delegated(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sad.xml",
        '<registrationRequest xmlns="http://www.broservices.nl/xsd/issad/1.1"><sourceDocument>'
        "<SAD_CompleteReport><reportDate>2018-12-08</reportDate></SAD_CompleteReport></sourceDocument>"
        "</registrationRequest>",
    )
    assert detect(path) == "SAD"
    with pytest.raises(DelegatedFormat):
        read_bro(path)


def test_gef_kinds_from_header(tmp_path: Path) -> None:
    head = "#GEFID= 1, 1, 0\n#COLUMN= 1\n#COLUMNINFO= 1, m, lengte, 1\n"
    assert (
        detect(write(tmp_path, "a.gef", head + "#REPORTCODE= GEF-CPT-Report, 1, 1, 2\n#EOH=\n")) == "GEF-CPT"
    )
    assert (
        detect(write(tmp_path, "b.gef", head + "#REPORTCODE= GEF-BORE-Report, 1, 0, 0\n#EOH=\n"))
        == "GEF-BORE"
    )
    assert (
        detect(write(tmp_path, "c.gef", head + "#REPORTCODE= GEF-DISS-Report, 1, 0, 0\n#EOH=\n"))
        == "GEF-DISS"
    )
    assert detect(write(tmp_path, "d.gef", head + "#EOH=\n")) == "GEF-CPT"  # only column definitions
