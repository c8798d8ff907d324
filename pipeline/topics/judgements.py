"""Analysts' judgements of stories against topics, and measuring a topic on them.

A judgement belongs to a story (cluster) and a topic and is stored on the story's origin
document: evaluating it matches that document again, so a changed topic can be measured
against everything analysts have judged.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.errors import InputError
from pipeline.store.models import Cluster, Document, Judgement, utcnow
from pipeline.topics.matcher import Matcher


def judge(
    session: Session,
    story: int,
    topic: str,
    *,
    relevant: bool,
    note: str | None,
    known: set[str],
) -> Judgement:
    """Record (or replace) the verdict on ``story`` for ``topic``."""
    if topic not in known:
        raise InputError(f"unknown topic {topic!r} (known: {', '.join(sorted(known))})")
    cluster = session.get(Cluster, story)
    if cluster is None or cluster.origin_document_id is None:
        raise InputError(f"story {story}: no such story (see `newsmon dedup` / the report)")
    doc_id = cluster.origin_document_id
    row = session.scalar(
        select(Judgement).where(Judgement.document_id == doc_id, Judgement.topic_id == topic)
    )
    if row is None:
        row = Judgement(document_id=doc_id, topic_id=topic)
        session.add(row)
    row.cluster_id, row.relevant, row.note, row.judged_at = story, relevant, note, utcnow()
    session.flush()
    return row


def stored_rows(session: Session, topic: str | None = None) -> list[dict[str, object]]:
    """Judged origin documents as labelled rows (the ``topics evaluate`` shape).

    A document judged for several topics is one row; only the judged topics are scored
    (the ``judged`` key lists them), an unjudged topic is neither right nor wrong.
    """
    query = select(Judgement, Document).join(Document, Document.id == Judgement.document_id)
    if topic is not None:
        query = query.where(Judgement.topic_id == topic)
    rows: dict[int, dict[str, object]] = {}
    for j, doc in session.execute(query.order_by(Judgement.id)):
        row = rows.setdefault(
            doc.id,
            {"id": f"story {j.cluster_id or '?'} (document {doc.id})", "title": doc.title,
             "text": doc.text, "language": doc.language, "topics": [], "judged": []},
        )  # fmt: skip
        row["judged"].append(j.topic_id)  # type: ignore[attr-defined]
        if j.relevant:
            row["topics"].append(j.topic_id)  # type: ignore[attr-defined]
    return list(rows.values())


@dataclass(frozen=True)
class Flip:
    """A judged example the topic as now written gets wrong."""

    story: int | None
    document_id: int
    title: str
    relevant: bool  # the analyst's verdict; the topic now says the opposite
    note: str | None


def flips(session: Session, matcher: Matcher, topic: str) -> list[Flip]:
    """Judged examples of ``topic`` whose verdict the current definition contradicts."""
    query = (
        select(Judgement, Document)
        .join(Document, Document.id == Judgement.document_id)
        .where(Judgement.topic_id == topic)
        .order_by(Judgement.id)
    )
    out: list[Flip] = []
    for j, doc in session.execute(query):
        hit = bool(matcher.match(doc.title, doc.text, language=doc.language, topics=[topic]))
        if hit != j.relevant:
            out.append(Flip(j.cluster_id, doc.id, doc.title, j.relevant, j.note))
    return out
