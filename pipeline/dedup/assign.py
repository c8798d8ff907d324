"""Put a stored document into its story (cluster): exact hash, then LSH + verification.

The lookups live in ``lookup`` (fingerprints, band rows, exact and near copies), the
cluster bookkeeping in ``clusters``, cross-language versions in ``versions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.dedup import versions
from pipeline.dedup.clusters import detach, get_doc, join, merge, new_cluster
from pipeline.dedup.lookup import (
    Fingerprint,
    exact,
    fingerprint,
    is_later,
    near,
    shingles_of,
    write_bands,
)
from pipeline.dedup.verify import compare
from pipeline.store.models import Cluster, Document

__all__ = ["DedupResult", "Fingerprint", "Kind", "assign", "fingerprint", "reassign"]

# "version": the same statement in another language (a translation or a re-report).
Kind = Literal["new", "exact", "near", "version"]


@dataclass(frozen=True)
class DedupResult:
    """Where a document landed.

    ``duplicate_of`` is the stored document it was matched to when it arrived
    (the cluster origin when that one matches too), None for a new story.
    ``similarity`` is the shingle Jaccard with ``duplicate_of`` (1.0 for exact).
    ``origin_id`` is the cluster's origin after this assignment.
    """

    cluster_id: int
    duplicate_of: int | None
    similarity: float | None
    kind: Kind
    origin_id: int
    # Clusters folded into this one because the document copies members of each.
    merged_clusters: tuple[int, ...] = ()


def _prefer_origin(
    session: Session,
    doc: Document,
    cluster: Cluster,
    matched: Document,
    fp: Fingerprint,
    similarity: float,
) -> tuple[Document, float]:
    """Point duplicate_of at the cluster's origin when the document copies it too."""
    origin_id = cluster.origin_document_id
    if origin_id is None or origin_id == matched.id:
        return matched, similarity
    origin = session.get(Document, origin_id)
    if origin is None:
        return matched, similarity
    verdict = compare(fp.shingles, shingles_of(origin), new_is_later=is_later(doc, origin))
    if verdict.copy:
        return origin, 1.0 if origin.content_hash == fp.content_hash else verdict.jaccard
    return matched, similarity


def _place(session: Session, doc: Document, fp: Fingerprint) -> DedupResult:
    """Find the story of an unassigned document and record it."""
    kind: Kind
    merged: tuple[int, ...] = ()
    same = exact(session, doc, fp)
    if same is not None:
        matched, similarity, kind = same, 1.0, "exact"
        cluster = session.get(Cluster, matched.cluster_id)
    else:
        copies = near(session, doc, fp)
        if not copies:
            found = versions.find_versions(session, doc, fp.evidence, fp.xl_buckets)
            if found:
                return _join_version(session, doc, found)
            cluster = new_cluster(session, doc)
            doc.duplicate_of_id, doc.similarity = None, None
            session.flush()
            return DedupResult(cluster.id, None, None, "new", doc.id)
        matched, similarity, kind = copies[0][0], copies[0][1].jaccard, "near"
        cluster = session.get(Cluster, matched.cluster_id)
        other_ids = {d.cluster_id for d, _ in copies} - {matched.cluster_id, None}
        if cluster is not None and other_ids:
            others = list(session.scalars(select(Cluster).where(Cluster.id.in_(other_ids))))
            merge(session, cluster, others)
            merged = tuple(sorted(c.id for c in others))
    if cluster is None:  # a dangling cluster id: treat the document as new
        cluster = new_cluster(session, doc)
        session.flush()
        return DedupResult(cluster.id, None, None, "new", doc.id)
    dup, similarity = _prefer_origin(session, doc, cluster, matched, fp, similarity)
    doc.duplicate_of_id, doc.similarity = dup.id, round(similarity, 4)
    join(session, doc, cluster)
    session.flush()
    # A copy may also be the first document of its story to meet a version stored earlier in
    # another language (an agency's report that arrived before the ministry's own page): the
    # stories of such versions join this one.
    found = versions.find_versions(session, doc, fp.evidence, fp.xl_buckets)
    merged = tuple(sorted({*merged, *_merge_versions(session, cluster, found)}))
    origin = cluster.origin_document_id or doc.id
    return DedupResult(cluster.id, dup.id, doc.similarity, kind, origin, merged)


