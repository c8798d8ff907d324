"""``newsmon crawl`` and the crawl-state commands ``newsmon sources state|reset``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from pipeline.cli import app
from pipeline.cli.common import console, out, parse_day
from pipeline.cli.sources import sources_app
from pipeline.errors import InputError


def _when(value: datetime | None) -> str:
    """A timestamp for tables (UTC, minutes)."""
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@app.command("crawl")
def crawl(
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Crawl only this source (repeat).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Window start, YYYY-MM-DD (a backfill). Default: each source's state."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Window end, YYYY-MM-DD (default: now).")
    ] = None,
    recheck: Annotated[bool, typer.Option(help="Re-check recent articles for corrections.")] = True,
    polite: Annotated[
        bool, typer.Option(help="Delays and AutoThrottle (--no-polite: replica benchmarks only).")
    ] = True,
    parallel: Annotated[int, typer.Option(min=1, max=8, help="Sources crawled at once.")] = 1,
) -> None:
    """Fetch what each source published in the window and record it; print outcome counts."""
    from rich.table import Table

    from pipeline.stages.crawl import SourceCrawl, run_crawl

    def done(c: SourceCrawl) -> None:
        mark = "[green]ok[/]" if c.returncode == 0 else f"[red]exit {c.returncode}[/]"
        console.print(f"{', '.join(c.names)}: {mark} in {c.seconds:.1f}s (log {c.log_path})")

    report = run_crawl(
        source or None,
        parse_day(since),
        parse_day(until, end=True),
        polite=polite,
        recheck=recheck,
        parallel=parallel,
        on_done=done,
    )
    outcomes = sorted(report.totals())
    table = Table(title=f"crawl run {report.run_id}")
    table.add_column("source")
    for name in outcomes:
        table.add_column(name, justify="right")
    table.add_column("requests", justify="right")
    for name, counts in sorted(report.counts.items()):
        table.add_row(name, *(str(counts.get(o, 0)) for o in outcomes), str(report.requests(name)))
    totals = report.totals()
    table.add_row("total", *(str(totals[o]) for o in outcomes), str(report.requests()))
    out.print(table)
    if not report.ok:
        raise typer.Exit(1)


@sources_app.command("state")
def state(
    name: Annotated[str | None, typer.Argument(help="Only this source.")] = None,
) -> None:
    """Show crawl state: validators, high-water marks and last successes per discovery URL."""
    from rich.table import Table

    from pipeline.store.crawlstate import list_states
    from pipeline.store.db import session_scope

    with session_scope() as session:
        rows = list_states(session, name)
    if not rows:
        what = f"for {name!r}" if name else "yet"
        console.print(f"no crawl state {what} (never crawled, or reset)")
        return
    table = Table(title="crawl state (UTC)")
    for col in (
        "source",
        "key",
        "method",
        "high water",
        "last success",
        "last try",
        "status",
        "etag/lm",
        "error",
    ):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.source,
            r.key or "(source)",
            r.method,
            _when(r.high_water),
            _when(r.last_success_at),
            _when(r.last_attempt_at),
            "-" if r.last_status is None else str(r.last_status),
            "yes" if (r.etag or r.last_modified) else "-",
            (r.last_error or "")[:60],
        )
    out.print(table)


@sources_app.command("reset")
def reset(
    name: Annotated[str, typer.Argument(help="Source whose crawl state to forget.")],
) -> None:
    """Forget a source's crawl state: the next crawl starts from NEWSMON_FIRST_RUN_DAYS back."""
    from sqlalchemy import select

    from pipeline.config.sources import load_sources
    from pipeline.store.crawlstate import reset_state
    from pipeline.store.db import session_scope
    from pipeline.store.models import Source

    with session_scope() as session:
        row = session.scalar(select(Source).where(Source.name == name))
        if row is None:
            known = {s.name for s in load_sources().sources}
            if name not in known:
                raise InputError(f"unknown source {name!r}; `newsmon sources list` shows the names")
            n = 0  # configured but never crawled: nothing to forget
        else:
            n = reset_state(session, row.id)
    out.print(f"reset {name}: {n} state rows removed")
