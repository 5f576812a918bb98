"""Checking a downloaded object before it replaces anything: well-formed, the object asked for."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from etl.bro_fetch.transport import FetchError
from etl.readers.bro_xml import local, secure_iterparse


class ObjectUnusable(FetchError):
    """BRO answered for one object, but not with it (refused, not XML, another object): skip that one."""


def check_download(path: Path, bro_id: str) -> str:
    """``registered`` for a dispatch of ``bro_id``, ``deregistered`` for its BRO_DO; else ObjectUnusable."""
    ids: set[str] = set()
    response_type = reason = None
    deregistered = False
    try:
        for _event, elem in secure_iterparse(path):
            name = local(elem.tag)
            if name == "broId" and elem.text:
                ids.add(elem.text.strip())
            elif name == "responseType":
                response_type = (elem.text or "").strip().lower()
            elif name == "rejectionReason":
                reason = (elem.text or "").strip()
            elif name == "BRO_DO":
                deregistered = True
            elem.clear(keep_tail=False)  # everything needed is read at the end event
    except etree.XMLSyntaxError as exc:
        raise ObjectUnusable(f"{bro_id}: download is not well-formed XML ({exc})") from None
    if response_type == "rejection" or reason:
        raise ObjectUnusable(f"{bro_id}: BRO refused: {reason or '(no reason given)'}")
    if bro_id not in ids:
        raise ObjectUnusable(f"{bro_id}: the downloaded document is about {sorted(ids) or 'no object'}")
    return "deregistered" if deregistered else "registered"
