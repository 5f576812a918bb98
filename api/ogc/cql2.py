"""CQL2 text → parameterised SQL (pygeofilter parses, this module translates).

Supported: comparisons (=, <>, <, <=, >, >=), AND/OR/NOT, IN, LIKE (and CASEI-free ILIKE), BETWEEN,
IS NULL, and the spatial predicates S_INTERSECTS, S_DISJOINT, S_CONTAINS, S_WITHIN, S_TOUCHES,
S_CROSSES, S_OVERLAPS, S_EQUALS against geometry literals (WKT or BBOX/ENVELOPE) in ``filter-crs``.
Property names must be queryables of the collection (the whitelist); every literal becomes a ``$n``
argument with a cast chosen from its Python type after checking it fits the property's kind.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_text import parse

from api.params import CrsDef
from api.problems import Problem, invalid
from api.queries.catalog import Layer
from api.sql import STORAGE_SRID, Args

GEOMETRY_NAMES = ("geometry", "geom", "the_geom")
COMPARE = {
    ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=", ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}  # fmt: skip
SPATIAL = {
    ast.GeometryIntersects: "ST_Intersects", ast.GeometryDisjoint: "ST_Disjoint",
    ast.GeometryContains: "ST_Contains", ast.GeometryWithin: "ST_Within", ast.GeometryTouches: "ST_Touches",
    ast.GeometryCrosses: "ST_Crosses", ast.GeometryOverlaps: "ST_Overlaps", ast.GeometryEquals: "ST_Equals",
}  # fmt: skip
FITS = {
    "string": (str,), "integer": (int, float), "number": (int, float), "boolean": (bool,),
    "date": (date, str), "datetime": (date, str),
}  # fmt: skip


def _cast(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double precision"
    if isinstance(value, datetime):
        return "timestamptz"
    if isinstance(value, date):
        return "date"
    return "text"


class Translator:
    """Translate one parsed CQL2 expression for ``layer``; values go into ``args``."""

    def __init__(self, layer: Layer, args: Args, crs: CrsDef) -> None:
        self.layer = layer
        self.queryables = layer.queryables
        self.args = args
        self.crs = crs

    def attribute(self, node: ast.Attribute) -> tuple[str, str]:
        """(SQL expression, kind) of a whitelisted property."""
        prop = self.queryables.get(node.name)
        if prop is None:
            names = ", ".join(sorted(self.queryables))
            raise invalid("filter", f"'{node.name}' is not a queryable of this collection (use: {names})")
        return prop.expr, prop.kind

    def operand(self, node: Any, kind: str | None) -> tuple[str, str | None]:
        """SQL of an operand: a property or a literal checked against ``kind``."""
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.Node | values.Geometry | values.Envelope | list):
            raise invalid("filter", "only properties and literal values can be compared")
        if node is None:
            raise invalid("filter", "use IS NULL to test for missing values")
        if kind is not None and kind in FITS and not isinstance(node, FITS[kind]):
            raise invalid("filter", f"the value {node!r} does not fit a {kind} property")
        if kind in ("integer", "number") and isinstance(node, bool):
            raise invalid("filter", f"the value {node!r} does not fit a {kind} property")
        if kind == "date" and isinstance(node, str):
            node = self._date(node)
        return self.args.add(node, _cast(node)), None

    @staticmethod
    def _date(text: str) -> date:
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            raise invalid("filter", f"'{text}' is not a date") from None

    def pair(self, lhs: Any, rhs: Any) -> tuple[str, str]:
        if isinstance(lhs, ast.Attribute):
            left, kind = self.attribute(lhs)
            return left, self.operand(rhs, kind)[0]
        if isinstance(rhs, ast.Attribute):
            right, kind = self.attribute(rhs)
            return self.operand(lhs, kind)[0], right
        raise invalid("filter", "a comparison needs a property on one side")

    def geometry(self, node: Any) -> str:
        """SQL of a geometry literal, transformed to the storage CRS."""
        if isinstance(node, values.Envelope | values.Geometry):
            geo = node.geometry
        elif isinstance(node, ast.Function) and node.name.lower() in ("bbox", "envelope"):
            nums = node.arguments
            if len(nums) not in (4, 6) or not all(isinstance(v, int | float) for v in nums):
                raise invalid("filter", "BBOX needs 4 numbers")
            a, b, c, d = (nums[0], nums[1], nums[3], nums[4]) if len(nums) == 6 else nums
            geo = values.Envelope(a, c, b, d).geometry
        else:
            raise invalid("filter", "spatial predicates need the geometry property and a geometry literal")
        ph = self.args.add(orjson.dumps(geo).decode())
        g = f"ST_SetSRID(ST_GeomFromGeoJSON({ph}), {self.crs.srid})"
        if self.crs.flip:
            g = f"ST_FlipCoordinates({g})"
        return g if self.crs.srid == STORAGE_SRID else f"ST_Transform({g}, {STORAGE_SRID})"

    def spatial(self, node: ast.SpatialComparisonPredicate) -> str:
        func = SPATIAL[type(node)]
        lhs, rhs = node.lhs, node.rhs
        if isinstance(rhs, ast.Attribute) and rhs.name in GEOMETRY_NAMES:
            lhs, rhs = rhs, lhs
        if not (isinstance(lhs, ast.Attribute) and lhs.name in GEOMETRY_NAMES):
            raise invalid("filter", f"spatial predicates apply to the property 'geometry' ({node.op.value})")
        return f"{func}({self.layer.c.geom}, {self.geometry(rhs)})"

    def sql(self, node: Any) -> str:  # noqa: C901 - one dispatch table
        if isinstance(node, ast.And | ast.Or):
            return f"({self.sql(node.lhs)} {node.op.value} {self.sql(node.rhs)})"
        if isinstance(node, ast.Not):
            return f"(NOT {self.sql(node.sub_node)})"
        if type(node) in COMPARE:
            left, right = self.pair(node.lhs, node.rhs)
            return f"{left} {COMPARE[type(node)]} {right}"
        if isinstance(node, ast.Between):
            expr, kind = self.attribute(node.lhs)
            low, high = self.operand(node.low, kind)[0], self.operand(node.high, kind)[0]
            return f"{expr} {'NOT ' if node.not_ else ''}BETWEEN {low} AND {high}"
        if isinstance(node, ast.Like):
            expr, kind = self.attribute(node.lhs)
            if not isinstance(node.pattern, str):
                raise invalid("filter", "LIKE needs a string pattern")
            op = ("NOT " if node.not_ else "") + ("ILIKE" if node.nocase else "LIKE")
            return f"({expr})::text {op} {self.args.add(node.pattern, 'text')}"
        if isinstance(node, ast.In):
            expr, kind = self.attribute(node.lhs)
            if not node.sub_nodes:
                raise invalid("filter", "IN needs at least one value")
            items = ", ".join(self.operand(v, kind)[0] for v in node.sub_nodes)
            return f"{expr} {'NOT ' if node.not_ else ''}IN ({items})"
        if isinstance(node, ast.IsNull):
            expr, _ = self.attribute(node.lhs)
            return f"{expr} IS {'NOT ' if node.not_ else ''}NULL"
        if type(node) in SPATIAL:
            return self.spatial(node)
        if isinstance(node, ast.Include):
            return "false" if node.not_ else "true"
        raise invalid("filter", f"unsupported CQL2 construct: {type(node).__name__}")


def to_sql(text: str, layer: Layer, args: Args, crs: CrsDef) -> str:
    """Parse CQL2 text and translate it; a 422 naming ``filter`` on any error."""
    try:
        tree = parse(text)
    except Exception as exc:  # noqa: BLE001 - lark raises many types; all mean "bad filter"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise invalid("filter", f"not valid CQL2 text: {first[:200]}") from None
    try:
        return Translator(layer, args, crs).sql(tree)
    except Problem:
        raise
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        raise invalid("filter", f"unsupported CQL2 expression ({type(exc).__name__})") from None
