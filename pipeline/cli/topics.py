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


def _print_counts(report: Any) -> None:
    """The matches by source and by language, side by side when the terminal allows."""
    from rich.columns import Columns
    from rich.table import Table

    tables = []
    for title, counts in (("by source", report.by_source), ("by language", report.by_language)):
        table = Table(title=title)
        table.add_column(title.split()[-1], no_wrap=True)
        table.add_column("documents", justify="right", no_wrap=True)
        for key, n in counts.most_common():
            table.add_row(key, str(n))
        tables.append(table)
    out.print(Columns(tables))


def no_match_hints(
    matcher: Any, topic: str, scanned: int, *, windowed: bool, topics_file: Path | None = None
) -> list[str]:
    """What to check when a topic matches nothing in the archive."""
    if not scanned:
        where = "in that date range" if windowed else "yet"
        return [
            f"No documents stored {where}: fetch some first (newsmon demo, newsmon run-day) "
            + ("or widen --since/--until." if windowed else "or point NEWSMON_DATABASE_URL at "
               "the database that holds them."),
        ]  # fmt: skip
    hints = []
    definition = matcher.topics[topic]
    filters = [
        f"{name}: {', '.join(values)}"
        for name, values in (
            ("languages", definition.languages),
            ("sources", definition.sources),
            ("source_types", definition.source_types),
        )
        if values
    ]
    if filters:
        hints.append(f"The topic only looks at {'; '.join(filters)}: is that intended?")
    hints.append(
        "Try its terms on a sentence you expect it to catch: "
        'echo \'{"id": 1, "title": "...", "text": "..."}\' | '
        f"newsmon topics match{f' --topics {topics_file}' if topics_file else ''}"
    )
    hints.append("Check a term reaches the archive at all: newsmon search WORD.")
    if windowed:
        hints.append("Widen --since/--until.")
    return hints


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
    samples: Annotated[int, typer.Option(min=0, help="How many matching documents to show.")] = 5,
) -> None:
    """Dry run: what TOPIC would match in the stored archive (stores nothing, alerts nobody)."""
    from pipeline.topics import get_matcher
    from pipeline.topics.reprocess import dry_run

    matcher = get_matcher(topics)
    report = dry_run(
        matcher,
        topic,
        since=parse_day(since),
        until=parse_day(until, end=True),
        samples=samples,
    )
    out.print(f"[bold]{topic}[/]: {report.matched} of {report.scanned} stored documents match")
    if report.matched:
        _print_counts(report)
    else:
        windowed = bool(since or until)
        for hint in no_match_hints(matcher, topic, report.scanned, windowed=windowed,
                                   topics_file=topics):  # fmt: skip
            out.print(f"  {hint}", markup=False, highlight=False, soft_wrap=True)
    for s in report.samples:
        story = f" (story {s.story})" if s.story is not None else ""
        out.print(f"\ndoc {s.document_id}{story} {s.title}", style="bold", markup=False,
                  highlight=False)  # fmt: skip
        out.print(f"  {s.source or 'no source'}, {s.language or '?'}, score {s.match.score}",
                  style="dim", markup=False, highlight=False)  # fmt: skip
        out.print(f"  {s.url}", style="dim", markup=False, highlight=False)
        out.print(f"  terms: {', '.join(s.match.terms)}", markup=False, highlight=False)
        for p in s.match.passages:
            out.print(f"  [{p.field}] {p.text}", markup=False, highlight=False)
    from pipeline.store.db import session_scope
    from pipeline.topics.judgements import flips

    with session_scope() as session:
        flipped = flips(session, get_matcher(topics), topic)
    if flipped:
        out.print(f"\n[bold]{len(flipped)} judged examples this definition gets wrong[/]")
    for f in flipped:
        verdict = "judged relevant, not matched" if f.relevant else "judged not relevant, matched"
        out.print(f"  story {f.story} (doc {f.document_id}): {verdict}: {f.title[:120]}",
                  markup=False, highlight=False)  # fmt: skip
        if f.note:
            out.print(f"    note: {f.note}", markup=False, highlight=False)


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


