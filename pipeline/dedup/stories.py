"""Stories: clusters with their members and outlets, origin first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from pipeline.store.models import Cluster, Document, Match, Source


@dataclass(frozen=True)
class Member:
    """One document of a story, with its outlet."""

    document_id: int
    title: str
    url: str
    source: str | None
    source_type: str | None
    first_seen_at: datetime
    published_at: datetime | None
    duplicate_of: int | None
    similarity: float | None
    is_origin: bool


@dataclass(frozen=True)
class Story:
    """A cluster: its origin first, then the other members by first-seen time."""

    cluster_id: int
    size: int
    first_seen_at: datetime
    updated_at: datetime
    members: list[Member]

    @property
    def origin(self) -> Member:
        """The origin member (official source, else earliest)."""
        return self.members[0]

    @property
    def outlets(self) -> list[str]:
        """Distinct source names, origin's first."""
        seen: list[str] = []
        for m in self.members:
            name = m.source or "(no source)"
            if name not in seen:
                seen.append(name)
        return seen


def stories(
    session: Session,
    *,
    since: datetime | None = None,
    topic: str | None = None,
    min_size: int = 1,
    limit: int | None = 50,
) -> list[Story]:
    """Clusters, most recently updated first.

    ``since``: clusters with a member first seen at or after it. ``topic``:
    clusters with a member matched to that topic id. ``min_size``: skip smaller clusters.
    """
    stmt = select(Cluster).where(Cluster.size >= min_size)
    if since is not None:
        stmt = stmt.where(
            exists().where(Document.cluster_id == Cluster.id, Document.first_seen_at >= since)
        )
    if topic is not None:
        stmt = stmt.where(
            exists()
            .where(Document.cluster_id == Cluster.id, Match.document_id == Document.id)
            .where(Match.topic_id == topic)
        )
    stmt = stmt.order_by(Cluster.updated_at.desc(), Cluster.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    clusters = session.scalars(stmt).all()
    if not clusters:
        return []
    rows = session.execute(
        select(Document, Source.name, Source.type)
        .outerjoin(Source, Source.id == Document.source_id)
        .where(Document.cluster_id.in_([c.id for c in clusters]))
    ).all()
    by_cluster: dict[int, list[Member]] = {c.id: [] for c in clusters}
    origins = {c.id: c.origin_document_id for c in clusters}
    for doc, source_name, source_type in rows:
        assert doc.cluster_id is not None
        by_cluster[doc.cluster_id].append(
            Member(
                document_id=doc.id,
                title=doc.title,
                url=doc.url,
                source=source_name,
                source_type=source_type,
                first_seen_at=doc.first_seen_at,
                published_at=doc.published_at,
                duplicate_of=doc.duplicate_of_id,
                similarity=doc.similarity,
                is_origin=doc.id == origins[doc.cluster_id],
            )
        )
    out = []
    for c in clusters:
        members = sorted(
            by_cluster[c.id], key=lambda m: (not m.is_origin, m.first_seen_at, m.document_id)
        )
        out.append(Story(c.id, c.size, c.first_seen_at, c.updated_at, members))
    return out
