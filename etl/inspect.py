"""Onboarding: read an unknown export, guess what each column is, and draft a mapping file.

``inspect_file(path)`` reports the format, encoding/delimiter, sheet/layer, header row(s), each
column with its guessed role (identifier, X, Y, date, depth, a parameter value with its parameter
and unit, or the parameter/value/unit columns of a long layout), the CRS guessed from the
coordinate ranges, and sample values. ``draft_mapping(report)`` turns that into a mapping YAML in
which every guess is marked ``# REVIEW``; the analyst corrects it and runs ``grondslag etl ingest``.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely

from etl.harmonise.coordinates import classify
from etl.harmonise.parameters import Catalogue
from etl.harmonise.values import BELOW_UNQUANTIFIED, ValueParser, parse_number
from etl.readers.xlsx_reader import is_unit_text

SAMPLE_ROWS = 500
VECTOR_SUFFIXES = {".shp": "shapefile", ".gpkg": "geopackage", ".geojson": "geojson", ".json": "geojson"}

# (role, pattern on the normalised column name), first match wins
ROLE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "x",
        re.compile(
            r"^(x|x[ _-]?co[oö]rd.*|xco.*|rd[ _]?x|x[ _]rd|easting|lon(gitude)?|lng|lengtegraad|oosterlengte)$"
        ),
    ),
    (
        "y",
        re.compile(
            r"^(y|y[ _-]?co[oö]rd.*|yco.*|rd[ _]?y|y[ _]rd|northing|lat(itude)?|breedtegraad|noorderbreedte)$"
        ),
    ),
    ("below_limit_flag", re.compile(r"^(<|kleiner.*|detectie.*|aantoonbaarheid.*|below.*|dl[ _]?flag)$")),
    (
        "depth_from",
        re.compile(r"(^|\b)(van|diepte[ _]?(van|bov.*|top)|depth[ _]?(from|top)|bovenkant.*|top[ _]?m)"),
    ),
    ("depth_to", re.compile(r"(^|\b)(tot|diepte[ _]?(tot|ond.*|bot.*)|depth[ _]?(to|bottom)|onderkant.*)")),
    # one column with the interval, "0-50" (cm-mv): a Dutch lab's "traject"
    ("depth", re.compile(r"^(traject|monstertraject|diepte[ _-]?traject|bemonsteringsdiepte|diepte|depth)$")),
    ("date", re.compile(r"(datum|date|monstername)")),
    ("sample_id", re.compile(r"^(monster.*|sample.*|mon[ _]?id)$")),
    ("investigation_id", re.compile(r"^(onderzoek.*|investigation.*|rapport.*|report.*)$")),
    (
        "location_id",
        re.compile(
            r"^(locatie.*|boring.*|boorpunt.*|peilbuis.*|location.*|loc[ _]?id|meetpunt.*|monsterpunt.*|punt.*)$"
        ),
    ),
    ("parameter", re.compile(r"^(parameter|stof|component|analyse|determinatie|parameternaam)$")),
    ("value", re.compile(r"^(waarde|value|resultaat|result|meetwaarde|gehalte)$")),
    ("unit", re.compile(r"^(eenheid|unit|eenh)$")),
    ("name", re.compile(r"^(naam|name|adres|omschrijving|address|kern)$")),
]
UNIT_HINTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(µg|ug)[ /_]?kg|_ugk", re.I), "µg/kg ds"),
    (re.compile(r"mg[ /_]?kg|_mgk|_mg$", re.I), "mg/kg ds"),
    (re.compile(r"%|_pct|procent", re.I), "%"),
]
_BRACKETS = re.compile(r"[\[(]([^\])]*)[\])]\s*$")


@dataclass(slots=True)
class ColumnGuess:
    name: str
    role: str | None = None  # location_id, x, y, date, depth_from, value, parameter, ...
    parameter: str | None = None  # catalogue code for a wide value column
    unit: str | None = None
    samples: list[str] = field(default_factory=list)
    note: str | None = None


@dataclass(slots=True)
class InspectReport:
    path: Path
    reader: dict[str, Any]
    details: dict[str, Any]
    columns: list[ColumnGuess]
    layout: str | None
    crs: str | None
    crs_note: str
    depth_unit: str
    decimal: str
    rows: int
    # parameters with values "below a limit" that give no number (e.g. '<RG'): code -> value as written
    unquantified: dict[str, str] = field(default_factory=dict)
    depth_note: str = ""  # why depth_unit was guessed so
    parameter_pattern: str | None = None  # long layout: splits "Lood [mg/kg ds]" into parameter and unit

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "reader": self.reader,
            "rows": self.rows,
            "layout": self.layout,
            "crs": self.crs,
            "crs_note": self.crs_note,
            "depth_unit": self.depth_unit,
            "depth_note": self.depth_note,
            "decimal": self.decimal,
            "details": self.details,
            "columns": [{k: v for k, v in vars_(c).items() if v not in (None, [])} for c in self.columns],
            "unquantified": self.unquantified,
            "parameter_pattern": self.parameter_pattern,
        }


def vars_(c: ColumnGuess) -> dict[str, Any]:
    return {
        "name": c.name,
        "role": c.role,
        "parameter": c.parameter,
        "unit": c.unit,
        "samples": c.samples,
        "note": c.note,
    }


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().lower())


def _read_sample(path: Path) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], bool]:
    """(reader spec, reader details, first rows as dicts, has geometry)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        from etl.readers import csv_reader

        info = csv_reader.inspect(path)
        rows = [r.values for r in itertools.islice(csv_reader.read(path), SAMPLE_ROWS)]
        if _wkt_column(rows):  # a GIS export with the geometry as WKT: GDAL reads it as vector data
            return _vector_sample(path, "vector", info["encoding"])
        spec = {
            "type": "csv",
            "file": path.name,
            "encoding": info["encoding"],
            "delimiter": info["delimiter"],
        }
        return spec, {"encoding": info["encoding"], "delimiter": info["delimiter"]}, rows, False
    if suffix in (".xlsx", ".xlsm"):
        from etl.readers import xlsx_reader

        info = xlsx_reader.inspect(path)
        sheet = max(info["sheets"], key=lambda s: s.get("data_rows", 0) or 0)
        header = sheet.get("header_rows") or [1]
        spec: dict[str, Any] = {"type": "xlsx", "file": path.name, "sheet": sheet["sheet"]}
        spec["header_rows" if len(header) > 1 else "header_row"] = header if len(header) > 1 else header[0]
        rows = [
            r.values
            for r in itertools.islice(
                xlsx_reader.read(path, sheet=sheet["sheet"], header_rows=header), SAMPLE_ROWS
            )
        ]
        others = [s["sheet"] for s in info["sheets"] if s["sheet"] != sheet["sheet"]]
        return spec, {"sheet": sheet["sheet"], "header_rows": header, "other_sheets": others}, rows, False
    if suffix in VECTOR_SUFFIXES:
        return _vector_sample(path, VECTOR_SUFFIXES[suffix])
    if suffix == ".xml":
        return {"type": "sikb0101", "file": path.name}, {}, [], False
    raise ValueError(f"{path}: no reader for '{suffix}' files (csv, xlsx, shp, gpkg, geojson, xml)")


