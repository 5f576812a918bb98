"""Find the BRO objects of an area, and download what is new or changed since the last good run.

Per object type: characteristics searches over the area (split into quarters while BRO refuses or
truncates for its 2000-document cap), then a plan against the fetch state (new, changed stamp,
deregistered), then one download per object by broId. Searches are incremental (registration period
from the last successful run of that type and area, minus ``overlap_days``) except on the first run,
with ``full``, and every ``full_scan_days``: a full search lists corrections and deregistrations of
objects registered long ago too, and the stamps say which of them changed.

A run that stops half-way (killed, network gone) keeps its finished search cells and downloads in the
fetch state; the next run over the same area and types picks up there and downloads nothing twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from etl.bro_fetch.area import Area, BBox
from etl.bro_fetch.characteristics import Characteristic, parse_answer, search_body
from etl.bro_fetch.download import ObjectUnusable, check_download
from etl.bro_fetch.endpoints import object_type, object_url, search_url
from etl.bro_fetch.result import FetchResult
from etl.bro_fetch.settings import BroFetchSettings
from etl.bro_fetch.state import FetchState
from etl.bro_fetch.transport import BroTransport, FetchError

PointFilter = Callable[[dict[str, tuple[float, float]]], set[str]]


def local_today() -> date:
    """Today in the Netherlands (BRO's registration dates are Dutch local dates)."""
    try:
        return datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    except ZoneInfoNotFoundError:
        return datetime.now(UTC).date()


class BroFetcher:
    """Fetches the objects of an area into ``state.root``; see the module docstring."""

    def __init__(
        self,
        settings: BroFetchSettings,
        state: FetchState,
        *,
        transport: BroTransport | None = None,
        on_event: Callable[..., None] | None = None,
        today: Callable[[], date] = local_today,
    ) -> None:
        self.settings = settings
        self.state = state
        self.on_event = on_event or (lambda name, **fields: None)
        self._owns_transport = transport is None
        self.transport = transport or BroTransport(settings, on_event=self.on_event)
        self.today = today

    # --- the run ----------------------------------------------------------------------------------

    def fetch(
        self,
        area: Area,
        types: list[str],
        *,
        since: date | None = None,
        full: bool = False,
        dry_run: bool = False,
        point_filter: PointFilter | None = None,
    ) -> FetchResult:
        """Search, plan and (unless ``dry_run``) download; raises FetchError when BRO stays unreachable."""
        started_clock = time.perf_counter()
        run = self._start_run(area, types, since=since, full=full, dry_run=dry_run)
        result = FetchResult(area.label, list(types), dry_run, run["started"], searches=dict(run["periods"]))
        self.on_event(
            "bro_fetch_started", area=area.label, types=types, searches=run["periods"], dry_run=dry_run
        )
        try:
            for t in types:
                self._search_type(t, area.bbox, run, result)
            found = {i: Characteristic.from_dict(d) for i, d in run["found"].items()}
            result.found = len(found)
            if point_filter is not None:
                located = {
                    i: (c.lat, c.lon) for i, c in found.items() if c.lat is not None and c.lon is not None
                }
                inside = point_filter(located)
                dropped = set(located) - inside
                result.outside = len(dropped)
                found = {i: c for i, c in found.items() if i not in dropped}
            pending = self._plan(found, run, result)
            if not dry_run:
                self.state.save()  # the plan (pending ids) and the search results, in one file
                for stray in (self.state.root / "objects").rglob("*.part"):  # downloads cut off by a kill
                    stray.unlink()
                self._download_all(pending, found, run, result)
                self._finish(area, types, run, result)
        finally:
            stats = self.transport.stats
            result.requests, result.retries, result.throttled = stats.requests, stats.retries, stats.throttled
            result.seconds = time.perf_counter() - started_clock
            if self._owns_transport:
                self.transport.close()
        self.on_event("bro_fetch_finished", **result.counts())
        return result

    def _area_key(self, t: str, area: Area) -> str:
        return f"{t}|{area.key}"

    def _period(self, t: str, area: Area, since: date | None, full: bool) -> tuple[date, date] | None:
        today = self.today()
        if since is not None:
            return since, today
        info = self.state.areas.get(self._area_key(t, area), {})
        last, last_full = info.get("last_success"), info.get("last_full")
        if full or not last or not last_full:
            return None
        if (today - date.fromisoformat(last_full[:10])).days >= self.settings.full_scan_days:
            return None
        begin = date.fromisoformat(last[:10]) - timedelta(days=self.settings.overlap_days)
        return min(begin, today), today

    def _start_run(
        self, area: Area, types: list[str], *, since: date | None, full: bool, dry_run: bool
    ) -> dict:
        key = f"{area.key}|{','.join(types)}|{since or ''}|{'full' if full else ''}"
        run = self.state.run
        if run is not None and run.get("key") == key:
            self.on_event(
                "bro_fetch_resumed", started=run["started"], cells=sum(map(len, run["cells"].values()))
            )
            return run
        periods = {}
        for t in types:
            period = self._period(t, area, since, full)
            periods[t] = "full" if period is None else f"{period[0].isoformat()}..{period[1].isoformat()}"
        now = datetime.now(UTC).isoformat(timespec="seconds")
        run = {
            "id": now,
            "key": key,
            "started": now,
            "periods": periods,
            "cells": {},
            "found": {},
            "pending": [],
        }
        self.state.run = run
        if not dry_run:
            self.state.save()
        return run

    # --- searching --------------------------------------------------------------------------------

    def _search_type(self, t: str, bbox: BBox, run: dict, result: FetchResult) -> None:
        otype = object_type(t)
        url = search_url(self.settings.base_url, otype)
        url += "?" + urlencode({"requestReference": self.settings.request_reference})
        spec = run["periods"][t]
        period = None
        if spec != "full":
            begin, end = spec.split("..")
            period = date.fromisoformat(begin), date.fromisoformat(end)
        marks = run["cells"].get(t, {})
        stack = [bbox]
        while stack:
            cell = stack.pop()
            mark = marks.get(cell.key)
            if mark == "split":
                stack.extend(reversed(cell.quadrants()))
                continue
            if mark == "done":
                continue
            response = self.transport.post_json(url, search_body(cell, period))
            answer = parse_answer(response, otype.code, self.settings.result_cap, url)
            result.cells += 1
            self.on_event("bro_search", type=t, cell=cell.key, found=len(answer.items), capped=answer.capped)
            if answer.capped:
                if min(cell.width, cell.height) / 2 < self.settings.min_cell_degrees:
                    raise FetchError(
                        f"{t}: BRO still refuses a cell of {cell.width:.5f} x {cell.height:.5f} degrees "
                        f"({answer.reason}); not splitting below GRONDSLAG_BRO_MIN_CELL_DEGREES"
                    )
                result.splits += 1
                self.on_event("bro_split", type=t, cell=cell.key, reason=answer.reason)
                self.state.record_cell(t, cell.key, "split", {})
                stack.extend(reversed(cell.quadrants()))
            else:
                self.state.record_cell(t, cell.key, "done", {c.bro_id: c.as_dict() for c in answer.items})

    # --- planning and downloading -----------------------------------------------------------------

    def _plan(self, found: dict[str, Characteristic], run: dict, result: FetchResult) -> list[str]:
        pending = []
        for bro_id, c in sorted(found.items()):
            known = self.state.objects.get(bro_id)
            if c.deregistered:
                if not known or known.get("status") != "deregistered":
                    result.deregistered.append(bro_id)
                continue
            if self.state.is_current(bro_id, c.stamp):
                if known and known.get("run") == run["id"]:
                    result.resumed += 1
                continue
            pending.append(bro_id)
            (result.new if not known else result.changed).append(bro_id)
            if c.correction_time and (not known or known.get("stamp") != c.stamp):
                result.corrected.append(bro_id)
        run["pending"] = pending
        return pending

    def _download_all(
        self, pending: list[str], found: dict[str, Characteristic], run: dict, result: FetchResult
    ) -> None:
        for bro_id in result.deregistered:
            c = found[bro_id]
            self.state.record(bro_id, type=c.object_type, stamp=c.stamp, status="deregistered", loaded=False)
            self.on_event("bro_deregistered", bro_id=bro_id)
        for n, bro_id in enumerate(pending, start=1):
            c = found[bro_id]
            try:
                path = self._download(c, run)  # FetchError (BRO unreachable) ends the run: resume later
            except ObjectUnusable as exc:
                result.failed[bro_id] = str(exc)
                self.on_event("bro_download_failed", bro_id=bro_id, error=str(exc))
                continue
            if path is None:
                result.deregistered.append(bro_id)
                continue
            result.downloaded.append(path)
            self.on_event("bro_downloaded", bro_id=bro_id, file=str(path), n=n, total=len(pending))

    def _download(self, c: Characteristic, run: dict) -> Path | None:
        otype = object_type(c.object_type)
        url = object_url(self.settings.base_url, otype, c.bro_id)
        rel = Path("objects") / otype.code / f"{c.bro_id}.xml"
        target = self.state.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        response = self.transport.download(url, part)
        if response.status != 200:
            part.unlink(missing_ok=True)
            detail = response.text[:300].strip()
            raise ObjectUnusable(f"{c.bro_id}: GET {url} answered HTTP {response.status}: {detail}")
        try:
            kind = check_download(part, c.bro_id)
        except ObjectUnusable:
            part.unlink(missing_ok=True)
            raise
        if kind == "deregistered":  # taken out of registration between search and download
            part.unlink(missing_ok=True)
            self.state.record(
                c.bro_id, type=c.object_type, stamp=c.stamp, status="deregistered", loaded=False
            )
            return None
        os.replace(part, target)
        self.state.record(
            c.bro_id,
            type=c.object_type,
            stamp=c.stamp,
            status=c.status,
            file=str(rel),
            sha256=response.sha256,
            size=response.size,
            loaded=False,
            run=run["id"],
        )
        return target

    def _finish(self, area: Area, types: list[str], run: dict, result: FetchResult) -> None:
        if result.complete:
            for t in types:
                key = self._area_key(t, area)
                info = dict(self.state.areas.get(key, {}))
                info["last_success"] = run["started"]
                if run["periods"][t] == "full":
                    info["last_full"] = run["started"]
                self.state.areas[key] = info
        self.state.run = None  # failed objects are not current: the next run plans them again
        self.state.save()