def _merge_versions(
    session: Session, cluster: Cluster, found: list[tuple[Document, float]]
) -> tuple[int, ...]:
    """Fold into ``cluster`` every other story holding a version of its new document.

    A document that is a version of two stories shows they tell one statement, as a copy of
    two does; so the stories come out the same whichever of them was stored first.
    """
    ids = {d.cluster_id for d, _ in found} - {cluster.id, None}
    if not ids:
        return ()
    others = list(session.scalars(select(Cluster).where(Cluster.id.in_(ids))))
    merge(session, cluster, others)
    return tuple(sorted(c.id for c in others))


def _join_version(
    session: Session, doc: Document, found: list[tuple[Document, float]]
) -> DedupResult:
    """Put ``doc`` into the story of its best version in another language (``found[0]``)."""
    other, score = found[0]
    cluster = session.get(Cluster, other.cluster_id)
    if cluster is None:  # a dangling cluster id: treat the document as new
        cluster = new_cluster(session, doc)
        session.flush()
        return DedupResult(cluster.id, None, None, "new", doc.id)
    doc.duplicate_of_id, doc.similarity = other.id, round(score, 4)
    join(session, doc, cluster)
    session.flush()
    merged = _merge_versions(session, cluster, found)
    origin = cluster.origin_document_id or doc.id
    return DedupResult(cluster.id, other.id, doc.similarity, "version", origin, merged)


def _current(session: Session, doc: Document) -> DedupResult:
    """The stored assignment of an already assigned document, unchanged."""
    assert doc.cluster_id is not None
    cluster = session.get(Cluster, doc.cluster_id)
    origin = cluster.origin_document_id if cluster and cluster.origin_document_id else doc.id
    kind: Kind = "new"
    if doc.duplicate_of_id is not None:
        dup = session.get(Document, doc.duplicate_of_id)
        kind = "exact" if dup is not None and dup.content_hash == doc.content_hash else "near"
    return DedupResult(doc.cluster_id, doc.duplicate_of_id, doc.similarity, kind, origin)


def _still_matches(session: Session, doc: Document, fp: Fingerprint) -> bool:
    """Whether an updated copy still verifies against its duplicate_of or cluster origin."""
    cluster = session.get(Cluster, doc.cluster_id) if doc.cluster_id else None
    targets = {doc.duplicate_of_id, cluster.origin_document_id if cluster else None}
    for target_id in targets - {doc.id}:
        other = get_doc(session, target_id)
        later = other is not None and is_later(doc, other)
        if other is not None and compare(fp.shingles, shingles_of(other), new_is_later=later).copy:
            return True
    return False


def assign(session: Session, doc: Document, fp: Fingerprint | None = None) -> DedupResult:
    """Put a flushed document into its story; idempotent.

    Exact content-hash match, else a verified LSH near match, else a new
    cluster. Sets ``cluster_id``, ``duplicate_of_id``, ``similarity``,
    ``content_hash`` and ``minhash``, writes the document's ``lsh_bands`` rows and
    keeps the cluster's size, first-seen time and origin; a document that copies
    members of two clusters merges them. Called again for an assigned document
    whose text is unchanged it changes nothing. After a text update it refreshes
    the signature and bands and keeps the cluster, except that a copy that no
    longer matches what it copied, or a story of one that now copies another, is
    placed afresh. ``fp`` is the fingerprint of the document's current title and text when
    the caller has it already.
    """
    if doc.id is None:
        session.flush()
    # A fingerprint computed elsewhere (the process stage's workers) must be of this text.
    fp = fp or fingerprint(doc.title or "", doc.text or "")
    if doc.cluster_id is None:
        doc.content_hash, doc.minhash = fp.content_hash, fp.minhash
        write_bands(session, doc, fp)
        return _place(session, doc, fp)
    if doc.minhash == fp.minhash and doc.content_hash == fp.content_hash:
        return _current(session, doc)
    # The text changed (re-extraction, an edited page): new signature and bands.
    doc.content_hash, doc.minhash = fp.content_hash, fp.minhash
    write_bands(session, doc, fp)
    if doc.duplicate_of_id is not None:
        if _still_matches(session, doc, fp):
            return _current(session, doc)
    else:
        cluster = session.get(Cluster, doc.cluster_id)
        alone = cluster is None or cluster.size <= 1
        # A story of its own may now turn out to copy another; an origin with
        # copies keeps its story (they copied it, whatever it says now).
        if not alone or (exact(session, doc, fp) is None and not near(session, doc, fp)):
            return _current(session, doc)
    detach(session, doc)
    return _place(session, doc, fp)


# Former private name, still imported by scripts/bench_scale.py.
_fingerprint = fingerprint


def reassign(session: Session, doc: Document) -> DedupResult:
    """Re-run dedup after ``doc``'s text changed (the same as :func:`assign`)."""
    return assign(session, doc)
