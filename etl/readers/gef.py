"""GEF reader: GEF-CPT-Report, GEF-DISS-Report (dissipation) and GEF-BORE-Report files.

One GEF file is one object. :func:`read_gef` returns a :class:`~etl.records.BroObject`
(``source_format="GEF"``) or raises: :class:`~etl.errors.SourceError` when the file cannot be read as
GEF at all (malformed header line, no ``#EOH``, no column definitions), and
:class:`~etl.errors.RecordError` when the object is unusable (``missing_coordinates`` when there is no
``#XYID``; ``wrong_column_count`` / ``non_numeric_value`` naming the data line). :func:`iter_gef`
yields the object or its RecordError, like the BRO ``iter_*`` functions.

* CPT -> ``object_type="CPT"`` with ``CptData.columns`` named as in the BRO CPT reader, by GEF
  quantity number (1 penetration length, 2 cone resistance, 3 local friction, 4 friction ratio,
  5/6/7 pore pressure u1/u2/u3, 8 inclination resultant, 9 N-S, 10 E-W, 11 depth (corrected),
  12 elapsed time, 13 corrected / 14 net cone resistance, 15 pore ratio, 21/22 inclination x/y,
  23 electrical conductivity, 31-36 magnetic quantities, 39 temperature; others ``quantity_<n>``).
  Voids (``#COLUMNVOID``) become None; all-void columns are dropped; rows stay in file order.
* DISS -> ``object_type="CPT"`` with one entry in ``CptData.dissipation_tests`` and no columns.
* BORE -> ``object_type="BHR-GT"`` (closest BRO type; ``attributes["gef_report"]`` says GEF-BORE-Report)
  with :class:`~etl.records.BoreholeLayer` per data row: the first text field is the NEN 5104 soil
  code (``soil_name``, ``classification="NEN5104"``), its admixtures are decoded (``Zs2h2`` ->
  silt 2, humus 2), numeric columns (lutum %, sand median, ...) and further codes go to ``admixtures``.

``#XYID`` codes 31000 and 28992 are RD New (EPSG:28992); 32000/31370 Belgian Lambert 72 is
transformed to RD. Code 0 (or 0,0) means "no coordinates delivered": x/y stay None and
``attributes["location_note"]`` says so. ``#ZID`` 31000 is NAP. ``bro_id`` is the ``#TESTID`` when
it is a BRO id (``CPT000000003688``). Text is read as UTF-8 (with or without BOM), else cp1252/Latin-1.
Names of persons (``#FILEOWNER``, describer and driller texts) are not carried over.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from etl.errors import RecordError, SourceError
from etl.readers.bro_xml import to_rd
from etl.records import BoreholeLayer, BroObject, CptData, Locator

CPT_QUANTITIES: dict[int, str] = {
    1: "penetration_length",
    2: "cone_resistance",
    3: "local_friction",
    4: "friction_ratio",
    5: "pore_pressure_u1",
    6: "pore_pressure_u2",
    7: "pore_pressure_u3",
    8: "inclination_resultant",
    9: "inclination_ns",
    10: "inclination_ew",
    11: "depth",
    12: "elapsed_time",
    13: "corrected_cone_resistance",
    14: "net_cone_resistance",
    15: "pore_ratio",
    21: "inclination_x",
    22: "inclination_y",
    23: "electrical_conductivity",
    31: "magnetic_field_strength_x",
    32: "magnetic_field_strength_y",
    33: "magnetic_field_strength_z",
    34: "magnetic_field_strength_total",
    35: "magnetic_inclination",
    36: "magnetic_declination",
    39: "temperature",
}
BORE_QUANTITIES: dict[int, str] = {
    1: "upper_boundary",
    2: "lower_boundary",
    3: "lutum_pct",
    4: "silt_pct",
    5: "sand_pct",
    6: "gravel_pct",
    7: "organic_matter_pct",
    8: "sand_median",
    9: "gravel_median",
}
XY_SYSTEMS: dict[int, int] = {31000: 28992, 28992: 28992, 32000: 31370, 31370: 31370}
Z_SYSTEMS: dict[int, str] = {31000: "NAP", 32001: "TAW"}
NEN5104_ADMIXTURES = {"s": "silt", "k": "clay", "z": "sand", "g": "gravel", "h": "humus", "v": "peat"}
BRO_ID = re.compile(r"^(CPT|BHR|GMW|GLD|SFR|GMN|SAD)\d{12}$")
_PERSONAL_TEXTS_BORE = frozenset({6, 23})  # describer of the layers, name of the driller


@dataclass(slots=True)
class GefColumn:
    index: int  # 1-based
    unit: str
    name: str
    quantity: int | None
    key: str
    void: float | None


@dataclass(slots=True)
class GefHeader:
    """Header keywords in order: (KEYWORD, raw value, line number)."""

    file: str
    entries: list[tuple[str, str, int]]
    eoh_line: int

    def raw(self, key: str) -> tuple[str, int] | None:
        return next(((v, n) for k, v, n in self.entries if k == key), None)

    def fields(self, key: str) -> list[str] | None:
        found = self.raw(key)
        return None if found is None else [f.strip() for f in found[0].split(",")]

    def all(self, key: str) -> list[tuple[list[str], int]]:
        return [([f.strip() for f in v.split(",")], n) for k, v, n in self.entries if k == key]


def decode_bytes(data: bytes) -> str:
    """GEF bytes -> text: UTF-8 (BOM stripped) when valid, else cp1252, else Latin-1."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def parse_header(lines: list[str], file: str) -> GefHeader:
    """The ``#KEYWORD= value`` lines up to ``#EOH``; SourceError naming the line when malformed."""
    entries: list[tuple[str, str, int]] = []
    for n, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            raise SourceError(
                file,
                f"malformed GEF header: line {n} is not a '#KEYWORD= value' line: {stripped[:60]!r}",
                where=f"line {n}",
            )
        keyword, sep, value = stripped[1:].partition("=")
        keyword = keyword.strip().upper()
        if keyword == "EOH":
            return GefHeader(file, entries, n)
        if not sep:
            raise SourceError(
                file, f"malformed GEF header: line {n} has no '=': {stripped[:60]!r}", where=f"line {n}"
            )
        entries.append((keyword, value.strip(), n))
    raise SourceError(file, "not a complete GEF file: no '#EOH=' (end of header) line")


