"""Saved HTML pages in: each file is recorded like a fetch, then processed by the one stage.

``newsmon ingest`` records every file with ``Discovery(method="ingest")`` (the URL comes from the
page's canonical link) and hands the recorded pages to the process stage
(:mod:`pipeline.stages.runner`), so a saved page is cleaned, folded and matched exactly like a
crawled one. :func:`process_pending` is the DAG's and ``newsmon process``'s entry point.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from lxml import html as lxml_html
from lxml.etree import ParserError
from sqlalchemy import select

from pipeline.errors import ExtractionError, InputError, Outcome
from pipeline.stages.process import StoreResult, Task, task_for
from pipeline.stages.runner import (
    Processor,
    RunReport,
    default_workers,
    finish,
    interruptible,
    run_pending,
    synced_sources,
)
from pipeline.store.db import session_scope, with_retries
from pipeline.store.models import Source
from pipeline.store.pages import Discovery, record_fetch
from pipeline.store.runs import RunTally, start_run
from pipeline.text.reader import PageTooLarge, read_page
from pipeline.text.urls import host_of, url_hash

log = logging.getLogger(__name__)
HTML_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")
# Files recorded per transaction before their pages are handed to the workers.
RECORD_CHUNK = 16
INGESTED = Discovery(method="ingest")

# The report of an ingest or process run (the name the CLI and tests know).
IngestReport = RunReport
__all__ = [
    "IngestReport",
    "PageTooLarge",
    "ingest_paths",
    "process_pending",
    "read_page",
    "synced_sources",
]


def html_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand files and folders into the HTML files they hold, sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.name.endswith(HTML_SUFFIXES))
        elif path.exists():
            yield path
        else:
            raise InputError(f"{path}: no such file or folder")


def page_url(path: Path, body: bytes) -> str:
    """The URL a saved page was published at: its canonical link or og:url, else a file URI."""
    # Both live in <head>: parsing only that much spares a whole-page parse per file.
    end = body.find(b"</head>")
    if end < 0:
        end = body.find(b"</HEAD>")
    head = body[: end + len(b"</head>")] if end >= 0 else body
    try:
        tree = lxml_html.fromstring(head)
    except (ParserError, ValueError):
        return path.resolve().as_uri()
    for xpath in ('//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content'):
        found = [str(v).strip() for v in tree.xpath(xpath)]
        if found and found[0].startswith(("http://", "https://")):
            return found[0]
    return path.resolve().as_uri()


def source_for(url: str, known: dict[str, Source]) -> Source | None:
    """The source whose allowed domains contain the URL's host."""
    host = host_of(url)
    for src in known.values():
        for domain in src.config.get("allowed_domains", []):
            domain = domain.lower().removeprefix("www.")
            if host == domain or host.endswith("." + domain):
                return src
    return None


