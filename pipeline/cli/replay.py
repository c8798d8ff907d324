"""``newsmon replay``: serve the offline replica of the monitored sites on loopback."""

from __future__ import annotations

import signal
import threading
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.cli import app
from pipeline.cli.common import console, out, sub_app

if TYPE_CHECKING:
    from rich.table import Table

    from pipeline.devtools.replay import ReplayServer

# pipeline.devtools.replay.DEFAULT_PORT; importing that package here would load Jinja2 and
# pydantic for every command's --help (a test keeps the two equal).
DEFAULT_PORT = 8800

replay_app = sub_app("The offline replica of the monitored sites (tests, demo, benchmarks).")
app.add_typer(replay_app, name="replay")


def _today(value: str | None) -> date | None:
    """Parse --today."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: expected YYYY-MM-DD") from None


def _table(replay: ReplayServer, *, addresses: bool) -> Table:
    """Sites, their addresses and contents."""
    from rich.table import Table

    table = Table(title=f"replica sites (dates relative to {replay.today.isoformat()})")
    table.add_column("site")
    table.add_column("address" if addresses else "loopback")
    table.add_column("languages")
    table.add_column("articles", justify="right")
    table.add_column("pages", justify="right")
    for name in replay.sites:
        d = replay.defs[name]
        where = replay.url_for(name) if addresses else replay.ip_for(name)
        table.add_row(
            name,
            where,
            ",".join(d.manifest.languages),
            str(len(d.articles)),
            str(len(d.manifest.pages)),
        )
    return table


@replay_app.command("serve")
def serve(
    port: Annotated[
        int, typer.Option(help="Port shared by all sites (0: any free port).")
    ] = DEFAULT_PORT,
    sources_out: Annotated[
        Path | None,
        typer.Option(help="Where to write the sources file (default var/replay/sources.yaml)."),
    ] = None,
    host_prefix: Annotated[
        str, typer.Option(help="Loopback prefix; sites get prefix + N.")
    ] = "127.0.0.",
    today: Annotated[
        str | None, typer.Option(help="Anchor day for article dates (YYYY-MM-DD).")
    ] = None,
    sites_dir: Annotated[
        Path | None, typer.Option(help="Site folders (default tests/fixtures/sites).")
    ] = None,
    log_file: Annotated[
        Path | None, typer.Option(help="Append every request as JSON lines.")
    ] = None,
    test_sources: Annotated[
        bool, typer.Option(help="Also add the replica-only fault source.")
    ] = False,
) -> None:
    """Serve every replica site on its own loopback address until Ctrl-C; write a sources file."""
    from pipeline.devtools.replay import start_replay

    with start_replay(
        sites_dir, host_prefix, port, today=_today(today), log_file=log_file
    ) as replay:
        path = replay.write_sources(sources_out, include_test_sources=test_sources)
        out.print(_table(replay, addresses=True))
        console.print(f"sources file: {path}")
        console.print(f"use it with: NEWSMON_SOURCES_FILE={path} NEWSMON_MODE=demo newsmon crawl")
        console.print("serving; press Ctrl-C to stop")
        stop = threading.Event()
        # Explicit handlers: a shell may start us with SIGINT ignored (background job), and
        # SIGTERM (kill, Makefile teardown) should stop as cleanly as Ctrl-C.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()  # the listeners run in background threads
        console.print("stopping")


@replay_app.command("sites")
def sites(
    sites_dir: Annotated[
        Path | None, typer.Option(help="Site folders (default tests/fixtures/sites).")
    ] = None,
) -> None:
    """List the replica sites, their loopback addresses and contents (without serving)."""
    from pipeline.devtools.replay import ReplayServer

    out.print(_table(ReplayServer(sites_dir), addresses=False))