def sniff_kind(text: str) -> str | None:
    """'GEF-CPT', 'GEF-BORE' or 'GEF-DISS' from the report/procedure code, read leniently; None if unknown."""
    for key in ("REPORTCODE", "PROCEDURECODE"):
        for m in re.finditer(rf"#{key}\s*=\s*([^,\r\n\"]*)", text, re.IGNORECASE):
            code = m.group(1).upper()
            if "BORE" in code:
                return "GEF-BORE"
            if "DISS" in code:
                return "GEF-DISS"
            if "CPT" in code:
                return "GEF-CPT"
    if re.search(r"#PARENT\s*=", text, re.IGNORECASE):
        return "GEF-DISS"
    if re.search(r"#COLUMNINFO\s*=", text, re.IGNORECASE):
        return "GEF-CPT"
    return None


def gef_kind(path: str | Path) -> str:
    """GEF kind of a file from its header (SourceError when it is not recognisable as GEF)."""
    text = decode_bytes(Path(path).read_bytes()[:262144])
    head, _, _ = text.partition("#EOH")
    kind = sniff_kind(head)
    if kind is None:
        raise SourceError(str(path), "GEF file without a CPT/BORE/DISS report code or column definitions")
    return kind


def iter_gef(path: str | Path) -> Iterator[BroObject | RecordError]:
    """The object of a GEF file, or the RecordError that makes it unusable (SourceError is raised)."""
    try:
        yield read_gef(path)
    except RecordError as exc:
        yield exc


