"""A story's bookkeeping: joining, starting, merging and leaving clusters, and the origin."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline.dedup.lookup import aware, seen_key
from pipeline.store.models import OFFICIAL_TYPES, Cluster, Document, Source


def get_doc(session: Session, doc_id: int | None) -> Document | None:
    """The document with ``doc_id``, or None."""
    return session.get(Document, doc_id) if doc_id is not None else None


def _is_official(session: Session, doc: Document) -> bool:
    """Whether the document's source is a ministry or a government."""
    if doc.source_id is None:
        return False
    source = session.get(Source, doc.source_id)
    return source is not None and source.type in OFFICIAL_TYPES


def origin_key(session: Session, doc: Document) -> tuple[bool, datetime, str, datetime, int]:
    """Sort key of a cluster's origin: official first, then earliest published, URL, seen, id.

    Language versions published at the same minute tie on the date; the URL (not the order in
    which a parallel crawl happened to store them) decides, so every run picks the same origin.
    """
    seen = seen_key(doc.first_seen_at)
    published = aware(doc.published_at)
    when = published or seen
    return (not _is_official(session, doc), when, doc.url if published else "", seen, doc.id)


def join(session: Session, doc: Document, cluster: Cluster) -> None:
    """Add ``doc`` to ``cluster``: size, first-seen time and origin."""
    doc.cluster_id = cluster.id
    cluster.size = (cluster.size or 0) + 1
    seen = aware(doc.first_seen_at)
    if seen is not None and seen < (aware(cluster.first_seen_at) or seen):
        cluster.first_seen_at = seen
    cluster.updated_at = datetime.now(UTC)
    origin = get_doc(session, cluster.origin_document_id)
    if origin is None or origin_key(session, doc) < origin_key(session, origin):
        cluster.origin_document_id = doc.id


def new_cluster(session: Session, doc: Document) -> Cluster:
    """Start a story with ``doc`` as its only member and origin."""
    seen = aware(doc.first_seen_at) or datetime.now(UTC)
    cluster = Cluster(origin_document_id=doc.id, size=1, first_seen_at=seen, updated_at=seen)
    session.add(cluster)
    session.flush()
    doc.cluster_id = cluster.id
    return cluster


def merge(session: Session, target: Cluster, others: list[Cluster]) -> None:
    """Fold ``others`` into ``target``: a document that copies both shows they are one story."""
    for other in others:
        session.execute(
            update(Document).where(Document.cluster_id == other.id).values(cluster_id=target.id)
        )
        target.size = (target.size or 0) + (other.size or 0)
        target.first_seen_at = min(target.first_seen_at, other.first_seen_at, key=seen_key)
        mine = get_doc(session, target.origin_document_id)
        theirs = get_doc(session, other.origin_document_id)
        if theirs is not None and (
            mine is None or origin_key(session, theirs) < origin_key(session, mine)
        ):
            target.origin_document_id = theirs.id
        session.delete(other)
    session.flush()


def detach(session: Session, doc: Document) -> None:
    """Take ``doc`` out of its cluster, fixing the cluster's size, origin and pointers."""
    cluster = session.get(Cluster, doc.cluster_id) if doc.cluster_id else None
    doc.cluster_id, doc.duplicate_of_id, doc.similarity = None, None, None
    session.flush()
    if cluster is None:
        return
    members = session.scalars(select(Document).where(Document.cluster_id == cluster.id)).all()
    if not members:
        session.delete(cluster)
        session.flush()
        return
    origin = min(members, key=lambda d: origin_key(session, d))
    cluster.size = len(members)
    cluster.origin_document_id = origin.id
    cluster.updated_at = datetime.now(UTC)
    # Copies that pointed at the departing document now point at the origin.
    for member in members:
        if member.duplicate_of_id == doc.id:
            member.duplicate_of_id = None if member.id == origin.id else origin.id
    session.flush()
