"""Run topics over the stored archive: a dry run (``topics test``) and ``topics reprocess``.

Reprocessing records new matches like ingest does, under a run of kind "reprocess"; it
sends nothing. Alerting decides what to do with matches of old documents: their
``matches.run_id`` points at a run whose ``kind`` is "reprocess".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.errors import InputError, Outcome
from pipeline.store.db import session_scope, with_retries
from pipeline.store.models import Document, Source
from pipeline.store.runs import RunTally, finish_run, start_run
from pipeline.topics.matcher import Matcher, TopicMatch
from pipeline.topics.store import apply_matches, sync_topics

# Outcome counted for a stored match the document no longer earns (deleted).
UNMATCHED = "unmatched"


@dataclass
class Sample:
    """One document a dry run matched, with its explanation."""

    document_id: int
    title: str
    url: str
    source: str | None
    language: str | None
    match: TopicMatch
    story: int | None = None  # the document's story (cluster), None before dedup placed it


@dataclass
class DryRun:
    """What one topic would match in the archive."""

    topic: str
    scanned: int = 0
    matched: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    by_language: Counter[str] = field(default_factory=Counter)
    samples: list[Sample] = field(default_factory=list)


@dataclass
class ReprocessReport:
    """Counts of one reprocess run."""

    run_id: int
    topics: list[str]
    documents: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


def check_topic_ids(matcher: Matcher, ids: Collection[str]) -> None:
    """Unknown topic ids are an input error listing the known ones."""
    unknown = [t for t in ids if t not in matcher.topics]
    if unknown:
        raise InputError(
            f"unknown topic {', '.join(map(repr, unknown))}; "
            f"topics in {matcher.path or 'the topics file'}: {', '.join(matcher.topics)}"
        )


def _window(since: datetime | None, until: datetime | None) -> list[object]:
    """WHERE clauses on a document's date (published, else first seen)."""
    when = func.coalesce(Document.published_at, Document.first_seen_at)
    clauses: list[object] = []
    if since is not None:
        clauses.append(when >= since)
    if until is not None:
        clauses.append(when <= until)
    return clauses


def _batches(since: datetime | None, until: datetime | None, batch: int) -> Iterator[list[int]]:
    """Document ids in id order, ``batch`` at a time (keyset pagination, short reads)."""
    last = 0
    while True:
        with session_scope() as session:
            q = select(Document.id).where(Document.id > last, *_window(since, until))  # type: ignore[arg-type]
            ids = list(session.scalars(q.order_by(Document.id).limit(batch)))
        if not ids:
            return
        last = ids[-1]
        yield ids


def _sources(session: Session) -> dict[int, Source]:
    """All sources by id (a small table)."""
    return {s.id: s for s in session.scalars(select(Source))}


def _match(
    matcher: Matcher, doc: Document, src: Source | None, topics: Collection[str] | None
) -> list[TopicMatch]:
    """Match one stored document."""
    return matcher.match(
        doc.title,
        doc.text,
        language=doc.language,
        source=src.name if src else None,
        source_type=src.type if src else None,
        topics=topics,
    )


def dry_run(
    matcher: Matcher,
    topic: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    samples: int = 5,
    batch: int = 500,
) -> DryRun:
    """Run one topic over stored documents; store nothing."""
    check_topic_ids(matcher, [topic])
    report = DryRun(topic)
    for ids in _batches(since, until, batch):
        with session_scope() as session:
            sources = _sources(session)
            for doc in session.scalars(select(Document).where(Document.id.in_(ids))):
                report.scanned += 1
                src = sources.get(doc.source_id) if doc.source_id else None
                found = _match(matcher, doc, src, [topic])
                if not found:
                    continue
                report.matched += 1
                report.by_source[src.name if src else "(none)"] += 1
                report.by_language[doc.language or "(unknown)"] += 1
                if len(report.samples) < samples:
                    report.samples.append(
                        Sample(
                            doc.id,
                            doc.title,
                            doc.url,
                            src.name if src else None,
                            doc.language,
                            found[0],
                            doc.cluster_id,
                        )
                    )
            session.rollback()  # a dry run: nothing may be written
    return report


def reprocess(
    matcher: Matcher,
    topics: Collection[str] | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    batch: int = 200,
    on_batch: Callable[[int], None] | None = None,
) -> ReprocessReport:
    """Match stored documents again for ``topics`` (default: all) and record the changes.

    New matches are inserted with this run's id; matches that changed are updated; a
    stored match of a reprocessed topic the document no longer earns is removed
    (counted as "unmatched"). One transaction per batch.
    """
    wanted = list(topics) if topics else list(matcher.topics)
    check_topic_ids(matcher, wanted)
    params = {
        "topics": wanted,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
    }
    with session_scope() as session:
        sync_topics(session, matcher)
        run_id = start_run(session, "reprocess", params).id
    report = ReprocessReport(run_id, wanted)
    tally = RunTally(run_id)
    try:
        for ids in _batches(since, until, batch):

            def one(ids: list[int] = ids) -> None:
                with session_scope() as session:
                    sources = _sources(session)
                    for doc in session.scalars(select(Document).where(Document.id.in_(ids))):
                        src = sources.get(doc.source_id) if doc.source_id else None
                        found = _match(matcher, doc, src, wanted)
                        ch = apply_matches(
                            session, doc, found, matcher, run_id=run_id, prune_topics=wanted
                        )
                        sid = doc.source_id
                        for outcome, n in (
                            (Outcome.MATCHED, len(ch.new)),
                            (Outcome.UPDATED, len(ch.updated)),
                            (Outcome.UNCHANGED, len(ch.unchanged)),
                            (UNMATCHED, len(ch.removed)),
                        ):
                            if n:
                                tally.add(sid, outcome, n)
                    tally.flush(session)

            with_retries(one)
            report.documents += len(ids)
            if on_batch:
                on_batch(len(ids))
    except BaseException as exc:
        with session_scope() as session:
            finish_run(session, run_id, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    with session_scope() as session:
        finish_run(session, run_id)
    report.outcomes = tally.by_outcome()
    return report
