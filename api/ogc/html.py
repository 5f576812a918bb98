"""A tiny HTML template for people (landing page, collections); machines get JSON."""

from __future__ import annotations

from html import escape
from string import Template
from typing import Any

from fastapi.responses import HTMLResponse

PAGE = Template(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>$title – Grondslag</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
a{color:#0b5394}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
code{background:#f3f3f3;padding:0 .2rem}</style></head>
<body><h1>$title</h1><p>$description</p>$body
<hr><p><small>Grondslag – soil information for the province of Utrecht.
<a href="$json">This page as JSON</a></small></p></body></html>"""
)


def links_html(links: list[dict[str, Any]]) -> str:
    rows = "".join(
        f'<li><a href="{escape(li["href"])}">{escape(li.get("title") or li["rel"])}</a>'
        f" <small>({escape(li['rel'])}, {escape(li.get('type', ''))})</small></li>"
        for li in links
    )
    return f"<ul>{rows}</ul>"


def table_html(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def page(title: str, description: str, body: str, json_url: str) -> HTMLResponse:
    """Render the page; ``body`` must already be escaped HTML."""
    html = PAGE.substitute(
        title=escape(title), description=escape(description), body=body, json=escape(json_url)
    )
    return HTMLResponse(html)


def a(href: str, text: str) -> str:
    return f'<a href="{escape(href)}">{escape(text)}</a>'
