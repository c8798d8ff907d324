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
    from rich.console import Group

    from pipeline.store.stories import Member, Story


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

    Input: one {"id", "title", "text", "published"?, "source"?, "source_type"?,
    "language"?} object per line, in arrival order (without "published", arrival
    order says which text came out later). Output, in the same order: "cluster" is the
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
        "published": _when(story.origin.published_at),
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
            for m in by_publication(story)
        ],
    }


def by_publication(story: Story) -> list[Member]:
    """The origin, then the other members by publication time (fetch time when undated)."""
    origin, *rest = story.members
    return [origin, *sorted(rest, key=lambda m: (m.published_at or m.first_seen_at, m.document_id))]


def _moment(value: datetime | None, *, day_of: datetime | None = None) -> str:
    """A local time for a narrow column: "10 Mar 12:00" (the year when not this year), only
    "19:06" on ``day_of``'s day."""
    if value is None:
        return "undated"
    tz = get_settings().tz
    local = value.astimezone(tz)
    if day_of is not None and local.date() == day_of.astimezone(tz).date():
        return local.strftime("%H:%M")
    if local.year != datetime.now(tz).year:
        return local.strftime("%d %b %Y %H:%M")
    return local.strftime("%d %b %H:%M")


def _story_view(found: list[Story]) -> Group:
    """Each story: its id and origin's title across the width, then one line per outlet (the
    origin first) with when it published and when we fetched it."""
    from rich.console import Group
    from rich.markup import escape
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = [
        Text(
            f"{len(found)} stories, newest first; the first outlet of each is its origin; "
            f"times in {get_settings().timezone}",
            style="dim",
        )
    ]
    for story in found:
        parts.append(Text(""))
        parts.append(f"[bold]story {story.cluster_id}[/] {escape(story.origin.title)}")
        outlets = Table(box=None, show_header=False, padding=(0, 2, 0, 0), pad_edge=False)
        outlets.add_column("outlet", max_width=24, overflow="fold")
        outlets.add_column("published", no_wrap=True)
        outlets.add_column("fetched", no_wrap=True)
        for m in by_publication(story):
            outlets.add_row(
                escape(f"{m.source or '(no source)'} {m.base_language or '?'}"),
                f"published {_moment(m.published_at)}",
                f"fetched {_moment(m.first_seen_at, day_of=m.published_at)}",
            )
        parts.append(Padding(outlets, (0, 0, 0, 2), expand=False))
    return Group(*parts)


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
    if not found:
        filters = [f"{k} {v}" for k, v in (("--since", since), ("--topic", topic)) if v]
        if min_size > 1:
            filters.append(f"--min-size {min_size}")
        where = f" with {', '.join(filters)}" if filters else ""
        out.print(
            f"No stories{where}. Stories appear once pages are fetched and processed "
            "(newsmon demo, newsmon run-day, or the news_monitor DAG)."
        )
        return
    out.print(_story_view(found))
