"""Running the process stage over many recorded pages: extraction on all cores, one writer.

Extraction (decode, trafilatura, dates, language: the CPU-heavy part) runs in a pool of worker
processes fed with plain :class:`~pipeline.stages.process.Task` data and a bounded look-ahead, so
raw pages are never all in memory. Results come back in feed order (recording order), and ONE
writer stores them: dedup, topic match and commit happen in the same order with 1 or N workers,
so stories come out identical. The writer commits in batches; a batch's pages are marked
processed in the same transaction as their documents and run counters, so a crash redoes at most
the uncommitted batch and never counts or stores a page twice.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from pipeline.config.settings import get_settings
from pipeline.errors import ConfigError, NewsmonError, Outcome
from pipeline.stages.pool import children_allowed, worker_pool
from pipeline.stages.process import Cleaned, StoreResult, Task, extract_task, store_page, task_for
from pipeline.store.db import session_scope, with_retries
from pipeline.store.models import Page, Source
from pipeline.store.pages import Window
from pipeline.store.runs import RunTally, finish_run

log = logging.getLogger(__name__)

# A batch is committed after this many pages or this many seconds, whichever comes first:
# per-page commits cost more than the storing itself on SQLite, and 2 s bounds the redo after a
# crash (scripts/bench_ingest.py; BENCHMARKS.md "Ingest").
BATCH_PAGES = 50
BATCH_SECONDS = 2.0
# Tasks queued per worker: enough to keep workers busy while the writer stores and commits a
# batch (8 left the workers idle then: speed-up of 2 workers 1.52, with 24: 1.60; raw pages stay
# compressed in the queue, so even large pages cost little memory).
LOOKAHEAD_PER_WORKER = 24
# Pages read from the database per query when selecting recorded pages.
LOAD_CHUNK = 32
# Below this many pages a pool costs more to start than it saves.
POOL_MIN_PAGES = 8
OUT_OF_WINDOW = str(Outcome.OUT_OF_WINDOW)

Extracted = Cleaned | str
OnResult = Callable[[Task, StoreResult], None]


class ProcessFailed(NewsmonError):
    """The process stage itself could not run (a worker process died); nothing was lost."""


@dataclass
class RunReport:
    """What an ingest or process run did."""

    run_id: int
    outcomes: dict[str, int] = field(default_factory=dict)
    documents: list[int] = field(default_factory=list)
    interrupted: bool = False

    @property
    def total(self) -> int:
        """Items handled."""
        return sum(self.outcomes.values())


def default_workers() -> int:
    """NEWSMON_PROCESS_WORKERS, else the CPUs this process may run on."""
    configured = get_settings().process_workers
    if configured < 0:
        raise ConfigError(f"NEWSMON_PROCESS_WORKERS={configured}: expected 0 (all cores) or more")
    if configured:
        return configured
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Processor:
    """Feeds tasks to the workers (or extracts in-process), stores results in batches.

    ``window`` overrides each page's recorded window (``newsmon process --since/--until``), and
    then pages an earlier window left ``out_of_window`` are taken again too. A page that another
    process has handled meanwhile is skipped, or counted as ``count_taken`` when given (ingest:
    each file ends in one counted outcome).
    """

    def __init__(
        self,
        run_id: int,
        tally: RunTally,
        *,
        workers: int,
        expected: int,
        window: Window | None = None,
        count_taken: Outcome | None = None,
        on_result: OnResult | None = None,
    ) -> None:
        self.run_id, self.tally, self.window = run_id, tally, window
        self.count_taken, self.on_result = count_taken, on_result
        self.workers = max(1, min(workers, expected))
        self.pool: ProcessPoolExecutor | None = None
        self.use_pool = self.workers > 1 and expected >= POOL_MIN_PAGES
        self.inflight: deque[tuple[Task, Future[Extracted]]] = deque()
        self.batch: list[tuple[Task, Extracted]] = []
        self.batch_started = 0.0
        self.documents: list[int] = []
        self.stopping = False

    def push(self, task: Task) -> None:
        """Extract one task (or queue it for a worker) and store finished ones in order."""
        if self.pool is None:
            self._accept(task, extract_task(task))
            if self.use_pool:
                self._start_pool()
            return
        with children_allowed():  # the first submit starts the workers
            future = self.pool.submit(extract_task, task)
        self.inflight.append((task, future))
        while len(self.inflight) >= self.workers * LOOKAHEAD_PER_WORKER:
            self._take_oldest()

    def _start_pool(self) -> None:
        """Fork the workers after the first page was cleaned here: they inherit the warm
        extraction stack (language model, date parser data) instead of each loading it."""
        self.pool = worker_pool(self.workers)

    def _take_oldest(self) -> None:
        """Wait for the oldest queued task and hand its result to the writer."""
        task, future = self.inflight.popleft()
        try:
            extracted = future.result()
        except BrokenProcessPool:
            self.inflight.clear()
            self.commit()  # what the workers finished before is kept
            raise ProcessFailed(
                f"an extraction worker died (out of memory or killed?) while the pool was cleaning "
                f"pages such as {task.url}; what was stored is kept, run `newsmon process` again"
            ) from None
        self._accept(task, extracted)

    def _accept(self, task: Task, extracted: Extracted) -> None:
        """Add a result to the batch; commit it when full or old enough."""
        if not self.batch:
            self.batch_started = time.monotonic()
        self.batch.append((task, extracted))
        if len(self.batch) >= BATCH_PAGES or time.monotonic() - self.batch_started >= BATCH_SECONDS:
            self.commit()

    def drain(self) -> None:
        """Wait for every queued task and commit them all (before a page is recorded again)."""
        while self.inflight:
            self._take_oldest()
        self.commit()

    def stop(self) -> None:
        """A clean stop: keep what the workers finished (in order), drop the rest, commit."""
        while self.inflight and self.inflight[0][1].done():
            self._take_oldest()
        for _task, future in self.inflight:
            future.cancel()
        self.inflight.clear()
        self.commit()

    def commit(self) -> None:
        """Store the batch in one transaction (retried as a whole on a lost race)."""
        if not self.batch:
            return
        batch = self.batch

        def store_all() -> list[tuple[Task, StoreResult | None]]:
            with self.tally.attempt(), session_scope() as session:
                done = [(task, self._store(session, task, got)) for task, got in batch]
                self.tally.flush(session)
            return done

        for task, result in with_retries(store_all):
            if result is None:
                continue
            if result.document_id is not None:
                self.documents.append(result.document_id)
            if self.on_result is not None:
                self.on_result(task, result)
        self.batch = []

    def _store(self, session: Session, task: Task, extracted: Extracted) -> StoreResult | None:
        """One page in the batch's transaction; None when another process handled it."""
        page = session.get(Page, task.page_id)
        if page is None or not self._open(page) or page.raw != task.raw:
            # Handled (or fetched anew) by another process since it was read: its business now.
            if self.count_taken is None:
                return None
            self.tally.add(task.source_id, self.count_taken)
            return StoreResult(self.count_taken, None)
        source = session.get(Source, page.source_id) if page.source_id else None
        window = self.window or Window(page.window_start, page.window_end)
        if self.window is not None:
            page.window_start, page.window_end = self.window.start, self.window.end
        result = store_page(
            session, page, extracted, source=source, window=window, run_id=self.run_id
        )
        # Later pages of the batch must see this one's story and bands (they query with SQL text).
        session.flush()
        self.tally.add(page.source_id, result.outcome)
        return result

    def _open(self, page: Page) -> bool:
        """True when the page still waits for this run."""
        if page.processed_at is None:
            return True
        return self.window is not None and page.outcome == OUT_OF_WINDOW

    def close(self) -> None:
        """End the pool: queued work is dropped, running workers are terminated."""
        if self.pool is None:
            return
        for _task, future in self.inflight:
            future.cancel()
        # The executor has no terminate() before Python 3.14; a worker mid-page would
        # otherwise hold the exit for as long as that page takes.
        for proc in list((getattr(self.pool, "_processes", None) or {}).values()):
            proc.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None
        self.use_pool = False


