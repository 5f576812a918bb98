"""``harmonise(records, mapping, catalogue) -> HarmonisedBatch``: validation and conversion.

One pass over the records; everything per value is cached (parameter, unit, value, date
spellings), so a long-format file costs a few dictionary lookups per row.

Rules (truth.json "rules"):

- ``duplicate_row``: an exact copy of an earlier row (all values and geometry) is dropped and
  quarantined once (unit ``row``); checked first.
- ``missing_coordinates`` / ``xy_swapped``: the location with all its samples and analyses (unit
  ``location``; decided at the end, see :mod:`etl.harmonise.locations`).
- ``invalid_date`` / ``future_date`` / ``invalid_depth`` / ``depth_from_gt_to``: the sample with its
  analyses (unit ``sample``).
- ``unknown_parameter`` / ``non_numeric_value`` / ``unknown_unit`` / ``negative_value``: that
  analysis only (unit ``analysis``). An empty cell is "not analysed": no analysis, no quarantine.
- Below detection: the value is the reported limit, ``below_detection_limit`` is set.
- Depths in metres below surface; values in the parameter's canonical unit.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterable
from datetime import date
from operator import itemgetter
from typing import Any

from etl.errors import ConfigError, SourceError
from etl.harmonise import locations
from etl.harmonise.dates import DateParser
from etl.harmonise.model import (
    DEPTH_FROM_GT_TO,
    DUPLICATE_ROW,
    INVALID_DEPTH,
    MISSING_ID,
    NEGATIVE_VALUE,
    NON_NUMERIC_VALUE,
    UNKNOWN_PARAMETER,
    UNKNOWN_UNIT,
    LocationState,
    Problem,
    SampleState,
)
from etl.harmonise.parameters import Catalogue, Parameter, normalise_key
from etl.harmonise.units import UnitConverter
from etl.harmonise.values import (
    BELOW_UNQUANTIFIED,
    EMPTY,
    NON_NUMERIC,
    OK,
    FlagParser,
    ValueParser,
    parse_number,
)
from etl.mapping import Mapping, complete_sikb0101_mapping
from etl.records import HarmonisedBatch, HMeasurement, QuarantineRecord, RawRecord

_MISSING = object()
# a depth interval in one cell: "0-50", "0,5 - 1,0", "50–100" (en dash)
_RANGE = re.compile(r"\s*(\d+(?:[.,]\d+)?)\s*[-–]\s*(\d+(?:[.,]\d+)?)\s*")


def harmonise(
    records: Iterable[RawRecord], mapping: Mapping, catalogue: Catalogue, *, today: date | None = None
) -> HarmonisedBatch:
    """Validate and convert raw records of one source into a :class:`HarmonisedBatch`.

    ``today`` (default: the current date) is the limit for ``future_date``. A SIKB0101 mapping
    without ``columns`` gets the SIKB reader's built-in column mapping.
    """
    if mapping.columns is None and mapping.reader.kind == "sikb0101":
        mapping = complete_sikb0101_mapping(mapping)
    run = _Run(mapping, catalogue, today)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small, acyclic objects: the cyclic collector would only cost time
    try:
        run.consume(records)
        return run.finish()
    finally:
        if gc_was_enabled:
            gc.enable()


def harmonise_source(mapping: Mapping, catalogue: Catalogue, *, today: date | None = None) -> HarmonisedBatch:
    """Read the mapping's source file with its reader and harmonise it."""
    return harmonise(mapping.read_records(), mapping, catalogue, today=today)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:
            return None
        if value.is_integer():
            value = int(value)
    text = str(value).strip()
    return text or None


