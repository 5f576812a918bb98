"""`grondslag`: one command, sub-commands grouped by audience (db, etl, quality, serve)."""

from __future__ import annotations

from typing import Annotated

import typer

from grondslag import cli_db, cli_etl, cli_quality

app = typer.Typer(
    help="Grondslag: harmonised soil information for the province of Utrecht.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(cli_db.app, name="db")
app.add_typer(cli_etl.app, name="etl")
app.add_typer(cli_quality.app, name="quality")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the REST and OGC API (http://HOST:PORT, OGC API under /ogc, docs at /docs)."""
    import uvicorn

    uvicorn.run("api.main:app", host=host, port=port, workers=workers, log_level="info", access_log=False)


if __name__ == "__main__":
    app()
