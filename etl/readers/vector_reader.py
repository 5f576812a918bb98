"""Vector reader (shapefile, GeoPackage, GeoJSON, anything GDAL reads) via pyogrio.

Attributes become the record values (numpy scalars converted to Python; NaN/NaT to None); the
geometry stays WKB in ``RawRecord.geometry_wkb`` with its CRS in ``RawRecord.source_crs``. The
file's own CRS (``.prj``, GeoPackage SRS, GeoJSON) wins; ``crs`` is used when the file has none
(shapefile without ``.prj``). ``encoding`` overrides the file's (``.cpg``) or GDAL's default.
Coordinates in the WKB are in GIS order (x = easting/longitude), as GDAL returns them.

A CSV read as vector data (``type: vector``) takes its geometry from a WKT column named as GIS
exports name it (``WKT``, QGIS's ``wkt_geom``, ``geom``, ``the_geom``, ``geometry``); that column
is not repeated among the values.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from etl.errors import SourceError
from etl.records import Locator, RawRecord


def _python_values(arr: np.ndarray) -> list[Any]:
    kind = arr.dtype.kind
    if kind == "M":
        return [None if v is None else v for v in arr.astype("datetime64[us]").tolist()]
    values = arr.tolist()
    if kind == "f":
        return [None if v != v else v for v in values]  # NaN -> None
    if kind == "O":
        return [None if isinstance(v, float) and v != v else v for v in values]
    return values


# GDAL CSV driver open options: geometry from a WKT column of these names, not kept as a field
CSV_WKT_COLUMNS = ("WKT", "wkt_geom", "geom", "the_geom", "geometry")


def _open_options(path: Path) -> dict[str, str]:
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        return {"GEOM_POSSIBLE_NAMES": ",".join(CSV_WKT_COLUMNS), "KEEP_GEOM_COLUMNS": "NO"}
    return {}


def list_layers(path: str | Path) -> list[str]:
    """Layer names of a vector data source."""
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except (DataSourceError, OSError) as exc:
        raise SourceError(str(path), f"cannot open as vector data: {exc}") from exc


def read(
    path: str | Path,
    /,
    *,
    layer: str | int | None = None,
    encoding: str | None = None,
    crs: str | None = None,
) -> Iterator[RawRecord]:
    """Yield one RawRecord per feature; ``Locator.sheet`` is the layer, ``row`` the 1-based feature."""
    path = Path(path)
    if not path.exists():
        raise SourceError(str(path), "file not found")
    layers = list_layers(path)
    if layer is not None and not isinstance(layer, int) and layer not in layers:
        raise SourceError(str(path), f"layer {layer!r} not found; layers: {', '.join(layers)}")
    if not layers:
        raise SourceError(str(path), "no layers")
    layer_name = layer if isinstance(layer, str) else layers[layer or 0]
    try:
        meta, _fids, geometry, fields = pyogrio.raw.read(
            path, layer=layer_name, encoding=encoding, **_open_options(path)
        )
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise SourceError(str(path), f"cannot read vector data: {exc}") from exc
    source_crs = meta.get("crs") or crs
    names = [str(n) for n in meta["fields"]]
    columns = [_python_values(a) for a in fields]
    file_name = path.name
    n = len(geometry) if geometry is not None else (len(columns[0]) if columns else 0)
    for i in range(n):
        values = {name: col[i] for name, col in zip(names, columns, strict=True)}
        wkb = geometry[i] if geometry is not None else None
        yield RawRecord(
            Locator(file_name, sheet=layer_name, row=i + 1),
            values,
            geometry_wkb=bytes(wkb) if wkb is not None else None,
            source_crs=source_crs,
        )


def inspect(path: str | Path) -> dict[str, Any]:
    """Layers with CRS, encoding, geometry type, feature count, fields and bounds."""
    path = Path(path)
    layers = []
    for name in list_layers(path):
        info = pyogrio.read_info(path, layer=name, **_open_options(path))
        layers.append(
            {
                "layer": name,
                "crs": info.get("crs"),
                "encoding": info.get("encoding"),
                "geometry_type": info.get("geometry_type"),
                "features": info.get("features"),
                "fields": [str(f) for f in info.get("fields", [])],
                "dtypes": [str(d) for d in info.get("dtypes", [])],
                "bounds": info.get("total_bounds"),
                "driver": info.get("driver"),
            }
        )
    return {"format": "vector", "file": path.name, "layers": layers}
