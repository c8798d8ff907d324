"""Core commands: database, ingest, search."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from pipeline import db
from pipeline.cli import app
from pipeline.cli.common import console, out, parse_day
from pipeline.settings import get_settings

db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to the configured database (NEWSMON_DATABASE_URL)."""
    url = get_settings().database_url
    db.upgrade(url)
    console.print(f"database at revision {db.current_revision(url)}")


@app.command("ingest")
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="HTML / .html.gz files or folders of them.")],
    source: Annotated[str | None, typer.Option(help="Source name (default: by URL host).")] = None,
) -> None:
    """Run saved HTML pages through the pipeline and store them, as if crawled; print counts."""
    from pipeline.ingest import html_files, ingest_paths

    total = len(list(html_files(paths)))
    with Progress(
        TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task("ingest", total=total)
        report = ingest_paths(paths, source_name=source, on_item=lambda _p, _r: bar.advance(task))
    table = Table(title=f"ingest run {report.run_id}: {report.total} pages")
    table.add_column("outcome")
    table.add_column("pages", justify="right")
    for outcome, n in sorted(report.outcomes.items()):
        table.add_row(outcome, str(n))
    out.print(table)


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="Words to find (any script or spelling).")],
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    since: Annotated[str | None, typer.Option(help="Published on or after (YYYY-MM-DD).")] = None,
    lang: Annotated[
        str | None, typer.Option(help="Only this language (en, ru, hy, az...).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many results.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV with a header.")] = False,
) -> None:
    """Full-text search over stored documents, newest first."""
    from pipeline.search import search as run_search

    with db.session_scope() as session:
        hits = run_search(
            session, query, source=source, since=parse_day(since), language=lang, limit=limit
        )
    rows = [
        {
            "id": h.document_id,
            "published": h.published_at.isoformat() if h.published_at else None,
            "source": h.source,
            "language": h.language,
            "title": h.title,
            "url": h.url,
            "snippet": h.snippet,
        }
        for h in hits
    ]
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["id"])
        writer.writeheader()
        writer.writerows(rows)
        return
    table = Table(title=f"{len(rows)} results for {query!r}")
    for col in ("published", "source", "lang", "title"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["published"] or "")[:10],
            r["source"] or "",
            r["language"] or "",
            f"{r['title']}\n[dim]{r['snippet']}[/dim]",
        )
    out.print(table)


@app.command("demo")
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run the offline demo and print a summary (a second run stores nothing new)."""
    from pipeline.demo import run_demo

    result = run_demo()
    s = result.summary
    if as_json:
        sys.stdout.write(json.dumps(s, ensure_ascii=False, sort_keys=True) + "\n")
        return
    out.print(f"[bold]newsmon demo[/bold] — database {get_settings().database_url}")
    out.print(f"pages this run: {result.per_outcome}")
    out.print(
        f"stored: {s['documents']} documents in {s['stories']} stories "
        f"({s['duplicates']} folded into another's story); new this run: {s['new_documents']}"
    )
    table = Table(title="stories (origin first)")
    for col in ("story", "title", "outlets", "topics"):
        table.add_column(col)
    for st in result.stories:
        table.add_row(
            str(st.cluster_id), st.title[:70], ", ".join(st.outlets), ", ".join(st.topics)
        )
    out.print(table)
    topics_table = Table(title="stories per topic")
    topics_table.add_column("topic")
    topics_table.add_column("stories", justify="right")
    for topic, n in sorted(s["matches"].items()):
        topics_table.add_row(topic, str(n))
    out.print(topics_table)
    if not s["new_documents"]:
        out.print("nothing new: everything was already stored by an earlier run")
