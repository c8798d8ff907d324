"""Persist topics and matches: idempotent upserts, unique per (document, topic).

Decisions:

* ``sync_topics`` upserts every enabled topic of the file into ``topics`` (only rows whose
  definition hash changed are written). A topic removed from the file keeps its row, so
  old matches and alerts still name it.
* ``match_document`` keeps one ``matches`` row per (document, topic). A row that still
  matches keeps its ``matched_at`` and ``run_id`` (when it was first found) and gets fresh
  score, terms and passages. A row whose document no longer matches a topic that is still
  defined (the text was updated, or the topic was narrowed) is deleted, so matches always
  describe the current text and topics; a deletion refused by the database (a row some
  other table still references) is kept and counted as ``stale_kept``.
* A concurrent worker inserting the same (document, topic) first is not an error: the
  IntegrityError is counted as ``race_duplicate`` and the stored row is used.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipeline.store.models import Document, Match, Source, Topic, utcnow
from pipeline.topics.matcher import Matcher, Precomputed, TopicMatch

log = logging.getLogger(__name__)
# Process-wide counters of the benign events above (read by tests and run reports).
counters: Counter[str] = Counter()


@dataclass
class MatchChanges:
    """What matching one document changed in ``matches``."""

    new: list[Match] = field(default_factory=list)
    updated: list[Match] = field(default_factory=list)
    unchanged: list[Match] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def current(self) -> list[Match]:
        """Every match the document has now."""
        return [*self.new, *self.updated, *self.unchanged]


def _upsert_topics(session: Session, matcher: Matcher, ids: Iterable[str]) -> int:
    """Insert or update the given topics whose stored hash differs; return rows written."""
    wanted = [i for i in ids if i in matcher.topics]
    if not wanted:
        return 0
    stored = dict(
        session.execute(select(Topic.id, Topic.definition_hash).where(Topic.id.in_(wanted))).all()
    )
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    written = 0
    for tid in wanted:
        if stored.get(tid) == matcher.hashes[tid]:
            continue
        t = matcher.topics[tid]
        values = {
            "id": tid,
            "name": t.name,
            "description": t.description.strip(),
            "definition": matcher.definitions[tid],
            "definition_hash": matcher.hashes[tid],
            "updated_at": utcnow(),
        }
        stmt = insert(Topic).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"], set_={k: v for k, v in values.items() if k != "id"}
        )
        session.execute(stmt)
        written += 1
    return written


def sync_topics(session: Session, matcher: Matcher) -> int:
    """Upsert every enabled topic of ``matcher`` into ``topics``; return rows written."""
    return _upsert_topics(session, matcher, list(matcher.topics))


def _existing(session: Session, document_id: int) -> dict[str, Match]:
    """The stored matches of a document by topic id."""
    rows = session.scalars(select(Match).where(Match.document_id == document_id))
    return {m.topic_id: m for m in rows}


def apply_matches(
    session: Session,
    doc: Document,
    results: list[TopicMatch],
    matcher: Matcher,
    *,
    run_id: int | None = None,
    prune_topics: Iterable[str] | None = None,
) -> MatchChanges:
    """Store ``results`` for ``doc``; delete rows of ``prune_topics`` that no longer match."""
    changes = MatchChanges()
    _upsert_topics(session, matcher, (r.topic for r in results))
    existing = _existing(session, doc.id)
    for r in results:
        terms = list(r.terms)
        passages = [p.to_dict() for p in r.passages]
        row = existing.get(r.topic)
        if row is not None:
            if (row.score, row.terms, row.passages) == (r.score, terms, passages):
                changes.unchanged.append(row)
            else:
                row.score, row.terms, row.passages = r.score, terms, passages
                changes.updated.append(row)
            continue
        row = Match(
            document_id=doc.id, topic_id=r.topic, score=r.score, terms=terms,
            passages=passages, matched_at=utcnow(), run_id=run_id,
        )  # fmt: skip
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
            changes.new.append(row)
        except IntegrityError:
            counters["race_duplicate"] += 1
            log.debug("match (%s, %s) stored concurrently; using it", doc.id, r.topic)
            stored = session.scalar(
                select(Match).where(Match.document_id == doc.id, Match.topic_id == r.topic)
            )
            if stored is not None:
                changes.unchanged.append(stored)
    matched = {r.topic for r in results}
    for tid in set(prune_topics or ()) & set(existing) - matched:
        try:
            with session.begin_nested():
                session.execute(
                    delete(Match).where(Match.document_id == doc.id, Match.topic_id == tid)
                )
            changes.removed.append(tid)
        except IntegrityError:
            counters["stale_kept"] += 1
            log.debug("stale match (%s, %s) is referenced; kept", doc.id, tid)
    return changes


def match_document(
    session: Session,
    doc: Document,
    matcher: Matcher,
    *,
    source: Source | None = None,
    run_id: int | None = None,
    precomputed: Precomputed | None = None,
) -> list[Match]:
    """Match a flushed document against every topic and upsert its ``matches`` rows.

    ``precomputed``: matches an extraction worker found for this document's title and text;
    used when they came from the same topics and source, else the document is matched here.
    """
    if source is None and doc.source_id is not None:
        source = session.get(Source, doc.source_id)
    name, stype = (source.name, source.type) if source else (None, None)
    if precomputed is not None and precomputed.fits(matcher.version, name, stype):
        results = list(precomputed.results)
    else:
        results = matcher.match(
            doc.title, doc.text, language=doc.language, source=name, source_type=stype
        )
    changes = apply_matches(
        session, doc, results, matcher, run_id=run_id, prune_topics=matcher.topics
    )
    return changes.current