_WKT = re.compile(r"^\s*(MULTI)?(POINT|POLYGON|LINESTRING)\s*(Z|M|ZM)?\s*\(", re.IGNORECASE)


def _wkt_column(rows: list[dict[str, Any]]) -> str | None:
    """The column of a CSV that holds WKT geometries under a name GDAL's CSV driver is told to use."""
    from etl.readers.vector_reader import CSV_WKT_COLUMNS

    for name in rows[0] if rows else ():
        if name in CSV_WKT_COLUMNS and all(_WKT.match(str(r.get(name) or "")) for r in rows[:20]):
            return name
    return None


def _vector_sample(
    path: Path, reader_type: str, encoding: str | None = None
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], bool]:
    from etl.readers import vector_reader

    info = vector_reader.inspect(path)
    # the first layer with geometries (a GeoPackage may also hold tables without any)
    layer = next((lyr for lyr in info["layers"] if lyr.get("geometry_type")), info["layers"][0])
    spec: dict[str, Any] = {"type": reader_type, "file": path.name}
    if path.suffix.lower() == ".gpkg":
        spec["layer"] = layer["layer"]
    if encoding and encoding.lower().replace("-", "") not in ("utf8", "utf8sig", "ascii"):
        spec["encoding"] = encoding
    records = list(
        itertools.islice(
            vector_reader.read(path, layer=layer["layer"], encoding=spec.get("encoding")), SAMPLE_ROWS
        )
    )
    rows = [r.values for r in records]
    bounds = layer.get("bounds")
    if bounds is None:  # drivers without fast bounds (CSV): from the features read
        geoms = shapely.from_wkb([r.geometry_wkb for r in records if r.geometry_wkb is not None])
        if len(geoms):
            bounds = tuple(float(v) for v in shapely.total_bounds(geoms))
    details = {
        "layer": layer["layer"],
        "layer_crs": layer.get("crs"),
        "encoding": layer.get("encoding"),
        "bounds": bounds,
    }
    others = [
        f"{lyr['layer']} ({lyr.get('features')} features, {lyr.get('geometry_type') or 'no geometry'})"
        for lyr in info["layers"]
        if lyr is not layer
    ]
    if others:
        details["other_layers"] = others
    return spec, details, rows, True


