"""``newsmon topics``: match JSON lines, dry-run a topic on the archive, reprocess."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from pipeline.cli import app
from pipeline.cli.common import console, out, parse_day, sub_app
from pipeline.errors import InputError

topics_app = sub_app("Topic matching: try, test and re-run topics.")
app.add_typer(topics_app, name="topics")

TopicsFile = Annotated[
    Path | None,
    typer.Option("--topics", help="Topics file (default: the configured seeds/topics.yaml)."),
]


def _detect(title: str, text: str) -> str | None:
    """Language of a document that did not declare one (scripts first, then py3langid)."""
    from pipeline.clean.lang import detect_language

    return detect_language(f"{title}\n{text}")


def _field(row: dict[str, Any], name: str, where: str) -> str:
    """A string field of an input line (absent or null -> empty)."""
    value = row.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{where}: '{name}' must be a string")
    return value


def match_lines(stream: TextIO, sink: TextIO, topics_path: Path | None = None) -> int:
    """The ``topics match`` contract: one output line per input line, same order."""
    from pipeline.topics import get_matcher

    matcher = get_matcher(topics_path)
    count = 0
    for n, line in enumerate(stream, 1):
        if not line.strip():
            continue
        where = f"stdin line {n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{where}: not JSON ({exc.msg}); expected {{id, title, text}}"
            ) from None
        if not isinstance(row, dict) or "id" not in row:
            raise InputError(f"{where}: expected an object with 'id', 'title', 'text'")
        title, text = _field(row, "title", where), _field(row, "text", where)
        language = row.get("language") or _detect(title, text)
        found = matcher.match(title, text, language=language)
        result = {"id": row["id"], "matches": [m.to_dict() for m in found]}
        sink.write(json.dumps(result, ensure_ascii=False) + "\n")
        sink.flush()
        count += 1
    return count


@topics_app.command("match")
def match(topics: TopicsFile = None) -> None:
    """Read JSON lines {"id","title","text","language"?} on stdin; write {"id","matches"} lines."""
    match_lines(sys.stdin, sys.stdout, topics)


@topics_app.command("test")
def test(
    topic: Annotated[str, typer.Argument(help="Topic id to try, e.g. zangezur-corridor.")],
    topics: TopicsFile = None,
    since: Annotated[
        str | None, typer.Option(help="Documents dated on/after (YYYY-MM-DD).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Documents dated on/before (YYYY-MM-DD).")
    ] = None,
    samples: Annotated[int, typer.Option(help="How many matching documents to show.")] = 5,
) -> None:
    """Dry run: what TOPIC would match in the stored archive (stores nothing, alerts nobody)."""
    from rich.table import Table

    from pipeline.topics import get_matcher
    from pipeline.topics.reprocess import dry_run

    report = dry_run(
        get_matcher(topics),
        topic,
        since=parse_day(since),
        until=parse_day(until, end=True),
        samples=samples,
    )
    out.print(f"[bold]{topic}[/]: {report.matched} of {report.scanned} stored documents match")
    for title, counts in (("by source", report.by_source), ("by language", report.by_language)):
        table = Table(title=title)
        table.add_column(title.split()[-1])
        table.add_column("documents", justify="right")
        for key, n in counts.most_common():
            table.add_row(key, str(n))
        out.print(table)
    for s in report.samples:
        out.print(
            f"\n[bold]#{s.document_id}[/] {s.title} "
            f"[dim]({s.source or 'no source'}, {s.language or '?'}, score {s.match.score})[/]"
        )
        out.print(f"  [dim]{s.url}[/]")
        out.print(f"  terms: {', '.join(s.match.terms)}")
        for p in s.match.passages:
            out.print(f"  [{p.field}] {p.text}", markup=False, highlight=False)


@topics_app.command("reprocess")
def reprocess(
    topic_ids: Annotated[
        list[str] | None, typer.Argument(help="Topic ids to re-run (default: all).")
    ] = None,
    topics: TopicsFile = None,
    since: Annotated[
        str | None, typer.Option(help="Documents dated on/after (YYYY-MM-DD).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Documents dated on/before (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Match stored documents again after topics changed; record matches, send no alerts."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    from pipeline.topics import get_matcher
    from pipeline.topics.reprocess import reprocess as run

    with Progress(
        TextColumn("reprocess"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console.rich,
        transient=True,
    ) as bar:
        task = bar.add_task("reprocess", total=None)
        report = run(
            get_matcher(topics),
            topic_ids or None,
            since=parse_day(since),
            until=parse_day(until, end=True),
            on_batch=lambda n: bar.advance(task, n),
        )
    table = Table(title=f"reprocess run {report.run_id}: {report.documents} documents")
    table.add_column("outcome")
    table.add_column("matches", justify="right")
    for outcome, n in sorted(report.outcomes.items()):
        table.add_row(outcome, str(n))
    out.print(table)
    out.print(f"topics: {', '.join(report.topics)}")
