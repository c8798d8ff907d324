"""``newsmon serve``: the analyst's view; ``newsmon db reindex``: search text recomputed."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli import app
from pipeline.cli.common import console
from pipeline.cli.core import db_app
from pipeline.config.settings import get_settings


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8090,
) -> None:
    """Serve the analyst's view: today's stories, search, topics, sources and one-click judgements.

    Off loopback (--host 0.0.0.0 or an interface address) NEWSMON_WEB_TOKEN is required; set
    NEWSMON_SECRET_KEY (and NEWSMON_WEB_URL for the links in alerts) to sign one-click links.
    """
    import uvicorn

    from pipeline.store.db import ensure_schema
    from pipeline.web.app import create_app
    from pipeline.web.security import check_exposure

    settings = get_settings()
    check_exposure(host, settings.web_token)
    ensure_schema(settings.database_url)
    console.print(f"newsmon view on http://{host if ':' not in host else f'[{host}]'}:{port}/")
    uvicorn.run(
        create_app(), host=host, port=port, log_level=settings.log_level.lower(),
        proxy_headers=False, server_header=False,
    )  # fmt: skip


@db_app.command("reindex")
def db_reindex(
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Documents per transaction.")] = 500,
) -> None:
    """Recompute every document's search text (after the search normalisation changed)."""
    from pipeline.store.db import session_scope
    from pipeline.store.search import document_count, reindex_batch

    with session_scope() as session:
        total = document_count(session)
    after, read, changed = 0, 0, 0
    while True:
        with session_scope() as session:
            after, n, c = reindex_batch(session, after=after, batch=batch)
        if not n:
            break
        read, changed = read + n, changed + c
    console.print(f"search text: {read} of {total} documents read, {changed} updated")
