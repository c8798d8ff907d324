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
def dedup_command() -> None:
    """Cluster JSON lines from stdin; print {"id", "cluster", "duplicate_of"} per line.

    Input: one {"id", "title", "text", "published"?, "source"?, "source_type"?}
    object per line, in arrival order. Output, in the same order: "cluster" is the
    id of the cluster's first input (never null), "duplicate_of" the id of an
    earlier input this one copies, or null. Runs the stored pipeline's dedup on a
    temporary database. A malformed line stops with its line number and exit code 2.
    """
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
        "outlets": story.outlets,
        "members": [
            {
                "document_id": m.document_id,
                "origin": m.is_origin,
                "source": m.source,
                "source_type": m.source_type,
                "title": m.title,
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
    table.add_column("Outlets (first seen)", overflow="fold")
    table.add_column("Size", justify="right")
    for story in found:
        outlets = []
        for m in story.members:
            name = m.source or "(no source)"
            seen = m.first_seen_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            label = f"{name} {seen}"
            outlets.append(f"[bold]{label}[/bold] (origin)" if m.is_origin else label)
        table.add_row(
            str(story.cluster_id), story.origin.title, "\n".join(outlets), str(story.size)
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
    """List stories (clusters of republished copies) with their outlets, origin first."""
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