def pending_query(source_names: list[str] | None, window: Window | None) -> Select[int]:
    """Ids of the pages a process run takes: not processed yet (and, with a run window, the
    pages an earlier window left out)."""
    waiting: ColumnElement[bool] = Page.processed_at.is_(None)
    if window is not None:
        waiting = or_(waiting, Page.outcome == OUT_OF_WINDOW)
    q = select(Page.id).where(waiting)
    if source_names:
        q = q.join(Source, Page.source_id == Source.id).where(Source.name.in_(source_names))
    return q


def count_pending(source_names: list[str] | None, window: Window | None) -> int:
    """How many pages a process run would take now."""
    q = pending_query(source_names, window).subquery()
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(q)) or 0)


def pending_tasks(
    source_names: list[str] | None, window: Window | None, chunk: int = LOAD_CHUNK
) -> Iterator[Task]:
    """The waiting pages as tasks, in recording (id) order, read a chunk at a time."""
    last = 0
    base = pending_query(source_names, window)
    while True:
        with session_scope() as session:
            ids = list(session.scalars(base.where(Page.id > last).order_by(Page.id).limit(chunk)))
            if not ids:
                return
            pages = {p.id: p for p in session.scalars(select(Page).where(Page.id.in_(ids)))}
            sources = {s.id: s for s in session.scalars(select(Source))}
            tasks = [task_for(pages[i], sources.get(pages[i].source_id or 0)) for i in ids]
        last = ids[-1]
        yield from tasks