def _guess_unit(name: str) -> str | None:
    m = _BRACKETS.search(name)
    text = m.group(1) if m else name
    for pattern, unit in UNIT_HINTS:
        if pattern.search(text):
            return unit
    return None


def _without_unit(name: str) -> str:
    """``name`` without a unit written after it (a units row under the header joins as "Lood mg/kg ds",
    "X m RD"); the unit vocabulary is the XLSX reader's (units-row detection)."""
    words = name.split()
    for k in range(1, len(words)):
        if is_unit_text(" ".join(words[k:])):
            return " ".join(words[:k])
    return name


def _param_label(name: str) -> str:
    label = _without_unit(_BRACKETS.sub("", name).strip())
    return re.sub(r"(_(mg|ug|pct|mgk|mgkg|ugkg|mg_kg|ug_kg)[a-z]*|_)$", "", label, flags=re.I)


def inspect_file(path: str | Path, catalogue: Catalogue | None = None) -> InspectReport:
    """Read the start of an export and guess what it holds (see the module docstring)."""
    path = Path(path)
    catalogue = catalogue or Catalogue.load()
    spec, details, rows, has_geometry = _read_sample(path)
    names = list(dict.fromkeys(k for r in rows for k in r))
    columns: list[ColumnGuess] = []
    taken: set[str] = set()
    for name in names:
        values = [r.get(name) for r in rows]
        shown = [str(v) for v in values if v not in (None, "")][:3]
        guess = ColumnGuess(name, samples=shown)
        n = _norm(name)
        last = n.split(" ")[-1]  # two-row headers: "Analyse Waarde" -> "waarde"
        bare = _without_unit(_BRACKETS.sub("", n).strip())  # "x m rd", "diepte (m-mv)" -> "x", "diepte"
        for role, pattern in ROLE_PATTERNS:
            if role not in taken and (pattern.search(n) or pattern.search(last) or pattern.search(bare)):
                guess.role = role
                taken.add(role)
                break
        if guess.role is None:
            param = catalogue.lookup(name) or catalogue.lookup(_param_label(name))
            if param is not None:
                guess.role, guess.parameter = "value", param.code
                guess.unit = _guess_unit(name) or param.canonical_unit
                if _guess_unit(name) is None:
                    guess.note = "unit not in the column name: canonical unit assumed"
        columns.append(guess)
    decimal = _guess_decimal(rows)
    _coordinates_by_range(columns, rows, decimal)
    by_role = {c.role: c for c in columns if c.role}
    long_layout = "parameter" in by_role and "value" in by_role and not any(c.parameter for c in columns)
    layout = "long" if long_layout else ("wide" if any(c.parameter for c in columns) else None)
    crs, crs_note = _guess_crs(rows, by_role, decimal, details if has_geometry else None)
    depth_unit, depth_note = _guess_depth_unit(columns, rows, decimal)
    report = InspectReport(
        path, spec, details, columns, layout, crs, crs_note, depth_unit, decimal, len(rows)
    )
    report.depth_note = depth_note
    if layout == "long" and "unit" not in by_role:
        report.parameter_pattern = _label_unit_pattern([r.get(by_role["parameter"].name) for r in rows])
    report.unquantified = _unquantified(columns, rows, by_role, layout, catalogue, report.parameter_pattern)
    return report


