"""Mapping files (``sources/*.yaml``): how one municipal export maps onto Grondslag's model.

A mapping names the source, its gemeente (CBS code, or ``multi: true`` when the gemeente of each
location follows from the gemeente polygons), the reader and its options, which column holds which
field, the CRS (an EPSG code or ``detect``), date and number conventions, the layout (``wide``: one
column per parameter; ``long``: parameter / value / unit columns), null markers and detection-limit
notations. Paths are relative to the mapping file. See ``sources/examples/`` for every shape.

``load_mapping(path)`` validates the YAML with pydantic and raises :class:`ConfigError` naming the
mapping file, the key path and what is allowed.
"""

from __future__ import annotations

import csv
import difflib
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pyproj import CRS
from pyproj.exceptions import CRSError

from etl.errors import ConfigError
from etl.records import RawRecord

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "db" / "reference"


@cache
def reference_gemeenten() -> tuple[dict[str, str], dict[str, tuple[str, str, str]]]:
    """The gemeenten of the province from ``db/reference``: {code: name} today, and the former ones
    {code: (name, ended on, successor code)}."""
    with open(REFERENCE_DIR / "gemeenten.csv", encoding="utf-8", newline="") as fh:
        current = {r["gemeentecode"]: r["naam"] for r in csv.DictReader(fh)}
    former: dict[str, tuple[str, str, str]] = {}
    with open(REFERENCE_DIR / "gemeenten_history.csv", encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["gemeentecode"] not in current and r["valid_to"] and r["opvolger"]:
                former[r["gemeentecode"]] = (r["naam"], r["valid_to"], r["opvolger"])
    return current, former


def check_gemeente(value: str) -> str:
    """``value`` as a CBS gemeentecode of a gemeente of the province today (``GM0736``; ``736`` and
    ``gm0736`` are accepted); a ValueError that says what to write instead otherwise."""
    current, former = reference_gemeenten()
    m = re.fullmatch(r"(?:GM)?(\d{4})", value.strip().upper())
    if not m:
        by_name = {name.lower(): code for code, name in current.items()}
        if value.strip().lower() in by_name:
            code = by_name[value.strip().lower()]
            raise ValueError(f"{value!r} is the name of a gemeente: write its CBS gemeentecode {code!r}")
        close = difflib.get_close_matches(value.strip().lower(), list(by_name), n=1, cutoff=0.75)
        hint = f" (did you mean {by_name[close[0]]}, {current[by_name[close[0]]]}?)" if close else ""
        raise ValueError(f"a CBS gemeentecode such as 'GM0736'{hint}")
    code = f"GM{m.group(1)}"
    if code in current:
        return code
    if code in former:
        name, ended, successor = former[code]
        raise ValueError(
            f"{code} ({name}) ended on {ended} and is part of {successor} ({current.get(successor, '?')}) "
            f"since: write {successor!r}"
        )
    listed = ", ".join(f"{c} {n}" for c, n in sorted(current.items()))
    raise ValueError(f"{code} is not a gemeente of the province of Utrecht; the gemeenten are: {listed}")


_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)

READER_TYPES = ("csv", "xlsx", "vector", "shapefile", "geopackage", "geojson", "sikb0101")
_VECTOR_TYPES = {"vector", "shapefile", "geopackage", "geojson"}
_OPTION_TYPES: dict[str, set[str]] = {  # which reader option is allowed for which reader type
    "encoding": {"csv", "vector"},
    "delimiter": {"csv"},
    "quotechar": {"csv"},
    "header_row": {"csv", "xlsx"},
    "header_rows": {"xlsx"},
    "first_data_row": {"xlsx"},
    "sheet": {"xlsx"},
    "join": {"xlsx"},
    "layer": {"vector"},
}


