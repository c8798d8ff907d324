"""Read-only summaries of what is stored: totals, stories with outlets, matches per topic."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.store.models import Cluster, Document, Match, Source


@dataclass
class Story:
    """A cluster with its members, origin first."""

    cluster_id: int
    title: str
    origin_source: str | None
    outlets: list[str]
    first_seen_at: datetime
    size: int
    topics: list[str] = field(default_factory=list)


def totals(session: Session) -> dict[str, Any]:
    """Totals the demo and evaluation scripts read."""
    documents = session.scalar(select(func.count(Document.id))) or 0
    stories = session.scalar(select(func.count(Cluster.id))) or 0
    # Folded into another's story = every member of a story but one; this holds whatever order the
    # copies arrived in (a late official origin leaves its earlier copies' duplicate_of pointing
    # at each other, so counting duplicate_of_id would depend on arrival order).
    duplicates = documents - stories
    per_topic = session.execute(
        select(Match.topic_id, func.count(func.distinct(Document.cluster_id)))
        .join(Document, Document.id == Match.document_id)
        .group_by(Match.topic_id)
    )
    return {
        "documents": documents,
        "duplicates": duplicates,
        "stories": stories,
        "matches": {topic: n for topic, n in per_topic},
    }


def stories(
    session: Session, *, limit: int = 50, topic: str | None = None, since: datetime | None = None
) -> list[Story]:
    """Newest stories with their outlets, origin first."""
    q = select(Cluster).order_by(Cluster.first_seen_at.desc(), Cluster.id.desc())
    if topic:
        q = q.where(
            Cluster.id.in_(
                select(Document.cluster_id)
                .join(Match, Match.document_id == Document.id)
                .where(Match.topic_id == topic)
            )
        )
    if since:
        q = q.where(Cluster.first_seen_at >= since)
    out: list[Story] = []
    for cluster in session.scalars(q.limit(limit)):
        rows = session.execute(
            select(Document, Source.name)
            .outerjoin(Source, Source.id == Document.source_id)
            .where(Document.cluster_id == cluster.id)
            .order_by(Document.first_seen_at, Document.id)
        )
        members: list[tuple[Document, str | None]] = [(row[0], row[1]) for row in rows]
        members.sort(key=lambda row: row[0].id != cluster.origin_document_id)
        origin = members[0][0] if members else None
        topic_ids = session.scalars(
            select(func.distinct(Match.topic_id))
            .join(Document, Document.id == Match.document_id)
            .where(Document.cluster_id == cluster.id)
        ).all()
        out.append(
            Story(
                cluster_id=cluster.id,
                title=origin.title if origin else "",
                origin_source=members[0][1] if members else None,
                outlets=[name or "(unknown)" for _, name in members],
                first_seen_at=cluster.first_seen_at,
                size=len(members),
                topics=sorted(topic_ids),
            )
        )
    return out
