"""Run saved HTML pages, or pages already fetched, through the storage stage."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import html as lxml_html
from lxml.etree import ParserError
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline import topics
from pipeline.config import sources as sources_mod
from pipeline.config.settings import get_settings
from pipeline.errors import InputError, NewsmonError, Outcome
from pipeline.stages.process import StoreResult, process_page
from pipeline.store.db import session_scope, with_retries
from pipeline.store.models import Page, Source
from pipeline.store.pages import record_fetch
from pipeline.store.runs import RunTally, finish_run, start_run
from pipeline.text.urls import host_of

log = logging.getLogger(__name__)
HTML_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")


@dataclass
class IngestReport:
    """What an ingest or process run did."""

    run_id: int
    outcomes: dict[str, int] = field(default_factory=dict)
    documents: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Items handled."""
        return sum(self.outcomes.values())


def html_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand files and folders into the HTML files they hold, sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.name.endswith(HTML_SUFFIXES))
        elif path.exists():
            yield path
        else:
            raise InputError(f"{path}: no such file or folder")


class PageTooLarge(NewsmonError):
    """A saved page larger than NEWSMON_DOWNLOAD_MAXSIZE (the crawler's limit): not read."""

    outcome = Outcome.TOO_LARGE


def read_html(path: Path, limit: int | None = None) -> bytes:
    """Read an .html or .html.gz file as bytes; PageTooLarge beyond ``limit`` bytes.

    The limit defaults to NEWSMON_DOWNLOAD_MAXSIZE, so ``newsmon ingest`` refuses what a crawl
    would; a gzip file is decompressed only up to it (a small file may hold a huge page).
    """
    limit = get_settings().download_maxsize if limit is None else limit
    size = path.stat().st_size
    if size > limit:
        raise PageTooLarge(f"{path}: {size} bytes, over NEWSMON_DOWNLOAD_MAXSIZE={limit}")
    if not path.name.endswith(".gz"):
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: not a valid gzip file ({exc})") from None
    if len(data) > limit:
        raise PageTooLarge(f"{path}: decompresses to over NEWSMON_DOWNLOAD_MAXSIZE={limit} bytes")
    return data


def page_url(path: Path, body: bytes) -> str:
    """The URL a saved page was published at: its canonical link or og:url, else a file URI."""
    try:
        tree = lxml_html.fromstring(body)
    except (ParserError, ValueError):
        return path.resolve().as_uri()
    for xpath in ('//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content'):
        found = [str(v).strip() for v in tree.xpath(xpath)]
        if found and found[0].startswith(("http://", "https://")):
            return found[0]
    return path.resolve().as_uri()


def synced_sources(session: Session) -> dict[str, Source]:
    """Upsert the configured sources and topics; return sources by name."""
    cfg = sources_mod.load_sources()
    sources_mod.sync_sources(session, cfg)
    topics.sync_topics(session, topics.get_matcher())
    return {s.name: s for s in session.scalars(select(Source))}


def source_for(url: str, known: dict[str, Source]) -> Source | None:
    """The source whose allowed domains contain the URL's host."""
    host = host_of(url)
    for src in known.values():
        for domain in src.config.get("allowed_domains", []):
            domain = domain.lower().removeprefix("www.")
            if host == domain or host.endswith("." + domain):
                return src
    return None


def _flush(tally: RunTally) -> None:
    """Write pending counters (their own transaction)."""
    with session_scope() as session:
        tally.flush(session)


def _finish(run_id: int) -> None:
    """Mark a run finished (its own transaction)."""
    with session_scope() as session:
        finish_run(session, run_id)


def ingest_paths(
    paths: list[Path],
    *,
    source_name: str | None = None,
    on_item: Callable[[Path, StoreResult], None] | None = None,
) -> IngestReport:
    """Store saved pages as if crawled; each file is one transaction and one counted outcome."""
    files = list(html_files(paths))

    def begin() -> int:
        with session_scope() as session:
            known = synced_sources(session)
            if source_name and source_name not in known:
                raise InputError(
                    f"unknown source {source_name!r}; `newsmon sources list` shows the names"
                )
            params = {"paths": [str(p) for p in paths], "source": source_name}
            return start_run(session, "ingest", params).id

    # Every transaction is retried on "database is locked" (concurrent SQLite writers).
    run_id = with_retries(begin)
    tally = RunTally(run_id)
    report = IngestReport(run_id)
    for path in files:
        try:
            body = read_html(path)
        except PageTooLarge as exc:
            log.warning("%s", exc)
            too_large = StoreResult(Outcome.TOO_LARGE, None)
            tally.add(None, too_large.outcome)
            with_retries(lambda: _flush(tally))
            if on_item:
                on_item(path, too_large)
            continue
        url = page_url(path, body)

        def one(body: bytes = body, url: str = url) -> StoreResult:
            with tally.attempt(), session_scope() as session:
                src = (
                    session.scalar(select(Source).where(Source.name == source_name))
                    if source_name
                    else source_for(url, {s.name: s for s in session.scalars(select(Source))})
                )
                page = record_fetch(
                    session,
                    url,
                    source=src,
                    status=200,
                    body=body,
                    headers={"content-type": "text/html"},
                )
                if page.processed_at is not None and page.outcome:
                    # Same bytes as last time: already handled, nothing to redo.
                    result = StoreResult(Outcome.UNCHANGED, None)
                    tally.add(src.id if src else None, result.outcome)
                else:
                    result = process_page(session, page, source=src, tally=tally, run_id=run_id)
                tally.flush(session)
                return result

        result = with_retries(one)
        if result.document_id is not None:
            report.documents.append(result.document_id)
        if on_item:
            on_item(path, result)
    with_retries(lambda: _finish(run_id))
    report.outcomes = dict(tally.by_outcome())
    return report


def process_pending(
    *, source_names: list[str] | None = None, kind: str = "process", batch: int = 200
) -> IngestReport:
    """Process every fetched page not processed yet (the DAG's process task)."""

    def begin() -> int:
        with session_scope() as session:
            synced_sources(session)
            return start_run(session, kind, {"sources": source_names}).id

    run_id = with_retries(begin)
    tally = RunTally(run_id)
    report = IngestReport(run_id)
    last_id = 0
    while True:
        with session_scope() as session:
            q = select(Page).where(Page.processed_at.is_(None), Page.id > last_id)
            if source_names:
                q = q.join(Source, Page.source_id == Source.id).where(Source.name.in_(source_names))
            pages = list(session.scalars(q.order_by(Page.id).limit(batch)))
            ids = [p.id for p in pages]
        if not ids:
            break
        for page_id in ids:
            last_id = page_id

            def one(page_id: int = page_id) -> StoreResult | None:
                with tally.attempt(), session_scope() as session:
                    page = session.get(Page, page_id)
                    if page is None or page.processed_at is not None:
                        return None  # another worker took it
                    src = session.get(Source, page.source_id) if page.source_id else None
                    res = process_page(session, page, source=src, tally=tally, run_id=run_id)
                    tally.flush(session)
                    return res

            res = with_retries(one)
            if res is not None and res.document_id is not None:
                report.documents.append(res.document_id)
    with_retries(lambda: _finish(run_id))
    report.outcomes = dict(tally.by_outcome())
    return report