class JoinSpec(BaseModel):
    """A second sheet joined onto every data row by key (e.g. Houten's ``Coördinaten`` on ``Boring``)."""

    model_config = _STRICT
    sheet: str
    on: str | None = None
    left_on: str | None = None
    right_on: str | None = None
    header_row: int = Field(1, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        # YAML 1.1 reads an unquoted key `on:` as the boolean True
        if isinstance(data, dict) and True in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _keys(self) -> JoinSpec:
        if not self.on and not (self.left_on and self.right_on):
            raise ValueError("give 'on' (the key column in both sheets) or both 'left_on' and 'right_on'")
        return self


class ReaderSpec(BaseModel):
    """Which reader reads the file, and its options."""

    model_config = _STRICT
    type: Literal["csv", "xlsx", "vector", "shapefile", "geopackage", "geojson", "sikb0101"]
    file: str
    encoding: str | None = None
    delimiter: str | None = None
    quotechar: str | None = None
    header_row: int | None = Field(None, ge=1)
    header_rows: list[int] | None = None
    first_data_row: int | None = Field(None, ge=1)
    sheet: str | None = None
    join: JoinSpec | None = None
    layer: str | None = None

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, v: str | None) -> str | None:
        if v is None or v == "auto":
            return v
        v = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ","}.get(v, v)
        if len(v) != 1:
            raise ValueError("a single character, 'tab' or 'auto'")
        return v

    @field_validator("header_rows")
    @classmethod
    def _header_rows(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (not v or any(r < 1 for r in v) or sorted(set(v)) != v):
            raise ValueError("ascending 1-based row numbers, e.g. [4, 5]")
        return v

    @property
    def kind(self) -> str:
        """``csv``, ``xlsx``, ``vector`` or ``sikb0101``."""
        return "vector" if self.type in _VECTOR_TYPES else self.type

    @model_validator(mode="after")
    def _options_fit_type(self) -> ReaderSpec:
        for option, kinds in _OPTION_TYPES.items():
            if getattr(self, option) is not None and self.kind not in kinds:
                raise ValueError(f"option '{option}' is not allowed for reader type '{self.type}'")
        if self.header_row is not None and self.header_rows is not None:
            raise ValueError("give either 'header_row' or 'header_rows'")
        return self


class Columns(BaseModel):
    """Source column (or field) for each target field; ``geometry: true`` takes the feature geometry."""

    model_config = _STRICT
    location_id: str
    sample_id: str | None = None
    investigation_id: str | None = None
    name: str | None = None
    location_type: str | None = None
    date: str | None = None
    depth_from: str | None = None
    depth_to: str | None = None
    depth: str | None = None  # one column holding the interval, "0-50" / "0,5 - 1,0" ("traject")
    x: str | None = None
    y: str | None = None
    geometry: bool = False
    crs: str | None = None

    @model_validator(mode="after")
    def _xy(self) -> Columns:
        if (self.x is None) != (self.y is None):
            raise ValueError("give both 'x' and 'y' (or neither)")
        if self.depth is not None and (self.depth_from is not None or self.depth_to is not None):
            raise ValueError("use either 'depth' (one column 'from-to') or 'depth_from'/'depth_to'")
        if self.geometry and self.x is not None:
            raise ValueError("use either 'geometry: true' or 'x'/'y' columns")
        return self


class DateSpec(BaseModel):
    """Date conventions: day-first, the two-digit-year pivot, optional explicit strptime formats."""

    model_config = _STRICT
    day_first: bool = True
    two_digit_year_pivot: int = Field(30, ge=0, le=99)
    formats: list[str] = []
    excel_serials: bool = True


class ValueColumn(BaseModel):
    """A wide-layout value column: which parameter it holds, in which unit."""

    model_config = _STRICT
    parameter: str
    unit: str


def _parameter_unit_pattern(v: str | None) -> str | None:
    """A regex with the named groups ``parameter`` and ``unit`` (e.g. for ``Lood [mg/kg ds]``)."""
    if v is None:
        return v
    try:
        compiled = re.compile(v)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from exc
    if not {"parameter", "unit"} <= set(compiled.groupindex):
        raise ValueError("needs the named groups (?P<parameter>...) and (?P<unit>...)")
    return v


class WideSpec(BaseModel):
    """Wide layout: explicit ``value_columns`` and/or a ``header_pattern`` (regex with named groups
    ``parameter`` and ``unit``, e.g. ``Lood (Pb) [mg/kg ds]``); ``exclude`` lists columns to skip."""

    model_config = _STRICT
    value_columns: dict[str, ValueColumn] = {}
    header_pattern: str | None = None
    exclude: list[str] = []

    @field_validator("header_pattern")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        return _parameter_unit_pattern(v)

    @model_validator(mode="after")
    def _something(self) -> WideSpec:
        if not self.value_columns and not self.header_pattern:
            raise ValueError("give 'value_columns' and/or 'header_pattern'")
        return self


class LongSpec(BaseModel):
    """Long layout: the parameter, value, unit and (optional) below-limit flag columns.

    ``parameter_pattern``: when the unit is written in the parameter's label (``Lood [mg/kg ds]``), a
    regex with the named groups ``parameter`` and ``unit`` that splits it (the unit column, if any,
    still wins where it is filled)."""

    model_config = _STRICT
    parameter: str
    value: str
    unit: str | None = None
    below_limit_flag: str | None = None
    default_unit: str | None = None
    parameter_pattern: str | None = None

    @field_validator("parameter_pattern")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        return _parameter_unit_pattern(v)


NullMeaning = Literal["not_analysed", "non_numeric_value"]

# defaults of a mapping file (the harmonisation's value parser uses the same)
DEFAULT_NON_NUMERIC: tuple[str, ...] = ("n.b.", "nb", "n.b", "-", "--", "?", "nvt", "n.v.t.", "n.a.")
DEFAULT_UNQUANTIFIED: tuple[str, ...] = ("rg", "r.g.", "rapportagegrens", "dl", "detectiegrens", "bg")


def normalise_crs(text: str) -> str:
    """``EPSG:xxxx`` (or the input when pyproj has no EPSG code for it); raises CRSError."""
    parsed = CRS.from_user_input(text)
    epsg = parsed.to_epsg()
    return f"EPSG:{epsg}" if epsg else parsed.to_string()


class NullSpec(BaseModel):
    """Null markers. An empty cell always means "not analysed"; the markers listed under
    ``non_numeric_value`` are quarantined (truth.json: ``n.b.``, ``-``, ``?``)."""

    model_config = _STRICT
    not_analysed: list[str] = [""]
    non_numeric_value: list[str] = list(DEFAULT_NON_NUMERIC)


class DetectionLimitSpec(BaseModel):
    """Below-detection notations: prefixes such as ``<``; words meaning "below an unstated limit"
    (``<RG``); optional per-parameter reporting limits to use for those."""

    model_config = _STRICT
    prefixes: list[str] = ["<"]
    unquantified: list[str] = list(DEFAULT_UNQUANTIFIED)
    reporting_limits: dict[str, float] = {}


class Mapping(BaseModel):
    """One source (export) described by a mapping file."""

    model_config = _STRICT
    name: str = Field(min_length=1)
    gemeente: str | None = None
    multi: bool = False
    description: str | None = None
    reader: ReaderSpec
    crs: str = "EPSG:28992"
    columns: Columns | None = None
    depth_unit: Literal["cm", "m"] = "m"
    decimal: Literal[",", ".", "auto"] = "auto"
    dates: DateSpec = DateSpec()
    layout: Literal["wide", "long"] | None = None
    wide: WideSpec | None = None
    long: LongSpec | None = None
    parameter_aliases: dict[str, str] = {}
    nulls: NullSpec = NullSpec()
    detection_limit: DetectionLimitSpec = DetectionLimitSpec()
    tolerance_m: float = Field(100.0, ge=0)

    _path: Path | None = PrivateAttr(default=None)

    @field_validator("gemeente")
    @classmethod
    def _gemeente(cls, v: str | None) -> str | None:
        if v is None:
            return v
        return check_gemeente(v)

    @field_validator("crs")
    @classmethod
    def _crs(cls, v: str) -> str:
        if v.strip().lower() == "detect":
            return "detect"
        try:
            return normalise_crs(v)
        except CRSError as exc:
            raise ValueError(f"'{v}' is not a CRS pyproj knows; use e.g. 'EPSG:28992' or 'detect'") from exc

    @model_validator(mode="after")
    def _consistent(self) -> Mapping:
        if self.multi == (self.gemeente is not None):
            raise ValueError("give exactly one of 'gemeente: GMxxxx' or 'multi: true'")
        if self.reader.kind == "sikb0101":
            return self
        if self.columns is None:
            raise ValueError("'columns' is required for reader type " + repr(self.reader.type))
        if self.layout is None:
            raise ValueError("'layout' is required: 'wide' or 'long'")
        if self.layout == "wide" and self.wide is None:
            raise ValueError("layout 'wide' needs a 'wide' section")
        if self.layout == "long" and self.long is None:
            raise ValueError("layout 'long' needs a 'long' section")
        if self.columns.geometry and self.reader.kind != "vector":
            raise ValueError("'columns.geometry: true' needs a vector reader")
        if self.reader.kind != "vector" and self.columns.x is None and self.columns.crs is None:
            raise ValueError("give 'columns.x' and 'columns.y' (or use a vector reader with geometry)")
        return self

    # --- runtime helpers --------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        """The mapping file this mapping was loaded from (None when built in code)."""
        return self._path

    @property
    def label(self) -> str:
        """How errors name this mapping: its file, else its name."""
        return str(self._path) if self._path else f"mapping {self.name!r}"

    @property
    def file_path(self) -> Path:
        """The source file, resolved relative to the mapping file."""
        p = Path(self.reader.file)
        if not p.is_absolute() and self._path is not None:
            p = self._path.parent / p
        return Path(os.path.normpath(p))

    def reader_options(self) -> dict[str, Any]:
        """Keyword options for the reader's ``read`` function (only those that are set)."""
        r = self.reader
        if r.kind == "csv":
            opts = {"encoding": r.encoding, "delimiter": r.delimiter, "quotechar": r.quotechar}
            opts["header_row"] = r.header_row
        elif r.kind == "xlsx":
            opts = {"sheet": r.sheet, "header_rows": r.header_rows or r.header_row}
            opts["first_data_row"] = r.first_data_row
            opts["join"] = r.join.model_dump() if r.join else None
        elif r.kind == "vector":
            opts = {"layer": r.layer, "encoding": r.encoding}
            opts["crs"] = None if self.crs == "detect" else self.crs
        else:
            opts = {}
        return {k: v for k, v in opts.items() if v is not None}

    def read_records(self) -> Iterator[RawRecord]:
        """Stream the source's raw records with the configured reader."""
        kind = self.reader.kind
        if kind == "csv":
            from etl.readers import csv_reader as reader
        elif kind == "xlsx":
            from etl.readers import xlsx_reader as reader  # type: ignore[no-redef]
        elif kind == "vector":
            from etl.readers import vector_reader as reader  # type: ignore[no-redef]
        else:
            from etl.readers import sikb0101 as reader  # type: ignore[no-redef]
        return reader.read(self.file_path, **self.reader_options())


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping YAML file; ConfigError names the file, key path and what is allowed."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read mapping file: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return mapping_from_dict(doc, path)


def mapping_from_dict(doc: Any, path: str | Path | None = None) -> Mapping:
    """Validate an already parsed mapping document (``path`` is only used in messages)."""
    label = str(path) if path else "mapping"
    if not isinstance(doc, dict):
        raise ConfigError(
            f"{label}: the mapping must be a YAML mapping (key: value), got {type(doc).__name__}"
        )
    try:
        mapping = Mapping.model_validate(doc)
    except ValidationError as exc:
        raise ConfigError(f"{label}: " + "; ".join(_describe(err) for err in exc.errors())) from exc
    if path is not None:
        mapping._path = Path(path).resolve()
    return mapping


def _describe(err: dict[str, Any]) -> str:
    loc = [str(p) for p in err.get("loc", ())]
    where = ".".join(loc) or "(top level)"
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        return f"{where}: unknown key '{loc[-1]}'" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
    if kind == "missing":
        return f"{where}: required key is missing"
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if kind == "literal_error":
        return f"{where}: {msg}, got {err.get('input')!r}"
    return f"{where}: {msg}"


def _allowed_keys(loc: list[str]) -> list[str]:
    model: Any = Mapping
    for part in loc:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = _model_of(field.annotation)
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}))


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