# the unit written after the parameter's name in a long layout: "Lood [mg/kg ds]", "Zink (mg/kg ds)"
LABEL_UNIT_PATTERNS = (
    r"^(?P<parameter>.+?)\s*\[(?P<unit>[^\]]+)\]\s*$",
    r"^(?P<parameter>.+?)\s*\((?P<unit>[^()]+)\)\s*$",
)


def _label_unit_pattern(labels: list[Any]) -> str | None:
    """The pattern that splits most labels into a parameter and a recognisable unit, if any does."""
    texts = [str(v) for v in labels if v not in (None, "")]
    for pattern in LABEL_UNIT_PATTERNS:
        compiled = re.compile(pattern)
        hits = [m for m in map(compiled.match, texts) if m and _guess_unit(m.group("unit"))]
        if texts and len(hits) * 2 > len(texts):
            return pattern
    return None


def _guess_depth_unit(
    columns: list[ColumnGuess], rows: list[dict[str, Any]], decimal: str
) -> tuple[str, str]:
    """cm or m: from the depth columns' names ("Van (cm)", "cm-mv"), else from their values (soil
    samples lie within a few metres: depths above 20 are centimetres)."""
    depth_cols = [c for c in columns if c.role in ("depth_from", "depth_to", "depth")]
    if not depth_cols:
        return "m", "no depth columns recognised"
    names = " ".join(_norm(c.name) for c in depth_cols)
    if "cm" in names:
        return "cm", "cm in the column name"
    if re.search(r"(\bm\b|\(m|m-?mv|_m$)", names):
        return "m", "m in the column name"
    values: list[float] = []
    for c in depth_cols:
        for r in rows:
            raw = r.get(c.name)
            parts = (
                re.split(r"\s*[-–]\s*", raw.strip()) if c.role == "depth" and isinstance(raw, str) else [raw]
            )
            values += [v for v in (_number(p, decimal) for p in parts) if isinstance(v, float)]
    if not values:
        return "m", "no numeric depths in the first rows"
    deepest = max(values)
    if deepest > 20:
        return "cm", f"no unit in the names; depths up to {deepest:g}: centimetres?"
    return "m", f"no unit in the names; depths up to {deepest:g}: metres?"


def _unquantified(
    columns, rows, by_role, layout, catalogue: Catalogue, label_pattern: str | None = None
) -> dict[str, str]:
    """Parameters whose values include '<RG'-like notations: below a limit the file does not state
    (read by the harmonisation's value parser with the mapping defaults)."""
    values = ValueParser()
    found: dict[str, str] = {}
    if layout == "long":
        value, param = by_role["value"].name, by_role["parameter"].name
        split = re.compile(label_pattern) if label_pattern else None
        for r in rows:
            raw = r.get(value)
            label = str(r.get(param) or "").strip()
            m = split.match(label) if split else None
            p = catalogue.lookup(m.group("parameter").strip() if m else label)
            if isinstance(raw, str) and p is not None and values.parse(raw)[0] == BELOW_UNQUANTIFIED:
                found.setdefault(p.code, raw.strip())
        return found
    for c in columns:
        if c.parameter:
            for r in rows:
                raw = r.get(c.name)
                if isinstance(raw, str) and values.parse(raw)[0] == BELOW_UNQUANTIFIED:
                    found.setdefault(c.parameter, raw.strip())
                    break
    return found