class _Run:
    def __init__(self, mapping: Mapping, catalogue: Catalogue, today: date | None) -> None:
        self.mapping = mapping
        self.catalogue = catalogue
        self.today = today or date.today()
        self.cols = mapping.columns
        if self.cols is None:
            raise ConfigError(f"{mapping.label}: 'columns' is required")
        self.values = ValueParser(
            decimal=mapping.decimal,
            not_analysed=mapping.nulls.not_analysed,
            non_numeric=mapping.nulls.non_numeric_value,
            below_prefixes=mapping.detection_limit.prefixes,
            unquantified=mapping.detection_limit.unquantified,
        )
        self.flags = FlagParser()
        self.dates = DateParser(
            day_first=mapping.dates.day_first,
            pivot=mapping.dates.two_digit_year_pivot,
            formats=mapping.dates.formats,
            today=self.today,
            excel_serials=mapping.dates.excel_serials,
        )
        self.units = UnitConverter()
        self.depth_factor = 0.01 if mapping.depth_unit == "cm" else 1.0
        self._param_cache: dict[Any, Parameter | None] = {}
        self.aliases = self._aliases()
        self.reporting_limits = self._reporting_limits()
        self._number_cache: dict[Any, float | None | object] = {}
        self.locations: dict[str, LocationState] = {}
        self._sample_owner: dict[str, str] = {}
        self.quarantine: list[QuarantineRecord] = []
        self.rows_read = 0
        self.wide_columns: list[tuple[str, str, Parameter | None, tuple[float, str] | None, str]] = []
        self.skip_raw: set[str] = set()

    # --- set-up ------------------------------------------------------------------------------------

    def _aliases(self) -> dict[str, Parameter]:
        out: dict[str, Parameter] = {}
        for label, code in self.mapping.parameter_aliases.items():
            p = self.catalogue.parameters.get(code) or self.catalogue.lookup(code)
            if p is None:
                raise ConfigError(
                    f"{self.mapping.label}: parameter_aliases.{label}: unknown parameter code {code!r}; "
                    f"known codes: {', '.join(self.catalogue.parameters)}"
                )
            out[normalise_key(label)] = p
        return out

    def _reporting_limits(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for label, limit in self.mapping.detection_limit.reporting_limits.items():
            p = self.param(label)
            if p is None:
                raise ConfigError(
                    f"{self.mapping.label}: detection_limit.reporting_limits.{label}: unknown parameter"
                )
            out[p.code] = float(limit)
        return out

    def param(self, label: Any) -> Parameter | None:
        """Catalogue parameter for a source label (mapping aliases first); cached."""
        try:
            return self._param_cache[label]
        except (KeyError, TypeError):
            pass
        text = _text(label)
        p = None
        if text is not None:
            p = self.aliases.get(normalise_key(text)) or self.catalogue.lookup(text)
        with contextlib.suppress(TypeError):  # unhashable cell value
            self._param_cache[label] = p
        return p

    def _mapped_columns(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for name in ("location_id", "sample_id", "investigation_id", "name", "location_type", "date"):
            col = getattr(self.cols, name)
            if col:
                found[f"columns.{name}"] = col
        for name in ("depth_from", "depth_to", "depth", "x", "y", "crs"):
            col = getattr(self.cols, name)
            if col:
                found[f"columns.{name}"] = col
        if self.mapping.layout == "long" and self.mapping.long:
            for name in ("parameter", "value", "unit", "below_limit_flag"):
                col = getattr(self.mapping.long, name)
                if col:
                    found[f"long.{name}"] = col
        if self.mapping.layout == "wide" and self.mapping.wide:
            for col in self.mapping.wide.value_columns:
                found[f"wide.value_columns.{col}"] = col
        return found

    def _check_first(self, rec: RawRecord) -> None:
        present = rec.values.keys()
        for where, col in self._mapped_columns().items():
            if col not in present:
                shown = ", ".join(list(present)[:40])
                raise SourceError(
                    str(self.mapping.file_path) if self.mapping.path else rec.locator.file,
                    f"column {col!r} ({where} in {self.mapping.label}) not found; columns: {shown}",
                    where=rec.locator.sheet and f"sheet/layer {rec.locator.sheet!r}",
                )
        mapped = set(self._mapped_columns().values())
        if self.mapping.layout == "wide":
            self._setup_wide(list(present), mapped)
            self.skip_raw = {c for c, *_ in self.wide_columns}
        elif self.mapping.long:
            lg = self.mapping.long
            self.skip_raw = {c for c in (lg.parameter, lg.value, lg.unit, lg.below_limit_flag) if c}

    def _setup_wide(self, names: list[str], mapped: set[str]) -> None:
        spec = self.mapping.wide
        assert spec is not None
        pattern = re.compile(spec.header_pattern) if spec.header_pattern else None
        excluded = set(spec.exclude)
        for col in names:
            if col in excluded:
                continue
            if col in spec.value_columns:
                label, unit = spec.value_columns[col].parameter, spec.value_columns[col].unit
            elif pattern is not None and col not in mapped:
                m = pattern.match(col)
                if not m:
                    continue
                label, unit = m.group("parameter").strip(), m.group("unit").strip()
            else:
                continue
            p = self.param(label)
            conv = self.units.resolve(unit, p.canonical_unit) if p else None
            self.wide_columns.append((col, label, p, conv, unit))

    # --- streaming ---------------------------------------------------------------------------------

    def consume(self, records: Iterable[RawRecord]) -> None:
        """One pass over the records. The common case (a row of the same sample as the previous row,
        a known parameter, unit and value) takes a fast path of plain dictionary lookups."""
        cols = self.cols
        c_loc, c_sample, c_x, c_y = cols.location_id, cols.sample_id, cols.x, cols.y
        # a one-column interval ("0-50") stands in for depth_from; it is split in _sample_fields
        c_date, c_from, c_to = cols.date, cols.depth_from or cols.depth, cols.depth_to
        use_geometry = cols.geometry
        long_spec = self.mapping.long if self.mapping.layout == "long" else None
        if long_spec is not None:
            c_param, c_value, c_unit, c_flag = (
                long_spec.parameter,
                long_spec.value,
                long_spec.unit,
                long_spec.below_limit_flag,
            )
            default_unit = long_spec.default_unit
            # a label holding the unit too ("Lood [mg/kg ds]"): split once per distinct label
            split_pattern = re.compile(long_spec.parameter_pattern) if long_spec.parameter_pattern else None
            label_unit: dict[Any, Any] = {}
        dummy = c_loc  # read in place of columns the mapping does not use
        needed = [c_loc, c_sample or dummy, c_x or dummy, c_y or dummy, c_date or dummy, c_from or dummy]
        needed += [c_to or dummy]
        if long_spec is not None:
            needed += [c_param, c_value, c_unit or dummy, c_flag or dummy]
        else:
            needed += [dummy] * 4
        getter = itemgetter(*needed)
        seen: set[Any] = set()
        quarantine = self.quarantine
        vcache, fcache, vparse, fparse = (
            self.values.cache,
            self.flags.cache,
            self.values.parse,
            self.flags.parse,
        )
        pcache: dict[Any, Parameter | None] = {}
        ucache: dict[str, dict[Any, tuple[float, str] | None]] = {}
        first = True
        last_loc_raw: Any = _MISSING
        last_sid_raw: Any = _MISSING
        loc: LocationState | None = None
        sample: SampleState | None = None
        first_x = first_y = sig_date = sig_from = sig_to = None
        rows = 0
        for rec in records:
            rows += 1
            vals = rec.values
            if first:
                self._check_first(rec)
                first = False
            key: Any = tuple(vals.values())
            wkb = rec.geometry_wkb
            if wkb is not None:
                key = (key, wkb)
            n_seen = len(seen)
            try:
                seen.add(key)
            except TypeError:  # unhashable cell values
                key = repr(key)
                seen.add(key)
            if len(seen) == n_seen:
                quarantine.append(
                    QuarantineRecord(rec.locator, DUPLICATE_ROW, None, "exact copy of an earlier row", vals)
                )
                continue
            try:  # all needed cells in one C call; columns absent from the mapping read a dummy column
                cells = getter(vals)
            except KeyError:  # a record without some column: None for it
                cells = tuple(vals.get(n) for n in needed)
            (
                loc_raw,
                sid_raw,
                x_raw,
                y_raw,
                date_raw,
                from_raw,
                to_raw,
                label,
                raw_value,
                raw_unit,
                flag_raw,
            ) = cells
            if not c_date:
                date_raw = None
            if not c_from:
                from_raw = None
            if not c_to:
                to_raw = None
            if not c_sample or sid_raw is None or sid_raw == "":
                sid_raw = (date_raw, from_raw, to_raw)  # no sample id: one sample per depth interval and date
            if loc_raw != last_loc_raw or sid_raw != last_sid_raw or loc is None or sample is None:
                loc = self._location_for(loc_raw, rec)
                if loc is None:
                    quarantine.append(
                        QuarantineRecord(rec.locator, MISSING_ID, c_loc, "row without location id", vals)
                    )
                    last_loc_raw = _MISSING
                    continue
                try:
                    sample = loc.samples_by_id.get(sid_raw)
                except TypeError:  # unhashable cell value
                    sid_raw = repr(sid_raw)
                    sample = loc.samples_by_id.get(sid_raw)
                if sample is None:
                    sample = self._sample(loc, None if type(sid_raw) is tuple else _text(sid_raw), rec)
                    loc.samples_by_id[sid_raw] = sample
                last_loc_raw, last_sid_raw = loc_raw, sid_raw
                first_x, first_y = loc.first_xy
                sig_date, sig_from, sig_to = sample.signature
            # a row that differs from its location's / sample's first row is checked on its own
            if use_geometry:
                if wkb != loc.first_wkb:
                    self._more_coordinates(loc, rec)
            elif c_x is not None and (x_raw != first_x or y_raw != first_y):
                self._more_coordinates(loc, rec)
            if date_raw != sig_date or from_raw != sig_from or to_raw != sig_to:
                self._recheck_sample(sample, rec)
            if long_spec is None:
                self._wide(rec, vals, sample)
                continue
            # --- long layout, fast path ---
            p = pcache.get(label, _MISSING)  # type: ignore[arg-type]
            if p is _MISSING:
                named = label
                if split_pattern is not None:
                    m = split_pattern.match(str(label).strip()) if label is not None else None
                    if m:
                        named, label_unit[label] = m.group("parameter").strip(), m.group("unit").strip()
                p = self.param(named)
                pcache[label] = p
            parsed = vcache.get(raw_value) if type(raw_value) is str else None
            if parsed is None:
                parsed = vparse(raw_value)
            if not c_unit or raw_unit is None or raw_unit == "":
                raw_unit = label_unit.get(label, default_unit) if split_pattern is not None else default_unit
            conv = None
            if p is not None:
                units = ucache.get(p.code)
                if units is None:
                    units = ucache[p.code] = {}
                conv = units.get(raw_unit, _MISSING)  # type: ignore[arg-type]
                if conv is _MISSING:
                    conv = self.units.resolve(raw_unit, p.canonical_unit) if raw_unit is not None else None
                    units[raw_unit] = conv
            if c_flag:
                flagged = fcache.get(flag_raw) if type(flag_raw) is str or flag_raw is None else None
                if flagged is None:
                    flagged = fparse(flag_raw)
            else:
                flagged = False
            kind, value, below = parsed
            if kind != OK or p is None or conv is None or value < 0:  # type: ignore[operator]
                self._measure(rec, sample, p, label, raw_value, conv, raw_unit, c_value, flagged)
                continue
            factor, unit = conv
            if factor != 1.0:
                value = value * factor  # type: ignore[operator]
            below = below or flagged
            sample.measurements.append(
                HMeasurement(
                    sample.key,
                    p.code,
                    value,  # type: ignore[arg-type]
                    p.canonical_unit,
                    below,
                    value if below else None,
                    raw_value if type(raw_value) is str else str(raw_value),
                    unit,
                    rec.locator,
                )
            )
        self.rows_read += rows

    def _location_for(self, loc_raw: Any, rec: RawRecord) -> LocationState | None:
        loc_id = _text(loc_raw)
        if loc_id is None:
            return None
        loc = self.locations.get(loc_id)
        if loc is None:
            loc = self._new_location(loc_id, rec)
        return loc

    def _new_location(self, loc_id: str, rec: RawRecord) -> LocationState:
        cols = self.cols
        vals = rec.values
        raw = {k: v for k, v in vals.items() if k not in self.skip_raw}
        loc = LocationState(
            key=loc_id,
            locator=rec.locator,
            raw=raw,
            name=_text(vals.get(cols.name)) if cols.name else None,
            investigation_key=_text(vals.get(cols.investigation_id)) if cols.investigation_id else None,
        )
        if cols.crs:
            loc.crs = _text(vals.get(cols.crs))
        elif rec.source_crs:
            loc.crs = rec.source_crs
        self._more_coordinates(loc, rec)
        self.locations[loc_id] = loc
        return loc

    def _more_coordinates(self, loc: LocationState, rec: RawRecord) -> None:
        cols = self.cols
        if cols.geometry:
            if not loc.wkbs:
                loc.first_wkb = rec.geometry_wkb
            if rec.geometry_wkb not in loc.wkbs:
                loc.wkbs.append(rec.geometry_wkb)
        elif cols.x is not None:
            pair = (rec.values.get(cols.x), rec.values.get(cols.y))
            if not loc.coords:
                loc.first_xy = pair
            if pair not in loc.coords:
                loc.coords.append(pair)

    def number(self, raw: Any) -> float | None | object:
        """A depth/coordinate number; None for empty, ``_MISSING`` for text that is no number."""
        if raw is None:
            return None
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return None if raw != raw else float(raw)
        try:
            return self._number_cache[raw]
        except (KeyError, TypeError):
            pass
        text = str(raw).strip()
        value: float | None | object = None
        if text:
            parsed = parse_number(text, self.mapping.decimal)
            value = _MISSING if parsed is None else parsed
        self._number_cache[raw] = value
        return value

    def _sample_fields(self, vals: dict[str, Any]) -> tuple[Any, float | None, float | None, Problem | None]:
        cols = self.cols
        day, reason = self.dates.parse(vals.get(cols.date)) if cols.date else (None, None)
        if reason:
            raw = vals.get(cols.date)
            shown = raw.isoformat() if hasattr(raw, "isoformat") else repr(raw)
            return (
                day,
                None,
                None,
                Problem(reason, cols.date, f"sample date {shown}: {reason.replace('_', ' ')}"),
            )
        depths: list[float | None] = []
        cells: list[tuple[str | None, Any]] = [
            (c, vals.get(c) if c else None) for c in (cols.depth_from, cols.depth_to)
        ]
        if cols.depth:
            raw = vals.get(cols.depth)
            parts = _RANGE.fullmatch(str(raw).strip()) if raw is not None and str(raw).strip() else None
            if raw is not None and str(raw).strip() and parts is None:
                msg = f"depth interval {raw!r} is not written as 'from-to' (e.g. '0-50')"
                return day, None, None, Problem(INVALID_DEPTH, cols.depth, msg)
            cells = [
                (cols.depth, parts.group(1) if parts else None),
                (cols.depth, parts.group(2) if parts else None),
            ]
        for col, cell in cells:
            v = self.number(cell) if col else None
            if v is _MISSING or (isinstance(v, float) and v < 0):
                return day, None, None, Problem(INVALID_DEPTH, col, f"depth {cell!r} is not a depth")
            depths.append(None if v is None else round(v * self.depth_factor, 6))  # type: ignore[operator]
        d_from, d_to = depths
        if d_from is not None and d_to is not None and d_from > d_to:
            msg = f"depth from {cells[0][1]!r} is below depth to {cells[1][1]!r}"
            return day, d_from, d_to, Problem(DEPTH_FROM_GT_TO, cols.depth_from or cols.depth, msg)
        return day, d_from, d_to, None

    def _sample(self, loc: LocationState, sid: str | None, rec: RawRecord) -> SampleState:
        cols = self.cols
        vals = rec.values
        c_from = cols.depth_from or cols.depth
        signature = (
            vals.get(cols.date) if cols.date else None,
            vals.get(c_from) if c_from else None,
            vals.get(cols.depth_to) if cols.depth_to else None,
        )
        if sid is None:  # no sample column: one sample per location, depth and date
            sid = f"{loc.key}|{signature[1]}-{signature[2]}|{signature[0]}"
        owner = self._sample_owner.setdefault(sid, loc.key)
        key = sid if owner == loc.key else f"{loc.key}/{sid}"
        day, d_from, d_to, problem = self._sample_fields(vals)
        sample = SampleState(
            key=key,
            location_key=loc.key,
            locator=rec.locator,
            raw={k: v for k, v in vals.items() if k not in self.skip_raw},
            signature=signature,
            sample_date=day,
            depth_from_m=d_from,
            depth_to_m=d_to,
            investigation_key=_text(vals.get(cols.investigation_id)) if cols.investigation_id else None,
            problem=problem,
        )
        loc.samples.append(sample)
        return sample

    def _recheck_sample(self, sample: SampleState, rec: RawRecord) -> None:
        if sample.problem is None:
            problem = self._sample_fields(rec.values)[3]
            if problem is not None:
                sample.problem = problem

    def _analysis_problem(self, sample: SampleState, rec: RawRecord, reason: str, col: str, msg: str) -> None:
        sample.quarantine.append(QuarantineRecord(rec.locator, reason, col, msg, rec.values, unit="analysis"))

    def _measure(
        self,
        rec: RawRecord,
        sample: SampleState,
        p: Parameter | None,
        label: Any,
        raw_value: Any,
        conv: tuple[float, str] | None,
        raw_unit: Any,
        col: str,
        flagged: bool,
    ) -> None:
        kind, value, below = self.values.parse(raw_value)
        if kind == EMPTY:
            return
        if p is None:
            self._analysis_problem(sample, rec, UNKNOWN_PARAMETER, col, f"unknown parameter {label!r}")
            return
        if kind == NON_NUMERIC:
            self._analysis_problem(
                sample, rec, NON_NUMERIC_VALUE, col, f"value {raw_value!r} is not a number"
            )
            return
        if conv is None:
            self._analysis_problem(sample, rec, UNKNOWN_UNIT, col, f"unit {raw_unit!r} for {p.code} unknown")
            return
        if kind == BELOW_UNQUANTIFIED:
            limit = self.reporting_limits.get(p.code)
            if limit is None:
                msg = f"value {raw_value!r}: below a reporting limit that is not given"
                self._analysis_problem(sample, rec, NON_NUMERIC_VALUE, col, msg)
                return
            value, conv = limit, (1.0, p.canonical_unit)
        if value < 0:  # type: ignore[operator]
            self._analysis_problem(sample, rec, NEGATIVE_VALUE, col, f"negative value {raw_value!r}")
            return
        factor, unit = conv
        v = value * factor if factor != 1.0 else value  # type: ignore[operator]
        below = below or flagged
        sample.measurements.append(
            HMeasurement(
                sample.key,
                p.code,
                v,  # type: ignore[arg-type]
                p.canonical_unit,
                below,
                v if below else None,  # type: ignore[arg-type]
                raw_value if isinstance(raw_value, str) else str(raw_value),
                unit,
                rec.locator,
            )
        )

    def _wide(self, rec: RawRecord, vals: dict[str, Any], sample: SampleState) -> None:
        for col, label, p, conv, unit in self.wide_columns:
            self._measure(rec, sample, p, label, vals.get(col), conv, unit, col, False)

    # --- end ---------------------------------------------------------------------------------------

    def finish(self) -> HarmonisedBatch:
        batch = HarmonisedBatch(rows_read=self.rows_read)
        locations.resolve_coordinates(list(self.locations.values()), self.mapping)
        batch.quarantine.extend(self.quarantine)
        locations.emit(self.locations.values(), batch)
        return batch