# The fixed column names of the SIKB0101 reader's records (etl/readers/sikb0101.py), as a mapping:
# SIKB0101 / BRO SAD files have a fixed structure, so their mapping files need no column section.
SIKB0101_MAPPING: dict[str, Any] = {
    "crs": "EPSG:28992",
    "columns": {
        "location_id": "location_id",
        "location_type": "location_type",
        "investigation_id": "project",
        "sample_id": "sample_id",
        "date": "date",
        "depth_from": "depth_from_m",
        "depth_to": "depth_to_m",
        "x": "x",
        "y": "y",
        "crs": "crs",
    },
    "depth_unit": "m",
    "decimal": ".",
    "layout": "long",
    "long": {"parameter": "parameter", "value": "value", "unit": "unit", "below_limit_flag": "limit_symbol"},
}


def complete_sikb0101_mapping(mapping: Mapping | None = None, path: str | Path | None = None) -> Mapping:
    """A Mapping for SIKB0101 records: the built-in columns/layout, keeping name/gemeente/nulls of ``mapping``."""
    doc: dict[str, Any] = {
        "name": "sikb0101",
        "multi": True,
        "reader": {"type": "sikb0101", "file": str(path)},
    }
    if mapping is not None:
        doc = mapping.model_dump(exclude_none=True, exclude={"columns", "layout", "long", "wide"})
    doc.update(SIKB0101_MAPPING)
    if mapping is not None and mapping.columns is not None:
        doc["columns"] = mapping.columns.model_dump(exclude_none=True)
    completed = mapping_from_dict(doc)
    if mapping is not None and mapping.path is not None:
        completed._path = mapping.path
    return completed