def _pct(s: Any) -> tuple[str, str]:
    """Precision and recall of a TopicScore as two-decimal strings."""
    return f"{s.precision:.2f}", f"{s.recall:.2f}"


def print_report(report: Any) -> None:
    """The evaluate tables (per topic, per language, pooled) and every wrong call."""
    from rich.table import Table

    for title, scores in (("per topic", report.topics), ("per language", report.languages)):
        table = Table(title=f"{title} ({report.documents} documents)")
        for col in (title.split()[-1], "positives", "tp", "fp", "fn", "precision", "recall"):
            table.add_column(col, justify="left" if col in {"topic", "language"} else "right")
        for key, s in sorted(scores.items()):
            table.add_row(key, str(s.tp + s.fn), str(s.tp), str(s.fp), str(s.fn), *_pct(s))
        out.print(table)
    pooled = report.pooled()
    p, r = _pct(pooled)
    out.print(f"all languages: precision {p}, recall {r} (tp {pooled.tp}, fp {pooled.fp}, "
              f"fn {pooled.fn})")  # fmt: skip
    core = {"en", "ru", "hy", "az"} & set(report.languages)
    if core and core != set(report.languages):
        four = report.pooled(core)
        p, r = _pct(four)
        out.print(f"{', '.join(sorted(core))}: precision {p}, recall {r} (tp {four.tp}, "
                  f"fp {four.fp}, fn {four.fn})")  # fmt: skip
    for e in report.errors:
        out.print(f"\n[bold]{e.kind}[/] {e.topic} · {e.id} ({e.language}): {e.title[:160]}",
                  highlight=False)  # fmt: skip
        if e.terms:
            out.print(f"  terms: {', '.join(e.terms)}", markup=False, highlight=False)
        for passage in e.passages:
            out.print(f"  {passage}", markup=False, highlight=False)


@topics_app.command("evaluate")
def evaluate(
    labels: Annotated[
        Path | None,
        typer.Option(help='JSON lines {"id","title","text","language"?,"topics":[...]}.'),
    ] = None,
    topic: Annotated[str | None, typer.Option(help="Score only this topic id.")] = None,
    stored: Annotated[
        bool, typer.Option("--stored", help="Score against analysts' stored judgements.")
    ] = False,
    topics: TopicsFile = None,
) -> None:
    """Precision and recall per topic and language, then each miss and false alert."""
    from pipeline.topics import get_matcher
    from pipeline.topics.evaluation import read_labels, report

    matcher = get_matcher(topics)
    known = set(matcher.topics)
    if topic is not None and topic not in known:
        raise InputError(f"--topic: unknown topic {topic!r} (known: {', '.join(sorted(known))})")
    if (labels is None) == (not stored):
        raise InputError("give either --labels FILE or --stored")
    if labels is not None:
        if not labels.is_file():
            raise InputError(f"{labels}: no such labels file")
        rows = read_labels(labels, known)
    else:
        from pipeline.store.db import session_scope
        from pipeline.topics.judgements import stored_rows

        with session_scope() as session:
            rows = stored_rows(session, topic)
    print_report(report(matcher, rows, topic))


@topics_app.command("judge")
def judge(
    story: Annotated[int, typer.Argument(help="Story (cluster) id, as in alerts and reports.")],
    topic: Annotated[str, typer.Argument(help="Topic id, e.g. peace-treaty.")],
    relevant: Annotated[
        bool | None,
        typer.Option("--relevant/--not-relevant", help="Is the story about the topic?"),
    ] = None,
    note: Annotated[str | None, typer.Option(help="Why, for whoever edits the topic.")] = None,
    topics: TopicsFile = None,
) -> None:
    """Record whether STORY is about TOPIC (evaluated on the story's origin document)."""
    from pipeline.store.db import session_scope
    from pipeline.topics import get_matcher
    from pipeline.topics.judgements import judge as record

    if relevant is None:
        raise InputError("say --relevant or --not-relevant")
    known = set(get_matcher(topics).topics)
    with session_scope() as session:
        row = record(session, story, topic, relevant=relevant, note=note, known=known)
        verdict = "relevant" if row.relevant else "not relevant"
        out.print(f"story {story} / {topic}: {verdict} (doc {row.document_id})")
