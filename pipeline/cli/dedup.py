"""CLI: ``newsmon dedup`` (JSON-lines contract) and ``newsmon stories``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline.cli import app
from pipeline.cli.common import MAX_ROWS, out, parse_day
from pipeline.config.settings import get_settings
from pipeline.errors import InputError

if TYPE_CHECKING:
    from rich.table import Table

    from pipeline.store.stories import Story


@app.command("dedup")
def dedup_command(
    refold: Annotated[
        bool,
        typer.Option(
            "--refold",
            help="Re-fold the stored documents into stories with the current rules "
            "(no stdin); alerts nobody again.",
        ),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            help="With --refold: only documents first seen since this date (and their stories)."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --refold: the summary as JSON.")
    ] = False,
) -> None:
    """Cluster JSON lines from stdin; print {"id", "cluster", "duplicate_of"} per line.

    Input: one {"id", "title", "text", "published"?, "source"?, "source_type"?}
    object per line, in arrival order. Output, in the same order: "cluster" is the
    id of the cluster's first input (never null), "duplicate_of" the id of an
    earlier input this one copies, or null. Runs the stored pipeline's dedup on a
    temporary database. A malformed line stops with its line number and exit code 2.

    With --refold it reads no input: the stored documents (first seen since --since, with
    the other members of their stories) are re-assigned in arrival order with the current
    rules; merges and splits are printed and recorded with the run.
    """
    if refold:
        _refold(since, as_json)
        return
    if since is not None or as_json:
        raise typer.BadParameter("--since and --json go with --refold", param_hint="'--since'")
    from pipeline.dedup import parse_lines, run_batch

    try:
        items = parse_lines(sys.stdin)
    except InputError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    sink = sys.stdout
    for row in run_batch(items):
        sink.write(json.dumps(row, ensure_ascii=False) + "\n")
        sink.flush()


def _refold(since: str | None, as_json: bool) -> None:
    """``newsmon dedup --refold``: re-fold the archive, print what changed."""
    from pipeline.dedup.refold import refold

    report = refold(since=parse_day(since))
    summary = report.as_dict()
    if as_json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False, sort_keys=True) + "\n")
        return
    out.print(
        f"re-folded {report.documents} documents (run {report.run_id}): "
        f"{report.stories_before} stories before, {report.stories_after} after, "
        f"{report.unchanged} unchanged; {len(report.merged)} merged, {len(report.split)} split; "
        f"alert ledger: {report.alerts_kept} rows keep re-folded stories alerted, "
        f"{report.alerts_merged} queued alerts folded into alerted stories"
    )
    for story, parts in list(report.merged.items())[:20]:
        out.print(f"  story {story} now holds stories {', '.join(map(str, parts))}")
    for story, parts in list(report.split.items())[:20]:
        out.print(f"  story {story} split into {', '.join(map(str, parts))}")


def _when(value: datetime | None) -> str | None:
    """ISO 8601 in UTC, or None."""
    return value.astimezone(UTC).isoformat() if value else None


def _story_json(story: Story) -> dict[str, Any]:
    """A story as a JSON-ready dict."""
    return {
        "cluster": story.cluster_id,
        "size": story.size,
        "first_seen": _when(story.first_seen_at),
        "updated": _when(story.updated_at),
        "title": story.origin.title,
        "languages": story.languages,
        "outlets": story.outlets,
        "members": [
            {
                "document_id": m.document_id,
                "origin": m.is_origin,
                "source": m.source,
                "source_type": m.source_type,
                "title": m.title,
                "language": m.language,
                "url": m.url,
                "first_seen": _when(m.first_seen_at),
                "published": _when(m.published_at),
                "duplicate_of": m.duplicate_of,
                "similarity": m.similarity,
            }
            for m in story.members
        ],
    }


def _story_table(found: list[Story]) -> Table:
    """A rich table: one row per story, outlets origin first with first-seen times."""
    from rich.table import Table

    tz = get_settings().tz
    table = Table(title=f"{len(found)} stories", show_lines=True)
    table.add_column("Story", justify="right")
    table.add_column("Origin title", overflow="fold", max_width=50)
    table.add_column("Languages", overflow="fold")
    table.add_column("Outlets (first seen)", overflow="fold")
    table.add_column("Size", justify="right")
    for story in found:
        outlets = []
        for m in story.members:
            name = m.source or "(no source)"
            seen = m.first_seen_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            label = f"{name} {m.base_language or '?'} {seen}"
            outlets.append(f"[bold]{label}[/bold] (origin)" if m.is_origin else label)
        table.add_row(
            str(story.cluster_id),
            story.origin.title,
            " · ".join(story.languages) or "?",
            "\n".join(outlets),
            str(story.size),
        )
    return table


@app.command("stories")
def stories_command(
    since: Annotated[
        str | None, typer.Option(help="Only stories with a member first seen since this date.")
    ] = None,
    topic: Annotated[
        str | None, typer.Option(help="Only stories with a member matched to this topic id.")
    ] = None,
    min_size: Annotated[int, typer.Option(min=1, help="Skip stories with fewer members.")] = 1,
    limit: Annotated[
        int, typer.Option(min=1, max=MAX_ROWS, help="At most this many stories, newest first.")
    ] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per story.")] = False,
) -> None:
    """List stories (copies and versions in other languages): languages, outlets, origin first."""
    from pipeline.store.db import session_scope
    from pipeline.store.stories import stories

    since_at = parse_day(since)
    with session_scope() as session:
        found = stories(session, since=since_at, topic=topic, min_size=min_size, limit=limit)
    if as_json:
        for story in found:
            sys.stdout.write(json.dumps(_story_json(story), ensure_ascii=False) + "\n")
        return
    out.print(_story_table(found))
