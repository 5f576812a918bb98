"""The parameter catalogue: find a parameter by code, name, alias, CAS number, Aquo code or SIKB id.

Matching ignores case, accents, whitespace and punctuation, so ``Lood (Pb)``, ``lood-pb`` and
``LOOD (PB)`` are the same key. A name with a trailing parenthesised part that is not itself known
(``Organische stof (humus)``) is also tried without it. There is no prefix or fuzzy matching:
``Pb/Zn ratio`` is not lead.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from etl.errors import ConfigError

DEFAULT_CATALOGUE = Path(__file__).resolve().parents[2] / "db" / "reference" / "parameters.yaml"

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_TRAILING_PARENS = re.compile(r"^(?P<head>.*?)\s*\((?P<inner>[^()]*)\)\s*$")
_SIKB_URN = re.compile(r"^urn:immetingen:parameter:id:(\d+)$", re.IGNORECASE)


def normalise_key(text: str) -> str:
    """Lower-case ``text`` and drop accents, whitespace and punctuation (``µ`` counts as ``u``)."""
    text = text.replace("µ", "u").replace("μ", "u")
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub("", ascii_only)


@dataclass(frozen=True, slots=True)
class Parameter:
    """One catalogue entry."""

    code: str
    name_nl: str
    canonical_unit: str
    group: str = "overig"
    name_en: str | None = None
    cas: str | None = None
    aquo_code: str | None = None
    sikb_id: int | None = None
    sum_of: tuple[str, ...] = ()
    aliases: tuple[str, ...] = field(default=())


class Catalogue:
    """Parameter lookup table built from ``parameters.yaml``."""

    def __init__(self, parameters: list[Parameter]) -> None:
        self.parameters: dict[str, Parameter] = {}
        self._by_key: dict[str, Parameter] = {}
        self._by_sikb: dict[int, Parameter] = {}
        for p in parameters:
            if p.code in self.parameters:
                raise ConfigError(f"parameter catalogue: duplicate code {p.code!r}")
            self.parameters[p.code] = p
        # codes first, then names/aliases: a code always wins over someone else's alias
        for p in parameters:
            self._add_key(p.code, p)
        for p in parameters:
            for text in (p.name_nl, p.name_en, p.cas, p.aquo_code, *p.aliases):
                if text:
                    self._add_key(text, p)
            if p.sikb_id is not None:
                self._by_sikb[p.sikb_id] = p
        self._cache: dict[str, Parameter | None] = {}

    def _add_key(self, text: str, p: Parameter) -> None:
        key = normalise_key(str(text))
        if key:
            self._by_key.setdefault(key, p)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Catalogue:
        """Read a catalogue YAML file (default: ``db/reference/parameters.yaml``)."""
        path = Path(path) if path else DEFAULT_CATALOGUE
        try:
            with open(path, encoding="utf-8") as fh:
                doc = yaml.safe_load(fh)
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read parameter catalogue: {exc}") from exc
        items = doc.get("parameters") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise ConfigError(f"{path}: expected a list under 'parameters'")
        return cls([_parameter_from_dict(item, path, i) for i, item in enumerate(items)])

    def __contains__(self, code: str) -> bool:
        return code in self.parameters

    def __len__(self) -> int:
        return len(self.parameters)

    def get(self, code: str) -> Parameter:
        """The parameter with exactly this project code (KeyError if absent)."""
        return self.parameters[code]

    def by_sikb_id(self, sikb_id: int) -> Parameter | None:
        """The parameter with this SIKB0101 domain-table id, if catalogued."""
        return self._by_sikb.get(sikb_id)

    def lookup(self, text: Any) -> Parameter | None:
        """Find a parameter for a source label (name, alias, code, CAS, Aquo code, SIKB URN); cached."""
        if text is None:
            return None
        raw = str(text).strip()
        try:
            return self._cache[raw]
        except KeyError:
            pass
        found = self._resolve(raw)
        self._cache[raw] = found
        return found

    def _resolve(self, raw: str) -> Parameter | None:
        if not raw:
            return None
        urn = _SIKB_URN.match(raw)
        if urn:
            return self._by_sikb.get(int(urn.group(1)))
        found = self._by_key.get(normalise_key(raw))
        if found is not None:
            return found
        parens = _TRAILING_PARENS.match(raw)
        if parens:
            head, inner = parens.group("head"), parens.group("inner")
            head_hit = self._by_key.get(normalise_key(head)) if head else None
            inner_hit = self._by_key.get(normalise_key(inner)) if inner else None
            # "Lood (Pb)": both halves agree; "Organische stof (humus)": only the head is known
            if head_hit is not None and (inner_hit is None or inner_hit is head_hit):
                return head_hit
        return None


def _parameter_from_dict(item: Any, path: Path, index: int) -> Parameter:
    if not isinstance(item, dict):
        raise ConfigError(f"{path}: parameters[{index}] must be a mapping")
    missing = [k for k in ("code", "name_nl", "canonical_unit") if not item.get(k)]
    if missing:
        raise ConfigError(f"{path}: parameters[{index}] lacks {', '.join(missing)}")
    sikb = item.get("sikb_id")
    return Parameter(
        code=str(item["code"]),
        name_nl=str(item["name_nl"]),
        canonical_unit=str(item["canonical_unit"]),
        group=str(item.get("group") or "overig"),
        name_en=item.get("name_en"),
        cas=item.get("cas") or None,
        aquo_code=item.get("aquo_code") or None,
        sikb_id=int(sikb) if sikb not in (None, "") else None,
        sum_of=tuple(item.get("sum_of") or ()),
        aliases=tuple(str(a) for a in item.get("aliases") or ()),
    )