@contextmanager
def interruptible(processor: Processor, enabled: bool = True) -> Iterator[None]:
    """On the first Ctrl-C, ask the processor to stop cleanly; a second one interrupts at once."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(_signum: int, _frame: FrameType | None) -> None:
        processor.stopping = True
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_tasks(
    processor: Processor, tasks: Iterable[Task], on_progress: Callable[[int], None] | None = None
) -> bool:
    """Push every task through the processor; False when a Ctrl-C stopped it early."""
    done = 0
    for task in tasks:
        if processor.stopping:
            processor.stop()
            return False
        processor.push(task)
        done += 1
        if on_progress is not None:
            on_progress(done - len(processor.inflight))
    processor.drain()
    if on_progress is not None:
        on_progress(done)
    return True


def finish(run_id: int, interrupted: bool) -> None:
    """Mark the run finished (its own transaction)."""

    def txn() -> None:
        with session_scope() as session:
            finish_run(session, run_id, status="interrupted" if interrupted else "ok")

    with_retries(txn)


def synced_sources(session: Session) -> dict[str, Source]:
    """Upsert the configured sources and topics; return sources by name."""
    from pipeline import topics
    from pipeline.config.sources import load_sources
    from pipeline.store.sources import sync_sources

    sync_sources(session, load_sources())
    topics.sync_topics(session, topics.get_matcher())
    return {s.name: s for s in session.scalars(select(Source))}


def run_pending(
    *,
    source_names: list[str] | None = None,
    kind: str = "process",
    workers: int | None = None,
    window: Window | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    handle_interrupt: bool = False,
) -> RunReport:
    """Process every recorded page not processed yet, oldest first; one run, counted.

    ``window`` (``newsmon process --since/--until``) replaces the pages' recorded windows and
    takes pages an earlier window left ``out_of_window`` again. ``on_progress(done, total)``
    reports progress; with ``handle_interrupt`` a Ctrl-C stops cleanly (``report.interrupted``).
    """
    names = [n for n in (source_names or []) if n]

    def begin() -> int:
        from pipeline.errors import InputError
        from pipeline.store.runs import start_run

        with session_scope() as session:
            known = synced_sources(session)
            unknown = sorted(set(names) - set(known))
            if unknown:
                raise InputError(
                    f"unknown source(s) {', '.join(unknown)}; "
                    "`newsmon sources list` shows the names"
                )
            params: dict[str, Any] = {"sources": names or None}
            if window is not None:
                params["window"] = [_iso(window.start), _iso(window.end)]
            return start_run(session, kind, params).id

    run_id = with_retries(begin)
    tally = RunTally(run_id)
    total = count_pending(names, window)
    processor = Processor(
        run_id, tally, workers=workers or default_workers(), expected=total, window=window
    )
    progress = (lambda done: on_progress(done, total)) if on_progress is not None else None
    try:
        with interruptible(processor, handle_interrupt):
            completed = run_tasks(processor, pending_tasks(names, window), progress)
    finally:
        processor.close()
    finish(run_id, interrupted=not completed)
    return RunReport(run_id, dict(tally.by_outcome()), processor.documents, not completed)


def _iso(value: Any) -> str | None:
    """ISO text of a datetime for the runs table."""
    return value.isoformat() if value is not None else None
