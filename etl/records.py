"""Record types that flow from readers through harmonisation to the loader.

Readers yield :class:`RawRecord` (municipal tabular/vector data) or :class:`BroObject`
(BRO / GEF). Harmonisation turns raw records into :class:`HarmonisedBatch`. The loader
writes a batch to PostGIS. Nothing in here knows about the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple


class Locator(NamedTuple):
    """Where a record sits in its file: enough for a person to find it again.

    Immutable; a named tuple because readers create one per row and a frozen dataclass is several
    times slower to create.
    """

    file: str
    sheet: str | None = None  # XLSX sheet or vector layer
    row: int | None = None  # 1-based row/feature number as a person counts it
    xpath: str | None = None  # element path in XML sources
    line: int | None = None  # line number in text sources (GEF)

    def __str__(self) -> str:
        if self.sheet is None and self.xpath is None and self.line is None and self.row is not None:
            return f"{self.file}, row {self.row}"  # the common case (CSV rows): one f-string
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet/layer {self.sheet!r}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.xpath:
            parts.append(self.xpath)
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in zip(self._fields, self, strict=True) if v is not None}


@dataclass(slots=True)
class RawRecord:
    """One row/feature/element as read, values still as text (or native cell values)."""

    locator: Locator
    values: dict[str, Any]
    geometry_wkb: bytes | None = None  # vector sources: geometry as read (source CRS)
    source_crs: str | None = None  # vector sources: CRS of geometry_wkb, e.g. "EPSG:28992"


# --- harmonised model -------------------------------------------------------


@dataclass(slots=True)
class QuarantineRecord:
    """A record that failed validation; stored with its locator and raw values."""

    locator: Locator
    reason: str  # stable code, e.g. "missing_coordinates", "xy_swapped", "unknown_parameter"
    field: str | None
    message: str
    raw: dict[str, Any]
    unit: str = "row"  # what was rejected: location, sample, analysis, row, object
    location_key: str | None = None  # set when the whole location is rejected


@dataclass(slots=True)
class HLocation:
    key: str  # identifier as written in the source
    x: float | None  # EPSG:28992
    y: float | None
    name: str | None = None
    status: str | None = None
    investigation_key: str | None = None
    investigation_date: date | None = None
    investigation_type: str | None = None
    report_id: str | None = None
    coord_decimals: int | None = None  # precision as delivered (decimals of the coordinate)
    locator: Locator | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    geometry_wkt: str | None = None  # polygons (EPSG:28992); points use x/y


@dataclass(slots=True)
class HSample:
    key: str  # unique within the dataset
    location_key: str
    depth_from_m: float | None
    depth_to_m: float | None
    sample_date: date | None
    investigation_key: str | None = None
    lutum_pct: float | None = None
    organic_matter_pct: float | None = None
    locator: Locator | None = None


@dataclass(slots=True)
class HMeasurement:
    sample_key: str
    parameter_code: str
    value: float  # in the parameter's canonical unit; the limit when below detection
    unit: str  # canonical unit
    below_detection_limit: bool = False
    detection_limit: float | None = None  # canonical unit
    reported_value: str | None = None
    reported_unit: str | None = None
    locator: Locator | None = None


@dataclass(slots=True)
class HarmonisedBatch:
    """Everything one dataset (file) yields after harmonisation."""

    locations: list[HLocation] = field(default_factory=list)
    samples: list[HSample] = field(default_factory=list)
    measurements: list[HMeasurement] = field(default_factory=list)
    quarantine: list[QuarantineRecord] = field(default_factory=list)
    rows_read: int = 0


# --- BRO ---------------------------------------------------------------------


# CPT measurement columns, in the order of BRO's ConePenetrationTestResultRecord (cptcommon 1.x);
# GEF quantities map onto the same names. The store has one array per name (bro_cpt_data).
CPT_COLUMNS: tuple[str, ...] = (
    "penetration_length",
    "depth",
    "elapsed_time",
    "cone_resistance",
    "corrected_cone_resistance",
    "net_cone_resistance",
    "magnetic_field_strength_x",
    "magnetic_field_strength_y",
    "magnetic_field_strength_z",
    "magnetic_field_strength_total",
    "electrical_conductivity",
    "inclination_ew",
    "inclination_ns",
    "inclination_x",
    "inclination_y",
    "inclination_resultant",
    "magnetic_inclination",
    "magnetic_declination",
    "local_friction",
    "pore_ratio",
    "temperature",
    "pore_pressure_u1",
    "pore_pressure_u2",
    "pore_pressure_u3",
    "friction_ratio",
)


# Column order of BRO's DissipationTestResultRecord; the store has one array per name
# (bro_cpt_dissipation), GEF quantities outside them go to its ``extra``.
DISSIPATION_COLUMNS: tuple[str, ...] = (
    "elapsed_time",
    "cone_resistance",
    "pore_pressure_u1",
    "pore_pressure_u2",
    "pore_pressure_u3",
)


@dataclass(slots=True)
class CptData:
    """CPT measurement table: column name -> list of values (None for void)."""

    columns: dict[str, list[float | None]]
    dissipation_tests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.columns.values()), []))


@dataclass(slots=True)
class BoreholeLayer:
    upper_boundary: float | None  # m below surface
    lower_boundary: float | None
    soil_name: str | None = None
    classification: str | None = None
    admixtures: dict[str, Any] = field(default_factory=dict)
    colour: str | None = None
    description_kind: str | None = None  # e.g. "descriptiveBoreholeLog", "soilProfile"


@dataclass(slots=True)
class WellTube:
    tube_number: int | None
    screen_top: float | None  # m NAP
    screen_bottom: float | None
    tube_top: float | None = None
    tube_type: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class BroObject:
    """A BRO registration object (or GEF file) as read, with location in EPSG:28992."""

    bro_id: str | None
    object_type: str  # CPT, BHR-GT, BHR-P, BHR-G, GMW, GLD, SFR, SAD
    x: float | None  # EPSG:28992
    y: float | None
    source_crs: str | None = None  # e.g. "EPSG:28992", "EPSG:4258", "EPSG:4326"
    source_x: float | None = None
    source_y: float | None = None
    quality_regime: str | None = None  # IMBRO, IMBRO/A
    research_report_date: date | None = None
    registration_date: date | None = None
    delivery_accountable_party: str | None = None
    final_depth: float | None = None
    vertical_datum: str | None = None
    offset: float | None = None  # surface level w.r.t. vertical datum (m)
    attributes: dict[str, Any] = field(default_factory=dict)
    cpt: CptData | None = None
    layers: list[BoreholeLayer] = field(default_factory=list)
    tubes: list[WellTube] = field(default_factory=list)
    source_format: str = "IMBRO-XML"  # or "GEF"
    locator: Locator | None = None
