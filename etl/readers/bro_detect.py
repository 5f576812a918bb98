"""Detect what a BRO/GEF file is and dispatch it to the right reader.

:func:`detect` names the kind of a file from its first bytes (XML or GEF) and, for XML, from the
root/namespaces and the first object element (dispatch documents, registration and correction
requests, SOAP-wrapped responses): one of :data:`KINDS`, or SourceError for anything else (unknown
root, unknown format, BRO rejection document, SOAP fault, malformed XML).

:func:`read_bro` detects the kind eagerly and returns an iterator over the file's objects that
yields a BroObject per good object and a RecordError per bad one (see ``bro_xml.iter_parsed``).
SAD files (which embed IMSIKB0101) are read by the SIKB0101 reader: :func:`read_bro` raises
:class:`DelegatedFormat` (a SourceError whose ``object_type`` says where to route the file).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from etl.errors import RecordError, SourceError
from etl.readers.bro_borehole import parse_borehole
from etl.readers.bro_cpt import parse_cpt
from etl.readers.bro_gmw import parse_gmw
from etl.readers.bro_other import parse_gld, parse_sfr
from etl.readers.bro_xml import Parser, detect_xml_type, iter_parsed
from etl.readers.gef import gef_kind, iter_gef
from etl.records import BroObject

KINDS = ("CPT", "BHR-GT", "BHR-P", "BHR-G", "GMW", "GLD", "SFR", "SAD", "GEF-CPT", "GEF-BORE", "GEF-DISS")
PARSERS: dict[str, Parser] = {
    "CPT": parse_cpt,
    "BHR-GT": parse_borehole,
    "BHR-P": parse_borehole,
    "BHR-G": parse_borehole,
    "GMW": parse_gmw,
    "GLD": parse_gld,
    "SFR": parse_sfr,
}
_GEF_START = re.compile(rb'^"?#[A-Za-z]+\s*=')


class DelegatedFormat(SourceError):
    """A valid file that another reader handles (SAD -> the SIKB0101 reader)."""

    def __init__(self, file: str, object_type: str, reader: str) -> None:
        self.object_type = object_type
        self.reader = reader
        super().__init__(file, f"{object_type} file: read it with the {reader} reader, not the BRO readers")


def detect(path: str | Path) -> str:
    """Kind of a BRO XML or GEF file: one of :data:`KINDS`; SourceError for anything else."""
    file = str(path)
    with open(path, "rb") as handle:
        head = handle.read(4096)
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not stripped:
        raise SourceError(file, "empty file")
    if stripped.startswith(b"<"):
        return detect_xml_type(path)
    if _GEF_START.match(stripped) or b"#GEFID" in head.upper():
        return gef_kind(path)
    raise SourceError(file, "unknown format: no XML root element and no GEF header", where="line 1")


def read_bro(path: str | Path, kind: str | None = None) -> Iterator[BroObject | RecordError]:
    """Objects of any BRO XML or GEF file (BroObject per good object, RecordError per bad one).

    Detection runs now unless ``kind`` (from :func:`detect`) is given (SourceError/DelegatedFormat
    are raised by this call); reading is lazy.
    """
    if kind is None:
        kind = detect(path)
    if kind.startswith("GEF-"):
        return iter_gef(path)
    if kind == "SAD":
        raise DelegatedFormat(str(path), "SAD", "SIKB0101")
    return iter_parsed(path, PARSERS)
