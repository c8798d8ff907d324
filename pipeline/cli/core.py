"""Core commands: database, ingest, search."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import app
from pipeline.cli.common import MAX_ROWS, console, out, parse_day, sub_app
from pipeline.config.settings import get_settings

db_app = sub_app("Database schema commands.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to the configured database (NEWSMON_DATABASE_URL)."""
    from pipeline.store import db

    url = get_settings().database_url
    db.upgrade(url)
    console.print(f"database at revision {db.current_revision(url)}")


@app.command("ingest")
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="HTML / .html.gz files or folders of them.")],
    source: Annotated[str | None, typer.Option(help="Source name (default: by URL host).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Extraction processes (default NEWSMON_PROCESS_WORKERS, else all cores)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Record saved HTML pages as if fetched and process them like crawled pages; print counts."""
    from pipeline.cli.process import print_report, with_bar
    from pipeline.stages.ingest import html_files, ingest_paths

    total = len(list(html_files(paths)))
    report = with_bar(
        "ingest",
        lambda bar: ingest_paths(
            paths,
            source_name=source,
            workers=workers,
            on_item=lambda _p, _r: bar.advance(total),
            handle_interrupt=True,
        ),
    )
    print_report("ingest", report, as_json)
    unread = report.outcomes.get("too_large", 0) + report.outcomes.get("bad_content", 0)
    if report.total and unread == report.total:
        # Every file was refused: a wrapper must not see success. One bad file among good ones
        # is a counted outcome, not a failed run.
        typer.secho(
            f"error: none of the {report.total} files could be read (too large or not valid "
            "HTML/gzip; the log names each)",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="Words to find (any script or spelling).")],
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    since: Annotated[str | None, typer.Option(help="Published on or after (YYYY-MM-DD).")] = None,
    lang: Annotated[
        str | None, typer.Option(help="Only this language (en, ru, hy, az...).")
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=MAX_ROWS, help="At most this many results.")
    ] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV with a header.")] = False,
) -> None:
    """Full-text search over stored documents, newest first."""
    from pipeline.store import db
    from pipeline.store.search import query_tokens
    from pipeline.store.search import search as run_search

    query_tokens(query)  # an empty or oversized query is refused before the database is opened
    with db.session_scope() as session:
        hits = run_search(
            session, query, source=source, since=parse_day(since), language=lang, limit=limit
        )
    rows: list[dict[str, object]] = [
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
    if not rows:
        filters = [f"{k} {v}" for k, v in (("--source", source), ("--since", since),
                                           ("--lang", lang)) if v]  # fmt: skip
        out.print(f"No stored document has every word of {query!r}"
                  + (f" ({', '.join(filters)})." if filters else "."), markup=False)  # fmt: skip
        out.print(
            "  Every word must appear (a word matches its beginning: 'delimit' finds "
            "'delimitation'); try fewer or other words"
            + (", or drop the filters." if filters else ".")
            + " Names are found in any script ('Zangezur' finds 'Зангезурский').",
            markup=False,
            highlight=False,
        )
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{len(rows)} results for {query!r}")
    for col in ("published", "source", "lang", "title"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["published"] or "")[:10],
            str(r["source"] or ""),
            str(r["language"] or ""),
            f"{escape(str(r['title']))}\n[dim]doc {r['id']} · {escape(str(r['snippet']))}[/dim]",
        )
    out.print(table)


# `newsmon demo` lives in pipeline/cli/airflow.py: it runs the day under Airflow.