class _Ingest:
    """One ingest run: record files a chunk at a time, process their pages as they come."""

    def __init__(
        self,
        run_id: int,
        source_name: str | None,
        processor: Processor,
        on_item: Callable[[Path, StoreResult], None] | None,
    ) -> None:
        self.run_id, self.source_name, self.processor = run_id, source_name, processor
        self.on_item = on_item
        self.files_of: dict[int, Path] = {}  # page id in flight -> its file
        self.hashes: set[str] = set()  # URL hashes of the pages in flight
        processor.on_result = self._done

    def _done(self, task: Task, result: StoreResult) -> None:
        """A page was stored: report its file."""
        path = self.files_of.pop(task.page_id)
        if self.on_item is not None:
            self.on_item(path, result)

    def add(self, chunk: list[Path]) -> None:
        """Read, record and queue a chunk of files (each ends in one counted outcome)."""
        items: list[tuple[Path, bytes, str]] = []
        for path in chunk:
            try:
                body = read_page(path)
            except PageTooLarge as exc:
                log.warning("%s", exc)
                self._counted(path, StoreResult(Outcome.TOO_LARGE, None))
                continue
            except ExtractionError as exc:
                # A corrupt or truncated .gz is one bad file: counted, and the folder goes on.
                log.warning("%s", exc)
                self._counted(path, StoreResult(Outcome.BAD_CONTENT, None))
                continue
            except OSError as exc:
                log.warning("%s: cannot be read (%s)", path, exc.strerror or exc)
                self._counted(path, StoreResult(Outcome.BAD_CONTENT, None))
                continue
            url = page_url(path, body)
            if url_hash(url) in self.hashes:
                # The same URL twice in one ingest: the first copy must be stored before the
                # second is recorded over it, as two runs one after the other would.
                self._flush_records(items)
                items = []
                self.processor.drain()
                self.hashes.clear()
            self.hashes.add(url_hash(url))
            items.append((path, body, url))
        self._flush_records(items)

    def _counted(self, path: Path, result: StoreResult) -> None:
        """Count a file that is not processed (too large, or unchanged since last time)."""
        tally = self.processor.tally

        def txn() -> None:
            with tally.attempt(), session_scope() as session:
                tally.add(None, result.outcome)
                tally.flush(session)

        with_retries(txn)
        if self.on_item is not None:
            self.on_item(path, result)

    def _flush_records(self, items: list[tuple[Path, bytes, str]]) -> None:
        """Record the files in one transaction and queue their pages for the workers."""
        if not items:
            return
        tally = self.processor.tally
        name = self.source_name

        def txn() -> tuple[list[tuple[Path, Task]], list[Path]]:
            queued: list[tuple[Path, Task]] = []
            unchanged: list[Path] = []
            with tally.attempt(), session_scope() as session:
                known = {s.name: s for s in session.scalars(select(Source))}
                for path, body, url in items:
                    src = known[name] if name else source_for(url, known)
                    page = record_fetch(
                        session,
                        url,
                        source=src,
                        status=200,
                        body=body,
                        headers={"content-type": "text/html"},
                        discovery=INGESTED,
                        run_id=self.run_id,
                    )
                    if page.processed_at is not None and page.outcome:
                        # Same bytes as last time, already handled: nothing to redo.
                        tally.add(src.id if src else None, Outcome.UNCHANGED)
                        unchanged.append(path)
                    else:
                        queued.append((path, task_for(page, src)))
                tally.flush(session)
            return queued, unchanged

        queued, unchanged = with_retries(txn)
        for path in unchanged:
            if self.on_item is not None:
                self.on_item(path, StoreResult(Outcome.UNCHANGED, None))
        for path, task in queued:
            self.files_of[task.page_id] = path
            self.processor.push(task)


def ingest_paths(
    paths: list[Path],
    *,
    source_name: str | None = None,
    on_item: Callable[[Path, StoreResult], None] | None = None,
    workers: int | None = None,
    handle_interrupt: bool = False,
) -> IngestReport:
    """Record saved pages as if fetched and process them; each file ends in one counted outcome."""
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
    # A page another process handles between recording and storing ends "unchanged" here.
    processor = Processor(
        run_id,
        tally,
        workers=workers or default_workers(),
        expected=len(files),
        count_taken=Outcome.UNCHANGED,
    )
    ingest = _Ingest(run_id, source_name, processor, on_item)
    completed = True
    try:
        with interruptible(processor, handle_interrupt):
            for start in range(0, len(files), RECORD_CHUNK):
                if processor.stopping:
                    processor.stop()
                    completed = False
                    break
                ingest.add(files[start : start + RECORD_CHUNK])
            else:
                processor.drain()
    finally:
        processor.close()
    finish(run_id, interrupted=not completed)
    return RunReport(run_id, dict(tally.by_outcome()), processor.documents, not completed)


def process_pending(
    *,
    source_names: list[str] | None = None,
    kind: str = "process",
    batch: int | None = None,
    workers: int | None = None,
) -> IngestReport:
    """Process every recorded page not processed yet (the DAG's process task); ``batch`` is
    accepted for older callers and ignored (the stage sizes its own batches)."""
    return run_pending(source_names=source_names, kind=kind, workers=workers)