def read_gef(path: str | Path) -> BroObject:
    """Read one GEF file (CPT, DISS or BORE) into a BroObject; see the module docstring for errors."""
    file = str(path)
    lines = decode_bytes(Path(path).read_bytes()).splitlines()
    header = parse_header(lines, file)
    kind = sniff_kind("\n".join(f"#{k}= {v}" for k, v, _ in header.entries)) or "GEF-CPT"
    columns = _columns(header, kind)
    obj = BroObject(
        bro_id=None,
        object_type="BHR-GT" if kind == "GEF-BORE" else "CPT",
        x=None,
        y=None,
        source_format="GEF",
        locator=Locator(file=file, line=1),
    )
    _header_fields(header, obj, kind)
    _location(header, obj)
    rows, texts = _data(lines, header, columns, kind)
    obj.attributes["n_data_rows"] = len(rows)
    obj.attributes["columns"] = [
        {
            "column": c.index,
            "key": c.key,
            "quantity": c.quantity,
            "unit": c.unit,
            "name": c.name,
            "void": c.void,
        }
        for c in columns
    ]
    obj.attributes["column_units"] = {c.key: c.unit for c in columns}
    if kind == "GEF-BORE":
        obj.layers = [_bore_layer(columns, row, text) for row, text in zip(rows, texts, strict=True)]
        if obj.final_depth is None and obj.layers:
            obj.final_depth = max((layer.lower_boundary or 0.0) for layer in obj.layers)
    else:
        named = _named_columns(columns, rows)
        if kind == "GEF-DISS":
            parent = header.fields("PARENT") or []
            obj.attributes["parent"] = parent[0] if parent else None
            obj.cpt = CptData(
                columns={},
                dissipation_tests=[
                    {
                        "penetration_length": _float(parent[1]) if len(parent) > 1 else None,
                        "phenomenon_time": obj.attributes.get("start_time"),
                        "n_rows": len(rows),
                        "columns": named,
                    }
                ],
            )
        else:
            obj.cpt = CptData(columns=named)
            if obj.final_depth is None and named.get("penetration_length"):
                obj.final_depth = max(v for v in named["penetration_length"] if v is not None)
    return obj


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    f = _float(value)
    return int(f) if f is not None and f == int(f) else None


def _gef_date(fields: list[str] | None) -> date | None:
    if not fields or len(fields) < 3:
        return None
    try:
        return date(int(fields[0]), int(fields[1]), int(fields[2]))
    except ValueError:
        return None


def _columns(header: GefHeader, kind: str) -> list[GefColumn]:
    info: dict[int, list[str]] = {}
    for fields, _ in header.all("COLUMNINFO"):
        index = _int(fields[0])
        if index is not None:
            info[index] = fields
    count = _int((header.fields("COLUMN") or [None])[0]) or (max(info) if info else 0)
    if count == 0:
        raise SourceError(
            header.file, "GEF header has no #COLUMN/#COLUMNINFO: the data cannot be interpreted"
        )
    voids = {}
    for fields, _ in header.all("COLUMNVOID"):
        index = _int(fields[0])
        if index is not None and len(fields) > 1:
            voids[index] = _float(fields[1])
    names = BORE_QUANTITIES if kind == "GEF-BORE" else CPT_QUANTITIES
    columns: list[GefColumn] = []
    used: set[str] = set()
    for index in range(1, count + 1):
        fields = info.get(index, [str(index), "", f"column {index}", ""])
        quantity = _int(fields[3]) if len(fields) > 3 else None
        key = names.get(quantity, f"quantity_{quantity}") if quantity is not None else f"column_{index}"
        if key in used:
            key = f"{key}_{index}"
        used.add(key)
        unit = fields[1] if len(fields) > 1 else ""
        name = fields[2] if len(fields) > 2 else ""
        columns.append(GefColumn(index, unit, name, quantity, key, voids.get(index)))
    return columns


