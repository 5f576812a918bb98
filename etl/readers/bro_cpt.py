"""BRO CPT (geotechnisch sondeeronderzoek) IMBRO-XML reader.

:func:`iter_cpts` streams a file (dispatch response with one or many ``CPT_O``, iscpt source document,
registration/correction request, SOAP response) and yields, in file order, a
:class:`~etl.records.BroObject` per CPT or a :class:`~etl.errors.RecordError` for a CPT that cannot be
used (missing coordinates, non-numeric or ragged values block). A file that is unusable as a whole
raises :class:`~etl.errors.SourceError` (after the objects read before the damage were yielded).

The measurement table comes from ``cptcommon:values`` (rows split by the block separator ';', values
by the token separator ',', as declared in ``swe:TextEncoding``) in the column order of the BRO CPT
result record (``cpttestresult_record.xml``, 25 columns, void -999999). ``CptData.columns`` holds the
columns that have at least one measured value, snake_case named, voids as None, rows sorted by
penetration length (the BRO does not deliver them in order; dissipation rows by elapsed time).
Dissipation tests are kept in ``CptData.dissipation_tests`` as dicts with the keys
``penetration_length``, ``phenomenon_time``, ``n_rows`` and ``columns`` (elapsed_time, cone_resistance, u1-3).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree

from etl.errors import RecordError
from etl.readers.bro_xml import (
    StreamedObject,
    base_object,
    find,
    findall,
    iter_parsed,
    leaf_values,
    local,
    number,
    text,
)
from etl.records import CPT_COLUMNS, DISSIPATION_COLUMNS, BroObject, CptData

VOID = -999999.0

# Units of the BRO CPT columns (as in the result record).
CPT_UNITS: dict[str, str] = {
    "penetration_length": "m",
    "depth": "m",
    "elapsed_time": "s",
    "cone_resistance": "MPa",
    "corrected_cone_resistance": "MPa",
    "net_cone_resistance": "MPa",
    "magnetic_field_strength_x": "nT",
    "magnetic_field_strength_y": "nT",
    "magnetic_field_strength_z": "nT",
    "magnetic_field_strength_total": "nT",
    "electrical_conductivity": "S/m",
    "inclination_ew": "deg",
    "inclination_ns": "deg",
    "inclination_x": "deg",
    "inclination_y": "deg",
    "inclination_resultant": "deg",
    "magnetic_inclination": "deg",
    "magnetic_declination": "deg",
    "local_friction": "MPa",
    "pore_ratio": "1",
    "temperature": "degC",
    "pore_pressure_u1": "MPa",
    "pore_pressure_u2": "MPa",
    "pore_pressure_u3": "MPa",
    "friction_ratio": "%",
}


def iter_cpts(path: str | Path) -> Iterator[BroObject | RecordError]:
    """Stream the CPTs of a BRO XML file: a BroObject per good CPT, a RecordError per bad one."""
    return iter_parsed(path, {"CPT": parse_cpt})


def read_cpts(path: str | Path) -> list[BroObject]:
    """All CPTs of a (small) file; the first RecordError is raised."""
    out: list[BroObject] = []
    for item in iter_cpts(path):
        if isinstance(item, RecordError):
            raise item
        out.append(item)
    return out


def parse_cpt(so: StreamedObject) -> BroObject:
    """A streamed CPT object element -> BroObject with CptData."""
    obj = base_object(so)
    el = so.elem
    survey = find(el, "conePenetrometerSurvey")
    loc = so.locator("/conePenetrometerSurvey")
    obj.final_depth = number(survey, "trajectory/finalDepth", locator=loc)
    attrs = obj.attributes
    attrs["predrilled_depth"] = number(survey, "trajectory/predrilledDepth", locator=loc)
    if survey is not None:
        for key, value in leaf_values(survey, depth=0).items():
            if value is not None:
                attrs.setdefault(key, value)
        cone = find(survey, "conePenetrometer")
        attrs["cone_penetrometer"] = leaf_values(cone)
        attrs["cone_penetrometer_type"] = text(cone, "conePenetrometerType")
        attrs["procedure"] = leaf_values(find(survey, "procedure"))
        parameters = find(survey, "parameters")
        attrs["parameters"] = (
            [local(p.tag) for p in parameters if text(p) == "ja"] if parameters is not None else []
        )
        attrs["column_units"] = CPT_UNITS
        test = find(survey, "conePenetrationTest")
        attrs["phenomenon_time"] = text(test, "phenomenonTime//timePosition")
    test = find(survey, "conePenetrationTest")
    result = find(test, "cptResult")
    columns: dict[str, list[float | None]] = {}
    if result is not None:
        columns = decode_result(
            so, result, CPT_COLUMNS, "/conePenetrometerSurvey/conePenetrationTest/cptResult"
        )
    dissipation_tests = []
    for n, dis in enumerate(findall(survey, "dissipationTest"), start=1):
        sub = f"/conePenetrometerSurvey/dissipationTest[{n}]"
        dis_result = find(dis, "disResult")
        dis_columns = (
            decode_result(so, dis_result, DISSIPATION_COLUMNS, sub + "/disResult")
            if dis_result is not None
            else {}
        )
        dissipation_tests.append(
            {
                "penetration_length": number(dis, "penetrationLength", locator=so.locator(sub)),
                "phenomenon_time": text(dis, "phenomenonTime//timePosition"),
                "n_rows": len(next(iter(dis_columns.values()), [])),
                "columns": dis_columns,
            }
        )
    obj.cpt = CptData(columns=columns, dissipation_tests=dissipation_tests)
    return obj


def _encoding(result: etree._Element) -> tuple[str, str, str]:
    enc = find(result, "encoding/TextEncoding")
    if enc is None:
        return ",", ";", "."
    return enc.get("tokenSeparator", ","), enc.get("blockSeparator", ";"), enc.get("decimalSeparator", ".")


def decode_result(
    so: StreamedObject,
    result: etree._Element,
    names: tuple[str, ...],
    sub: str,
    *,
    sort: bool = True,
) -> dict[str, list[float | None]]:
    """Decode the ``values`` block of a cptResult/disResult into named columns (voids -> None).

    Rows are sorted on the first column (penetration length, or elapsed time of a dissipation test):
    the BRO does not deliver them in order. Raises RecordError 'non_numeric_value' or
    'wrong_column_count' naming the 1-based row as delivered.
    """
    values = find(result, "values")
    if values is None:
        return {}
    token, block, decimal = _encoding(result)
    raw = (values.text or "").strip()
    values.text = None  # the block can be large; it is not needed any more
    if not raw:
        return {}
    if decimal != ".":
        raw = raw.replace(decimal, ".")
    table = _fast_table(raw, token, block, len(names))
    if table is None:
        table = _checked_table(so, values, raw, token, block, names, sub)
    if sort and table.shape[0] > 1:
        key = np.where(table[:, 0] == VOID, np.nan, table[:, 0])
        table = table[np.argsort(key, kind="stable")]
    return table_to_columns(table, names, VOID)


def table_to_columns(table: np.ndarray, names: tuple[str, ...], void: float) -> dict[str, list[float | None]]:
    """2-D float table -> {name: list}, dropping columns that hold nothing but voids."""
    columns: dict[str, list[float | None]] = {}
    voids = table == void
    keep = ~voids.all(axis=0)
    has_void = voids.any(axis=0)
    by_column = table.T
    for j in np.flatnonzero(keep):
        if has_void[j]:
            values: Any = by_column[j].astype(object)
            values[voids[:, j]] = None
            columns[names[j]] = values.tolist()
        else:
            columns[names[j]] = by_column[j].tolist()
    return columns


def _fast_table(raw: str, token: str, block: str, width: int) -> np.ndarray | None:
    """C-speed decode (pandas' CSV parser); None when anything is off, so the checked path reports it."""
    try:
        import pandas as pd

        frame = pd.read_csv(
            io.StringIO(raw),
            sep=token,
            lineterminator=block,
            header=None,
            dtype=np.float64,
            engine="c",
            na_filter=False,
            skip_blank_lines=True,
        )
    except Exception:  # noqa: BLE001 - any failure falls back to the checked decoder
        return None
    table = frame.to_numpy(dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != width or np.isnan(table).any():
        return None
    return table


def _checked_table(
    so: StreamedObject,
    values: etree._Element,
    raw: str,
    token: str,
    block: str,
    names: tuple[str, ...],
    sub: str,
) -> np.ndarray:
    width = len(names)
    rows: list[list[float]] = []
    for n, row in enumerate(raw.split(block), start=1):
        row = row.strip()
        if not row:
            continue
        tokens = row.split(token)
        if len(tokens) != width:
            raise RecordError(
                so.locator(sub + "/values", row=n, elem=values),
                "wrong_column_count",
                f"{so.label()}: values row {n} has {len(tokens)} values, the result record has {width}",
                field="values",
            )
        try:
            rows.append([float(t) for t in tokens])
        except ValueError:
            bad = next(t for t in tokens if not _is_float(t))
            raise RecordError(
                so.locator(sub + "/values", row=n, elem=values),
                "non_numeric_value",
                f"{so.label()}: values row {n} holds {bad.strip()!r}, not a number",
                field="values",
            ) from None
    return np.array(rows, dtype=np.float64).reshape(-1, width)


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
