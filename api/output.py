"""Responses for feature pages: GeoJSON FeatureCollection or CSV, with paging links.

The features (or CSV lines) arrive from PostGIS as bytes; only the small envelope (counts and
links) is written here, around them.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from fastapi.responses import Response

from api.context import Ctx, link
from api.params import CrsDef, Paging
from api.problems import invalid
from api.queries.features import Page, Query, csv_columns, feature_sql, fetch_page

GEOJSON = "application/geo+json"
CSV = "text/csv; charset=utf-8"


def paging_links(ctx: Ctx, page: Page, paging: Paging, limit: int, media: str) -> list[dict[str, str]]:
    """next/prev links: keyset (``after``/``before``) so every page costs the same."""
    out = []
    descending = paging.before is not None
    if page.returned and (page.more if not descending else True):
        href = ctx.self_url(after=page.last_id, before=None, offset=None, limit=limit)
        out.append(link(href, "next", media, "Next page"))
    if page.returned and ((paging.after is not None) or (descending and page.more)):
        href = ctx.self_url(before=page.first_id, after=None, offset=None, limit=limit)
        out.append(link(href, "prev", media, "Previous page"))
    elif paging.offset and not (paging.after or paging.before):
        href = ctx.self_url(offset=max(0, paging.offset - limit), limit=limit)
        out.append(link(href, "prev", media, "Previous page"))
    return out


async def run_page(ctx: Ctx, q: Query, row_sql: str, paging: Paging, limit: int, sep: str) -> Page:
    """One page: from the read-ahead cache when a bulk reader asked for it next, else one statement.

    Large pages (``limit`` ≥ ``settings.readahead_min_limit``) are what GDAL/QGIS use to download a
    whole layer, page after page; while the client parses one page, the next one (its ``next`` link)
    is already being built, so the client never waits for the database between pages.
    """
    key, descending = paging.keyset(q.layer.c.id_kind)
    state = ctx.state
    page_key = (state.version, state.generation, q.cache_key, row_sql, limit, paging.offset, key, descending)
    ahead = state.pages.get(page_key)
    page = None
    if ahead is not None:
        try:
            page = await asyncio.shield(ahead)
        except Exception:  # noqa: BLE001 - a failed read-ahead is simply done again below
            state.pages.pop(page_key, None)
    bulk = limit >= ctx.settings.readahead_min_limit
    if page is None:
        page = await _fetch(ctx, q, row_sql, limit, paging.offset, key, descending, sep)
    else:
        state.pages.pop(page_key, None)  # served once: a page read ahead is not a response cache
    if bulk and page.more and not descending:
        next_key = (state.version, state.generation, q.cache_key, row_sql, limit, 0, page.last_id, False)
        if next_key not in state.pages:
            task = asyncio.ensure_future(_fetch(ctx, q, row_sql, limit, 0, page.last_id, False, sep))
            task.add_done_callback(_consume)
            state.remember_page(next_key, task)
    return page


def _consume(task: asyncio.Future) -> None:
    """Retrieve a read-ahead's outcome so an unused failure is not reported as 'never retrieved'."""
    if not task.cancelled():
        task.exception()


async def _fetch(
    ctx: Ctx, q: Query, row_sql: str, limit: int, offset: int, key: str | None, descending: bool, sep: str
) -> Page:
    """Run the page statement; fills the per-version count cache."""
    cached = ctx.state.counts.get(q.cache_key)
    try:
        async with ctx.pool.acquire() as conn:
            page = await fetch_page(
                conn, q, row_sql, limit=limit, offset=offset, key=key, descending=descending,
                cached_count=cached, separator=sep,
            )  # fmt: skip
    except (asyncpg.PostgresError, ValueError) as exc:
        if isinstance(exc, asyncpg.QueryCanceledError) or not q.filtered:
            raise
        detail = str(exc).splitlines()[0][:200]
        raise invalid("filter", f"the database rejected the filter: {detail}") from None
    if cached is None and page.matched is not None:
        ctx.state.remember_count(q.cache_key, page.matched)
    return page


async def features_response(
    ctx: Ctx,
    q: Query,
    *,
    fmt: str,
    crs: CrsDef,
    paging: Paging,
    links: Sequence[dict[str, str]] = (),
) -> Response:
    """A page of ``q`` as GeoJSON (default) or CSV."""
    limit = paging.size(ctx.settings)
    headers = {"Content-Crs": f"<{crs.uri}>"}
    if fmt == "csv":
        names, line = csv_columns(q.layer, crs)
        page = await run_page(ctx, q, line, paging, limit, "\n")
        nav = paging_links(ctx, page, paging, limit, CSV)
        if nav:
            headers["Link"] = ", ".join(f'<{n["href"]}>; rel="{n["rel"]}"' for n in nav)
        if page.matched is not None:
            headers["OGC-NumberMatched"] = str(page.matched)
        body = (",".join(names) + "\n").encode() + page.body + (b"\n" if page.body else b"")
        return Response(body, media_type=CSV, headers=headers)
    page = await run_page(ctx, q, feature_sql(q.layer, crs), paging, limit, ",")
    all_links = [link(ctx.self_url(), "self", GEOJSON, "This document"), *links]
    all_links += paging_links(ctx, page, paging, limit, GEOJSON)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = b'{"type":"FeatureCollection",'
    if page.matched is not None:
        head += b'"numberMatched":%d,' % page.matched
    head += b'"numberReturned":%d,"timeStamp":"%s","links":' % (page.returned, stamp.encode())
    body = head + orjson.dumps(all_links) + b',"features":[' + page.body + b"]}"
    return Response(body, media_type=GEOJSON, headers=headers)


def feature_response(body: bytes, links: Sequence[dict[str, str]], crs: CrsDef) -> Response:
    """One feature (bytes from PostGIS) with its links appended."""
    body = body[:-1] + b',"links":' + orjson.dumps(list(links)) + b"}"
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": f"<{crs.uri}>"})


def rows_response(
    rows: Sequence[Any], fmt: str, *, wrap: str | None = None, extra: dict | None = None
) -> Response:
    """Plain rows (dicts/records) as JSON (optionally wrapped in ``{wrap: [...]}``) or CSV."""
    items = [dict(r) for r in rows]
    if fmt == "csv":
        buf = io.StringIO()
        names = list(items[0]) if items else []
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(names)
        for item in items:
            writer.writerow([_csv_value(item[n]) for n in names])
        return Response(buf.getvalue().encode(), media_type=CSV)
    doc: Any = {wrap: items, **(extra or {})} if wrap else items
    return Response(orjson.dumps(doc, default=str), media_type="application/json")


def json_response(doc: Any, media_type: str = "application/json", **kw: Any) -> Response:
    return Response(orjson.dumps(doc, default=str), media_type=media_type, **kw)


def _csv_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return orjson.dumps(value, default=str).decode()
    return "" if value is None else value