def _location(header: GefHeader, obj: BroObject) -> None:
    found = header.raw("XYID")
    locator = Locator(file=header.file, line=found[1] if found else None)
    fields = [f.strip() for f in found[0].split(",")] if found else []
    what = f"GEF {obj.attributes.get('test_id') or '(no #TESTID)'}"
    if len(fields) < 3 or not all(fields[:3]):
        reason = "the header has no '#XYID= code, x, y'" if not found else "#XYID has no x and y"
        raise RecordError(locator, "missing_coordinates", f"{what}: no location: {reason}", field="XYID")
    code, sx, sy = _int(fields[0]), _float(fields[1]), _float(fields[2])
    if code is None or sx is None or sy is None:
        raise RecordError(
            locator, "invalid_coordinates", f"{what}: #XYID= {found[0]!r} is not 'code, x, y'", field="XYID"
        )
    obj.source_x, obj.source_y = sx, sy
    obj.attributes["xyid_code"] = code
    epsg = XY_SYSTEMS.get(code)
    if code == 0 or (sx == 0 and sy == 0):
        obj.attributes["location_note"] = f"#XYID code {code} with x={sx}, y={sy}: no coordinates delivered"
    elif epsg is None:
        obj.source_crs = f"GEF:{code}"
        obj.attributes["location_note"] = f"#XYID coordinate system {code} is not supported"
    else:
        obj.source_crs = f"EPSG:{epsg}"
        obj.x, obj.y = to_rd(epsg, sx, sy)


def _header_fields(header: GefHeader, obj: BroObject, kind: str) -> None:
    attrs = obj.attributes
    texts: dict[int, str] = {}  # number -> everything after it (text and description)
    first_text: dict[int, str] = {}  # number -> the text field alone
    for fields, _ in header.all("MEASUREMENTTEXT"):
        number = _int(fields[0])
        if number is None or (kind == "GEF-BORE" and number in _PERSONAL_TEXTS_BORE):
            continue
        texts[number] = ", ".join(fields[1:])
        first_text[number] = fields[1] if len(fields) > 1 else ""
    variables: dict[int, dict[str, Any]] = {}
    for fields, _ in header.all("MEASUREMENTVAR"):
        number = _int(fields[0])
        if number is not None and len(fields) > 1:
            variables[number] = {
                "value": _float(fields[1]) if _float(fields[1]) is not None else fields[1],
                "unit": fields[2] if len(fields) > 2 else None,
                "description": ", ".join(fields[3:]) or None,
            }
    test_id = (header.raw("TESTID") or ("", 0))[0].strip()
    obj.bro_id = test_id if BRO_ID.match(test_id) else None
    report = header.fields("REPORTCODE") or header.fields("PROCEDURECODE") or []
    zid = header.fields("ZID") or []
    z_code = _int(zid[0]) if zid else None
    obj.vertical_datum = Z_SYSTEMS.get(z_code) if z_code is not None else None
    obj.offset = _float(zid[1]) if len(zid) > 1 else None
    obj.quality_regime = texts.get(115, "").split(",")[0].strip() or None
    obj.research_report_date = _gef_date([f.strip() for f in texts.get(112, "").split(",")])
    party = [f.strip() for f in texts.get(101, "").split(",")]
    obj.delivery_accountable_party = party[1] if len(party) > 1 and party[1].isdigit() else None
    final_depth = variables.get(16, {}).get("value")
    # A final depth of 0 (KW19-3) means "not filled in"; the data then give the final depth.
    obj.final_depth = final_depth if isinstance(final_depth, float) and final_depth > 0 else None
    predrilled = variables.get(13, {}).get("value")
    start_time = header.fields("STARTTIME")
    start_date = _gef_date(header.fields("STARTDATE"))
    attrs.update(
        {
            "gef_report": report[0] if report else None,
            "gef_version": ".".join(header.fields("GEFID") or []),
            "test_id": test_id or None,
            "company": (header.fields("COMPANYID") or [None])[0],
            "project_id": (header.raw("PROJECTID") or (None, 0))[0],
            "project_name": (header.raw("PROJECTNAME") or (None, 0))[0],
            "file_date": _gef_date(header.fields("FILEDATE")),
            "start_date": start_date,
            "start_time": f"{start_date.isoformat()}T{':'.join(f.zfill(2) for f in start_time[:3])}"
            if start_date and start_time and all(f.replace(".", "").isdigit() for f in start_time[:3])
            else None,
            "zid_code": z_code,
            "lastscan": _int((header.fields("LASTSCAN") or [None])[0]),
            "measurement_text": texts,
            "measurement_var": variables,
            "cone_penetrometer_type": first_text.get(4) if kind != "GEF-BORE" else None,
            "predrilled_depth": predrilled if isinstance(predrilled, float) else None,
        }
    )


