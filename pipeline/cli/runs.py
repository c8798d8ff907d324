"""``newsmon runs``: recent runs with their status and counts per outcome."""

from __future__ import annotations

import json
import re
import sys
from typing import Annotated

import typer

from pipeline.cli import app
from pipeline.cli.common import MAX_ROWS, out


def _check_kind(value: str | None) -> str | None:
    """A run kind is a short lower-case word (crawl, ingest, process, alerts...)."""
    if value is not None and not re.fullmatch(r"[a-z][a-z0-9_-]{0,29}", value):
        raise typer.BadParameter(f"{value!r}: expected a run kind such as crawl or process")
    return value


@app.command("runs")
def runs_command(
    limit: Annotated[
        int, typer.Option(min=1, max=MAX_ROWS, help="At most this many runs, newest first.")
    ] = 20,
    kind: Annotated[
        str | None,
        typer.Option(callback=_check_kind, help="Only runs of this kind (crawl, process...)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per run.")] = False,
) -> None:
    """List recent runs: kind, status (running, ok, partial, failed, died...), times, counts."""
    from pipeline.store.db import session_scope
    from pipeline.store.runs import recent_runs, run_kinds

    with session_scope() as session:
        found = recent_runs(session, limit=limit, kind=kind)
        kinds = run_kinds(session) if kind is not None and not found else []
    if as_json:
        for run in found:
            sys.stdout.write(json.dumps(run.as_dict(), ensure_ascii=False) + "\n")
        return
    if not found:
        seen = f" (kinds recorded: {', '.join(kinds) or 'none'})" if kind is not None else ""
        out.print(f"no runs{f' of kind {kind!r}' if kind else ''}{seen}", highlight=False)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{len(found)} most recent runs")
    for col in ("id", "kind", "status", "started (UTC)", "finished (UTC)", "counts"):
        table.add_column(col)
    for run in found:
        counts = ", ".join(f"{outcome} {n}" for outcome, n in run.counts.items())
        status = run.status
        if run.error:
            status += f"\n[dim]{escape(run.error[:120])}[/dim]"
        table.add_row(
            str(run.id),
            run.kind,
            status,
            f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            f"{run.finished_at:%Y-%m-%d %H:%M:%S}" if run.finished_at else "",
            counts,
        )
    out.print(table)
