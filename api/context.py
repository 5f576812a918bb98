"""Per-request context (settings, pool, data state) and link building."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import asyncpg
from fastapi import Request

from api.problems import not_found
from api.queries.catalog import DataState, Layer
from api.settings import ApiSettings


@dataclass
class Ctx:
    request: Request
    settings: ApiSettings
    pool: asyncpg.Pool
    state: DataState

    @property
    def base(self) -> str:
        """Base URL for links (``public_url`` behind a proxy)."""
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/")
        return str(self.request.base_url).rstrip("/")

    def url(self, path: str, params: dict[str, str | int] | None = None) -> str:
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        return self.base + path + ("?" + query if query else "")

    def self_url(self, **replace: str | int | None) -> str:
        """The request's own URL with some query parameters replaced (None removes)."""
        params = [(k, v) for k, v in self.request.query_params.multi_items() if k not in replace]
        params += [(k, str(v)) for k, v in replace.items() if v is not None]
        query = urlencode(params)
        return self.base + self.request.url.path + ("?" + query if query else "")

    def layer(self, collection_id: str, *, ogc: bool = True) -> Layer:
        layer = self.state.layers.get(collection_id)
        if layer is None or (ogc and not layer.c.ogc):
            raise not_found(f"Collection '{collection_id}' does not exist; see /ogc/collections")
        return layer


async def context(request: Request) -> Ctx:
    """FastAPI dependency: the context, with the data-version check done (at most once a second)."""
    app = request.app
    await app.state.data.ensure(app.state.pool)
    return Ctx(request, app.state.settings, app.state.pool, app.state.data)


def link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out