def _guess_decimal(rows: list[dict[str, Any]]) -> str:
    texts = [str(v) for r in rows for v in r.values() if isinstance(v, str)]
    commas = sum(bool(re.fullmatch(r"-?\d+,\d+", t)) for t in texts)
    points = sum(bool(re.fullmatch(r"-?\d+\.\d+", t)) for t in texts)
    return "," if commas > points else "."


def _coordinates_by_range(columns: list[ColumnGuess], rows: list[dict[str, Any]], decimal: str) -> None:
    """No column named as X/Y: take the first pair of unclaimed numeric columns whose values are, in
    every row read, coordinates of the Netherlands (RD New or WGS84, either order)."""
    if any(c.role in ("x", "y") for c in columns):
        return
    numeric: list[tuple[ColumnGuess, list[float]]] = []
    for c in columns:
        if c.role is not None or c.parameter is not None:
            continue
        values = [_number(r.get(c.name), decimal) for r in rows]
        if values and all(isinstance(v, float) for v in values):
            numeric.append((c, values))  # type: ignore[arg-type]
    for (a, va), (b, vb) in itertools.combinations(numeric, 2):
        kinds = {classify(x, y) for x, y in zip(va, vb, strict=True)}
        if len(kinds) != 1 or None in kinds:
            continue
        (kind,) = kinds
        x, y = (a, b) if kind in ("rd", "lonlat") else (b, a)
        x.role, y.role = "x", "y"
        what = "RD New" if kind.startswith("rd") else "WGS84 longitude/latitude"
        x.note = y.note = f"recognised by its values ({what}), not its name"
        return


def _guess_crs(rows, by_role, decimal, vector_details) -> tuple[str | None, str]:
    if vector_details is not None:
        crs = vector_details.get("layer_crs")
        if crs:
            return crs, "from the file's .prj / layer CRS"
        bounds = vector_details.get("bounds")
        if bounds is not None and len(bounds) == 4:
            kinds = {
                classify(float(bounds[0]), float(bounds[1])),
                classify(float(bounds[2]), float(bounds[3])),
            }
            if kinds == {"rd"}:
                return (
                    "EPSG:28992",
                    "the file states no CRS (e.g. no .prj): the coordinates are in RD New ranges",
                )
            if kinds == {"lonlat"}:
                return "EPSG:4326", "the file states no CRS (e.g. no .prj): the coordinates are WGS84 lon/lat"
        return None, "no CRS in the file: set 'crs'"
    if "x" not in by_role or "y" not in by_role:
        return None, "no X/Y columns recognised"
    kinds: Counter[str | None] = Counter()
    for r in rows:
        x = _number(r.get(by_role["x"].name), decimal)
        y = _number(r.get(by_role["y"].name), decimal)
        if isinstance(x, float) and isinstance(y, float):
            kinds[classify(x, y)] += 1
    if not kinds:
        return None, "no numeric coordinates in the first rows"
    kind, n = kinds.most_common(1)[0]
    share = f"{n} of {sum(kinds.values())} rows"
    return {
        "rd": ("EPSG:28992", f"RD New ranges ({share})"),
        "rd_swapped": ("detect", f"RD New with X and Y exchanged ({share}): check the column names"),
        "lonlat": ("EPSG:4326", f"WGS84 longitude/latitude ({share})"),
        "latlon": ("detect", f"WGS84 written latitude first ({share})"),
    }.get(kind, ("detect", f"ranges fit neither RD New nor WGS84 ({share})"))


def _number(value: Any, decimal: str) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    return parse_number(value, decimal) if isinstance(value, str) else None


