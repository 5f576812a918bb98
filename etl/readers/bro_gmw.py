"""BRO GMW (grondwatermonitoringput) IMBRO-XML reader.

:func:`iter_gmws` streams a file (dispatch ``GMW_PO``/``GMW_O``, registration request
``GMW_Construction``, ...) and yields a :class:`~etl.records.BroObject` per well or a
:class:`~etl.errors.RecordError` for one that cannot be used; a file unusable as a whole raises
:class:`~etl.errors.SourceError`.

Well head: ``offset`` is the ground level (``groundLevelPosition``, m w.r.t. the vertical datum, as
the BroObject field means the surface level); the delivered ``offset`` of the local reference point,
the ground level, the well head protector, well code, owner etc. are kept in ``attributes``.
Tubes become :class:`~etl.records.WellTube` with screen top/bottom in m NAP. A registration request
carries no screen positions; they are then derived from the tube top minus the plain tube part
(and minus the screen length) and ``attributes["screen_position_derived"]`` is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from etl.errors import RecordError
from etl.readers.bro_xml import (
    StreamedObject,
    base_object,
    find,
    findall,
    iter_parsed,
    leaf_values,
    number,
    parse_bro_date,
    text,
)
from etl.records import BroObject, WellTube

_TUBE_FIELDS = frozenset({"tubeNumber", "tubeType", "tubeTopPosition"})


def iter_gmws(path: str | Path) -> Iterator[BroObject | RecordError]:
    """Stream the GMW objects of a file: a BroObject per well, a RecordError per bad one."""
    return iter_parsed(path, {"GMW": parse_gmw})


def parse_gmw(so: StreamedObject) -> BroObject:
    """A streamed GMW object element -> BroObject with tubes."""
    obj = base_object(so)
    el = so.elem
    vertical = find(el, "deliveredVerticalPosition")
    loc = so.locator("/deliveredVerticalPosition")
    ground_level = number(vertical, "groundLevelPosition", locator=loc)
    attrs = obj.attributes
    attrs["reference_point_offset"] = obj.offset
    attrs["ground_level_position"] = ground_level
    attrs["ground_level_positioning_method"] = text(vertical, "groundLevelPositioningMethod")
    attrs["well_head_protector"] = text(el, "wellHeadProtector")
    construction = find(el, "wellConstructionDate")
    if construction is None:
        construction = find(el, "wellHistory/wellConstructionDate")
    attrs["well_construction_date"] = parse_bro_date(construction)[0]
    obj.offset = ground_level
    obj.tubes = [_tube(so, tube, n) for n, tube in enumerate(findall(el, "monitoringTube"), start=1)]
    return obj


def _tube(so: StreamedObject, tube: etree._Element, n: int) -> WellTube:
    loc = so.locator(f"/monitoringTube[{n}]", elem=tube)
    tube_top = number(tube, "tubeTopPosition", locator=loc)
    screen_top = number(tube, "screen/screenTopPosition", locator=loc)
    screen_bottom = number(tube, "screen/screenBottomPosition", locator=loc)
    attributes = {k: v for k, v in leaf_values(tube, skip=_TUBE_FIELDS).items() if v is not None}
    if screen_top is None and tube_top is not None:
        plain = number(tube, "plainTubePart/plainTubePartLength", locator=loc)
        length = number(tube, "screen/screenLength", locator=loc)
        if plain is not None:
            screen_top = round(tube_top - plain, 3)
            if screen_bottom is None and length is not None:
                screen_bottom = round(screen_top - length, 3)
            attributes["screen_position_derived"] = True
    number_text = text(tube, "tubeNumber")
    return WellTube(
        tube_number=int(number_text) if number_text and number_text.isdigit() else None,
        screen_top=screen_top,
        screen_bottom=screen_bottom,
        tube_top=tube_top,
        tube_type=text(tube, "tubeType"),
        attributes=attributes,
    )
