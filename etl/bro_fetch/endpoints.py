"""BRO's public REST services per object type: the paths the fetcher calls.

Each type has ``POST {base}{path}/characteristics/searches`` (find objects by area and registration
period; XML ``dispatchCharacteristicsResponse``) and ``GET {base}{path}/objects/{broId}`` (the object as
an IMBRO XML ``dispatchDataResponse``). Paths as used by ArtesiaWater/brodata (``_rest_url`` of its
classes) and Deltares-research/geost (``geost/bro/api.py``); see README "BRO fetcher".
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ObjectType:
    code: str  # Grondslag's name, as bro_object.object_type
    path: str  # service path under the base URL
    characteristics: str  # element name of one result in the characteristics response
    prefix: str  # first three letters of its broIds


OBJECT_TYPES: dict[str, ObjectType] = {
    "CPT": ObjectType("CPT", "/sr/cpt/v1", "CPT_C", "CPT"),
    "BHR-GT": ObjectType("BHR-GT", "/sr/bhrgt/v2", "BHR_GT_C", "BHR"),
    "BHR-P": ObjectType("BHR-P", "/sr/bhrp/v2", "BHR_C", "BHR"),
    "BHR-G": ObjectType("BHR-G", "/sr/bhrg/v3", "BHR_C", "BHR"),
    "GMW": ObjectType("GMW", "/gm/gmw/v1", "GMW_C", "GMW"),
    "SFR": ObjectType("SFR", "/sr/sfr/v2", "SFR_C", "SFR"),
}
DEFAULT_TYPES = ("CPT", "BHR-GT", "BHR-P", "GMW")
BRO_ID = re.compile(r"^[A-Z]{3}[0-9]{12}$")


def object_type(code: str) -> ObjectType:
    """The type called ``code`` (case-insensitive); ValueError naming the known ones otherwise."""
    try:
        return OBJECT_TYPES[code.upper()]
    except KeyError:
        raise ValueError(f"unknown BRO object type {code!r}; known: {', '.join(OBJECT_TYPES)}") from None


def search_url(base_url: str, t: ObjectType) -> str:
    return f"{base_url.rstrip('/')}{t.path}/characteristics/searches"


def object_url(base_url: str, t: ObjectType, bro_id: str) -> str:
    if not BRO_ID.match(bro_id):  # ids come from the remote side: never put anything else in a URL or path
        raise ValueError(f"not a BRO id: {bro_id!r}")
    return f"{base_url.rstrip('/')}{t.path}/objects/{bro_id}"