def draft_mapping(report: InspectReport, *, name: str | None = None, gemeente: str | None = None) -> str:
    """A mapping YAML for ``report`` with every guess marked ``# REVIEW``."""
    by_role = {c.role: c for c in report.columns if c.role}
    q = _yaml_str
    lines = [
        f"# Draft mapping written by `grondslag etl inspect` for {report.path.name}.",
        "# Every line marked REVIEW is a guess: check it against the file, then run",
        f"#   grondslag etl ingest {report.path.name} --mapping <this file> --dry-run",
        f"name: {q(name or re.sub(r'[^a-z0-9]+', '_', report.path.stem.lower()).strip('_'))}",
        f"gemeente: {q(gemeente) if gemeente else 'GM0000'}  # REVIEW: CBS code of the delivering gemeente "
        "(or replace by `multi: true`)",
        "reader:",
    ]
    for key, value in report.reader.items():
        if key == "delimiter" and value == "\t":
            value = "tab"  # a literal tab is whitespace to YAML and to the mapping schema
        lines.append(f"  {key}: {q(value) if not isinstance(value, list) else value}")
    if report.reader["type"] == "sikb0101":
        return "\n".join(lines) + "\n"
    lines.append(f"crs: {q(report.crs or 'detect')}  # REVIEW: {report.crs_note}")
    lines.append(f"decimal: {q(report.decimal)}  # REVIEW")
    lines.append(
        f"depth_unit: {report.depth_unit}  # REVIEW{': ' + report.depth_note if report.depth_note else ''}"
    )
    lines.append("columns:")
    for role in (
        "location_id",
        "sample_id",
        "investigation_id",
        "name",
        "date",
        "depth_from",
        "depth_to",
        "depth",
        "x",
        "y",
    ):
        if role in by_role:
            lines.append(
                f"  {role}: {q(by_role[role].name)}  # REVIEW e.g. {', '.join(by_role[role].samples[:2])}"
            )
        elif role == "location_id":
            lines.append("  location_id: ''  # REVIEW: no identifier column recognised")
    if report.reader["type"] in ("vector", "shapefile", "geopackage", "geojson") and "x" not in by_role:
        lines.append("  geometry: true")
    elif "x" not in by_role and report.details.get("other_sheets"):
        lines.append(
            f"  # REVIEW: no X/Y here; if they are on sheet {report.details['other_sheets'][0]!r}, add under"
            " reader: `join: {sheet: <name>, on: <key column>}` and name x/y above"
        )
    lines.append(f"layout: {report.layout or 'wide'}  # REVIEW")
    if report.layout == "long":
        lines += [
            "long:",
            f"  parameter: {q(by_role['parameter'].name)}",
            f"  value: {q(by_role['value'].name)}",
        ]
        if "unit" in by_role:
            lines.append(f"  unit: {q(by_role['unit'].name)}")
        if "below_limit_flag" in by_role:
            lines.append(f"  below_limit_flag: {q(by_role['below_limit_flag'].name)}")
        if report.parameter_pattern:
            lines.append(
                f"  parameter_pattern: {q(report.parameter_pattern)}  # REVIEW: the unit is written in the "
                "parameter's name"
            )
    else:
        lines += ["wide:", "  value_columns:"]
        for c in report.columns:
            if c.parameter:
                note = f"  # REVIEW{': ' + c.note if c.note else ''}"
                lines.append(f"    {q(c.name)}: {{parameter: {c.parameter}, unit: {q(c.unit)}}}{note}")
        unknown = [c.name for c in report.columns if c.role is None]
        if unknown:
            lines.append(f"  exclude: [{', '.join(q(n) for n in unknown)}]  # REVIEW: columns not recognised")
    if report.unquantified:
        shown = ", ".join(f"{code} {value!r}" for code, value in report.unquantified.items())
        limits = ", ".join(f"{code}: <limit>" for code in report.unquantified)
        lines += [
            f"# REVIEW: values below a limit the file does not state ({shown}) are quarantined as",
            "# non_numeric_value unless the limit is given; if the lab report states it, uncomment and fill in",
            "# (in the parameter's canonical unit):",
            "# detection_limit:",
            f"#   reporting_limits: {{{limits}}}",
        ]
    return "\n".join(lines) + "\n"


def _yaml_str(value: Any) -> str:
    text = str(value)
    if re.fullmatch(r"[A-Za-z_][\w .-]*", text) and text.lower() not in (
        "yes",
        "no",
        "on",
        "off",
        "true",
        "false",
    ):
        return text
    return "'" + text.replace("'", "''") + "'"