def _data(
    lines: list[str], header: GefHeader, columns: list[GefColumn], kind: str
) -> tuple[list[list[float]], list[list[str]]]:
    column_sep = (header.raw("COLUMNSEPARATOR") or ("", 0))[0].strip()
    record_sep = (header.raw("RECORDSEPARATOR") or ("", 0))[0].strip()
    width = len(columns)
    rows: list[list[float]] = []
    texts: list[list[str]] = []
    for n in range(header.eoh_line, len(lines)):
        line = lines[n].strip()
        if not line:
            continue
        lineno = n + 1
        for record in line.split(record_sep) if record_sep else (line,):
            record = record.strip()
            if not record:
                continue
            fields = [f.strip() for f in record.split(column_sep)] if column_sep else record.split()
            while fields and not fields[-1]:
                fields.pop()
            extra = fields[width:]
            if len(fields) < width or (kind != "GEF-BORE" and any(_float(f) is not None for f in extra)):
                raise RecordError(
                    Locator(file=header.file, line=lineno),
                    "wrong_column_count",
                    f"data line {lineno} has {len(fields)} values where #COLUMN= {width}",
                    field="data",
                )
            try:
                rows.append([float(f) for f in fields[:width]])
            except ValueError:
                bad = next(f for f in fields[:width] if _float(f) is None)
                raise RecordError(
                    Locator(file=header.file, line=lineno),
                    "non_numeric_value",
                    f"data line {lineno} holds {bad!r}, not a number",
                    field="data",
                ) from None
            texts.append([f.strip("'\"").strip() for f in extra])
    return rows, texts


def _named_columns(columns: list[GefColumn], rows: list[list[float]]) -> dict[str, list[float | None]]:
    out: dict[str, list[float | None]] = {}
    for j, column in enumerate(columns):
        values: list[float | None] = [row[j] for row in rows]
        if column.void is not None:
            values = [None if v == column.void else v for v in values]
        if rows and all(v is None for v in values):
            continue
        out[column.key] = values
    return out


def nen5104_admixtures(code: str) -> dict[str, Any]:
    """Decode a NEN 5104 soil code: 'Zs2h2' -> {'main_component': 'Z', 'silt': 2, 'humus': 2}."""
    token = code.split()[0] if code.split() else ""
    m = re.match(r"^([A-Z]+)((?:[a-z]\d)*)", token)
    if not m:
        return {}
    out: dict[str, Any] = {"main_component": m.group(1)}
    for letter, degree in re.findall(r"([a-z])(\d)", m.group(2)):
        out[NEN5104_ADMIXTURES.get(letter, letter)] = int(degree)
    return out


def _bore_layer(columns: list[GefColumn], row: list[float], text: list[str]) -> BoreholeLayer:
    values: dict[str, float | None] = {}
    for column, value in zip(columns, row, strict=True):
        values[column.key] = None if column.void is not None and value == column.void else value
    code = text[0] if text and text[0] else None
    admixtures: dict[str, Any] = nen5104_admixtures(code) if code else {}
    admixtures.update(
        (k, v) for k, v in values.items() if k not in ("upper_boundary", "lower_boundary") and v is not None
    )
    codes = [t for t in text[1:] if t]
    if codes:
        admixtures["codes"] = codes
    return BoreholeLayer(
        upper_boundary=values.get("upper_boundary"),
        lower_boundary=values.get("lower_boundary"),
        soil_name=code,
        classification="NEN5104" if code else None,
        admixtures=admixtures,
        description_kind="GEF-BORE-Report",
    )
