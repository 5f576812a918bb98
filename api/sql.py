"""Thin SQL layer: one identifier-quoting helper, ``$n`` parameters only, per-clause builders.

Values never enter SQL text: every value goes through :meth:`Args.add`, which returns the ``$n``
placeholder. Identifiers come only from the collection registry (a whitelist) and are quoted by
:func:`ident`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: SRID of every stored geometry (RD New).
STORAGE_SRID = 28992


def ident(name: str) -> str:
    """Quote an identifier (whitelisted names only; anything unusual is refused)."""
    if not _IDENT.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return '"' + name + '"'


def plain_identifier(name: str) -> bool:
    return bool(_IDENT.match(name))


def json_member(name: str) -> str:
    """``"name":`` for a whitelisted identifier (used inside an SQL string literal)."""
    if not _IDENT.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return '"' + name + '":'


def literal_key(name: str) -> str:
    """A JSON key / SQL string literal for a whitelisted identifier (safe by construction)."""
    if not _IDENT.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return "'" + name + "'"


@dataclass
class Args:
    """Positional query arguments; :meth:`add` returns the placeholder, typed when ``cast`` is given."""

    values: list[Any] = field(default_factory=list)

    def add(self, value: Any, cast: str | None = None) -> str:
        self.values.append(value)
        ph = f"${len(self.values)}"
        return f"{ph}::{cast}" if cast else ph


@dataclass
class Where:
    """AND-ed conditions."""

    parts: list[str] = field(default_factory=list)

    def add(self, condition: str | None) -> None:
        if condition:
            self.parts.append(condition)

    @property
    def empty(self) -> bool:
        return not self.parts

    def sql(self) -> str:
        return " WHERE " + " AND ".join(f"({p})" for p in self.parts) if self.parts else ""

    def copy(self) -> Where:
        return Where(list(self.parts))


def bbox_condition(geom: str, bbox: tuple[float, float, float, float], srid: int, args: Args) -> str:
    """``geom`` intersects the box (minx, miny, maxx, maxy) given in ``srid`` (x = lon for 4326)."""
    a, b, c, d = (args.add(float(v)) for v in bbox)
    env = f"ST_MakeEnvelope({a}, {b}, {c}, {d}, {int(srid)})"
    if srid != STORAGE_SRID:
        env = f"ST_Transform(ST_Segmentize({env}, 0.01), {STORAGE_SRID})"
    return f"ST_Intersects({geom}, {env})"


def geometry_out(geom: str, srid: int, flip: bool) -> str:
    """SQL for ``geom`` transformed to ``srid`` (axis-flipped when the CRS is latitude-first)."""
    if srid == STORAGE_SRID:
        return geom
    out = f"ST_Transform({geom}, {int(srid)})"
    return f"ST_FlipCoordinates({out})" if flip else out


def csv_field(expr: str, kind: str) -> str:
    """SQL text of one CSV field for ``expr`` (strings quoted, quotes doubled, NULL empty)."""
    if kind in ("integer", "number", "boolean"):
        return f"coalesce(({expr})::text, '')"
    return f"""coalesce('"' || replace(({expr})::text, '"', '""') || '"', '')"""
