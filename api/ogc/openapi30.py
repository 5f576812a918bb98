"""The OGC part of the service description as OpenAPI 3.0 (conformance class oas30).

FastAPI writes OpenAPI 3.1; clients such as GDAL and QGIS read 3.0. This converts the few 3.1-only
constructs FastAPI emits (``anyOf`` with ``null``, ``const``, ``examples``, numeric exclusive bounds)
and keeps only the ``/ogc`` paths (plus the components they use).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and any(o == {"type": "null"} for o in options):
            rest = [o for o in options if o != {"type": "null"}]
            out.pop(key)
            if len(rest) == 1:
                out.update(rest[0])
            else:
                out[key] = rest
            out["nullable"] = True
    if out.get("type") == "null":
        out.pop("type")
        out["nullable"] = True
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if "examples" in out and isinstance(out["examples"], list) and "in" not in out:
        examples = out.pop("examples")
        if examples:
            out.setdefault("example", examples[0])
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out.get(bound), bool):
            out[plain] = out.pop(bound)
            out[bound] = True
    return out


def ogc_openapi30(full: dict[str, Any], prefix: str = "/ogc") -> dict[str, Any]:
    """OpenAPI 3.0 document for the paths under ``prefix``."""
    doc = deepcopy(full)
    doc["openapi"] = "3.0.3"
    doc["paths"] = {
        p: v for p, v in doc.get("paths", {}).items() if p == prefix or p.startswith(prefix + "/")
    }
    doc["info"] = {**doc.get("info", {}), "title": "Grondslag – OGC API Features and Tiles"}
    return _convert(doc)
