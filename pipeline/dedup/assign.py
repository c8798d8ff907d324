"""Put a stored document into its story (cluster): exact hash, then LSH + verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Literal, cast

from sqlalchemy import Table, TextClause, select, text, update
from sqlalchemy.orm import Session

from pipeline.dedup import crosslang, sketch, versions
from pipeline.dedup.text import Shingles, content_of
from pipeline.dedup.verify import Verdict, compare
from pipeline.store.models import OFFICIAL_TYPES, Cluster, Document, LshBand, Source

# "version": the same statement in another language (a translation or a re-report).
Kind = Literal["new", "exact", "near", "version"]
# Verify at most this many LSH candidates, best band agreement first: the cost of
# one assignment stays bounded however many stored documents share a bucket.
MAX_CANDIDATES = 24
# Exact-hash matches looked at (all in one cluster in practice).
MAX_EXACT = 8
# Texts shorter than this ("Photo", "Video", "Read more") copy nothing and are copied
# by nothing, even when equal: they start their own story.
MIN_WORDS = 8


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


@dataclass(frozen=True)
class Fingerprint:
    """What dedup computes from a document's text (see :func:`fingerprint`)."""

    content_hash: str
    words: int
    shingles: Shingles
    minhash: bytes | None
    buckets: list[int]
    # Language-independent evidence and its ``xl_bands`` buckets (cross-language linking).
    evidence: crosslang.Evidence
    xl_buckets: list[int]


def fingerprint(title: str, text: str) -> Fingerprint:
    """Content hash, shingles, MinHash bytes and band buckets of a title and body.

    Public for bulk loaders (benchmarks, re-indexing) that write ``documents`` and
    ``lsh_bands`` rows themselves: they must store exactly what :func:`assign` would.
    """
    content = content_of(title, text)
    shingles = content.shingled()
    mh = sketch.signature(shingles.seq)
    words = len(content.words)
    ev = crosslang.evidence(title, text)
    xl = crosslang.xl_buckets(ev)
    if mh is None:
        return Fingerprint(content.digest(), words, shingles, None, [], ev, xl)
    minhash, buckets = sketch.to_bytes(mh), sketch.buckets(mh)
    return Fingerprint(content.digest(), words, shingles, minhash, buckets, ev, xl)


def _aware(value: datetime | None) -> datetime | None:
    """Attach UTC to naive values (SQLite and fresh objects may carry none)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _seen_key(value: datetime | None) -> datetime:
    """Sort key for possibly naive or missing timestamps (missing sorts last)."""
    return _aware(value) or datetime.max.replace(tzinfo=UTC)


def _get_doc(session: Session, doc_id: int | None) -> Document | None:
    """The document with ``doc_id``, or None."""
    return session.get(Document, doc_id) if doc_id is not None else None


def _is_official(session: Session, doc: Document) -> bool:
    """Whether the document's source is a ministry or a government."""
    if doc.source_id is None:
        return False
    source = session.get(Source, doc.source_id)
    return source is not None and source.type in OFFICIAL_TYPES


def _origin_key(session: Session, doc: Document) -> tuple[bool, datetime, datetime, int]:
    """Sort key of a cluster's origin: official first, then earliest published, seen, id."""
    seen = _seen_key(doc.first_seen_at)
    when = _aware(doc.published_at) or seen
    return (not _is_official(session, doc), when, seen, doc.id)


def _write_bands(session: Session, doc: Document, fp: Fingerprint) -> None:
    """Replace the document's LSH rows with the buckets of its current text."""
    conn = session.connection()
    table = cast(Table, LshBand.__table__)
    conn.execute(table.delete().where(table.c.document_id == doc.id))
    if fp.buckets:
        rows = [
            {"document_id": doc.id, "band": band, "bucket": bucket}
            for band, bucket in enumerate(fp.buckets)
        ]
        conn.execute(table.insert(), rows)
    versions.write_rows(session, doc, fp.xl_buckets)


@cache
def _candidate_query() -> TextClause:
    """The LSH lookup, built once: one (band = i AND bucket = :bi) term per band.

    One indexed lookup per band on (band, bucket): the cost depends on the number
    of bands and of true neighbours, not on how many documents are stored. The
    pairs are OR-ed rather than written as a row-value IN because SQLite plans
    ``(band, bucket) IN (VALUES ...)`` as a table scan but uses the index for each
    OR term; PostgreSQL turns the ORs into a bitmap OR of index scans. Written as
    text because building 48 ORM comparisons per document cost more than the query.
    """
    terms = " OR ".join(f"(band = {i} AND bucket = :b{i})" for i in range(sketch.BANDS))
    return text(
        "SELECT document_id, COUNT(*) AS shared FROM lsh_bands "
        f"WHERE ({terms}) AND document_id != :doc "
        "GROUP BY document_id ORDER BY shared DESC, document_id LIMIT :limit"
    )


def _candidates(session: Session, doc_id: int, buckets: list[int]) -> list[int]:
    """Stored documents sharing at least one band bucket, most shared bands first."""
    if len(buckets) != sketch.BANDS:
        return []
    params: dict[str, int] = {f"b{i}": bucket for i, bucket in enumerate(buckets)}
    params.update(doc=doc_id, limit=MAX_CANDIDATES)
    return [row[0] for row in session.execute(_candidate_query(), params)]


def _shingles_of(doc: Document) -> Shingles:
    """Shingles of a stored document's current text."""
    return content_of(doc.title or "", doc.text or "").shingled()


def _is_later(doc: Document, other: Document) -> bool:
    """Whether ``doc`` came out after ``other``: by publication time when both have one.

    Without both dates the order of arrival stands (``doc`` is being placed now).
    """
    mine, theirs = _aware(doc.published_at), _aware(other.published_at)
    if mine is None or theirs is None or mine == theirs:
        return True
    return mine > theirs


def _near(session: Session, doc: Document, fp: Fingerprint) -> list[tuple[Document, Verdict]]:
    """Verified copies among the LSH candidates, highest Jaccard first."""
    ids = _candidates(session, doc.id, fp.buckets) if fp.words >= MIN_WORDS else []
    if not ids:
        return []
    docs = session.scalars(
        select(Document).where(Document.id.in_(ids), Document.cluster_id.is_not(None))
    ).all()
    found = []
    for other in docs:
        verdict = compare(fp.shingles, _shingles_of(other), new_is_later=_is_later(doc, other))
        if verdict.copy:
            found.append((other, verdict))
    found.sort(key=lambda pair: (-pair[1].jaccard, pair[0].id))
    return found


def _exact(session: Session, doc: Document, fp: Fingerprint) -> Document | None:
    """The earliest stored document with the same content hash (origins preferred)."""
    if fp.words < MIN_WORDS:
        return None
    docs = session.scalars(
        select(Document)
        .where(
            Document.content_hash == fp.content_hash,
            Document.id != doc.id,
            Document.cluster_id.is_not(None),
        )
        .order_by(Document.id)
        .limit(MAX_EXACT)
    ).all()
    if not docs:
        return None
    origins = {
        c.origin_document_id
        for c in session.scalars(
            select(Cluster).where(Cluster.id.in_({d.cluster_id for d in docs}))
        )
    }
    return next((d for d in docs if d.id in origins), docs[0])


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
    verdict = compare(fp.shingles, _shingles_of(origin), new_is_later=_is_later(doc, origin))
    if verdict.copy:
        return origin, 1.0 if origin.content_hash == fp.content_hash else verdict.jaccard
    return matched, similarity


def _join(session: Session, doc: Document, cluster: Cluster) -> None:
    """Add ``doc`` to ``cluster``: size, first-seen time and origin."""
    doc.cluster_id = cluster.id
    cluster.size = (cluster.size or 0) + 1
    seen = _aware(doc.first_seen_at)
    if seen is not None and seen < (_aware(cluster.first_seen_at) or seen):
        cluster.first_seen_at = seen
    cluster.updated_at = datetime.now(UTC)
    origin = _get_doc(session, cluster.origin_document_id)
    if origin is None or _origin_key(session, doc) < _origin_key(session, origin):
        cluster.origin_document_id = doc.id


def _new_cluster(session: Session, doc: Document) -> Cluster:
    """Start a story with ``doc`` as its only member and origin."""
    seen = _aware(doc.first_seen_at) or datetime.now(UTC)
    cluster = Cluster(origin_document_id=doc.id, size=1, first_seen_at=seen, updated_at=seen)
    session.add(cluster)
    session.flush()
    doc.cluster_id = cluster.id
    return cluster


def _merge(session: Session, target: Cluster, others: list[Cluster]) -> None:
    """Fold ``others`` into ``target``: a document that copies both shows they are one story."""
    for other in others:
        session.execute(
            update(Document).where(Document.cluster_id == other.id).values(cluster_id=target.id)
        )
        target.size = (target.size or 0) + (other.size or 0)
        target.first_seen_at = min(target.first_seen_at, other.first_seen_at, key=_seen_key)
        mine = _get_doc(session, target.origin_document_id)
        theirs = _get_doc(session, other.origin_document_id)
        if theirs is not None and (
            mine is None or _origin_key(session, theirs) < _origin_key(session, mine)
        ):
            target.origin_document_id = theirs.id
        session.delete(other)
    session.flush()


def _place(session: Session, doc: Document, fp: Fingerprint) -> DedupResult:
    """Find the story of an unassigned document and record it."""
    kind: Kind
    merged: tuple[int, ...] = ()
    exact = _exact(session, doc, fp)
    if exact is not None:
        matched, similarity, kind = exact, 1.0, "exact"
        cluster = session.get(Cluster, matched.cluster_id)
    else:
        near = _near(session, doc, fp)
        if not near:
            found = versions.find_versions(session, doc, fp.evidence, fp.xl_buckets)
            if found:
                return _join_version(session, doc, found[0][0], found[0][1])
            cluster = _new_cluster(session, doc)
            doc.duplicate_of_id, doc.similarity = None, None
            session.flush()
            return DedupResult(cluster.id, None, None, "new", doc.id)
        matched, similarity, kind = near[0][0], near[0][1].jaccard, "near"
        cluster = session.get(Cluster, matched.cluster_id)
        other_ids = {d.cluster_id for d, _ in near} - {matched.cluster_id, None}
        if cluster is not None and other_ids:
            others = list(session.scalars(select(Cluster).where(Cluster.id.in_(other_ids))))
            _merge(session, cluster, others)
            merged = tuple(sorted(c.id for c in others))
    if cluster is None:  # a dangling cluster id: treat the document as new
        cluster = _new_cluster(session, doc)
        session.flush()
        return DedupResult(cluster.id, None, None, "new", doc.id)
    dup, similarity = _prefer_origin(session, doc, cluster, matched, fp, similarity)
    doc.duplicate_of_id, doc.similarity = dup.id, round(similarity, 4)
    _join(session, doc, cluster)
    session.flush()
    origin = cluster.origin_document_id or doc.id
    return DedupResult(cluster.id, dup.id, doc.similarity, kind, origin, merged)


def _join_version(session: Session, doc: Document, other: Document, score: float) -> DedupResult:
    """Put ``doc`` into the story of ``other``, its version in another language."""
    cluster = session.get(Cluster, other.cluster_id)
    if cluster is None:  # a dangling cluster id: treat the document as new
        cluster = _new_cluster(session, doc)
        session.flush()
        return DedupResult(cluster.id, None, None, "new", doc.id)
    doc.duplicate_of_id, doc.similarity = other.id, round(score, 4)
    _join(session, doc, cluster)
    session.flush()
    origin = cluster.origin_document_id or doc.id
    return DedupResult(cluster.id, other.id, doc.similarity, "version", origin)


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


def _detach(session: Session, doc: Document) -> None:
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
    origin = min(members, key=lambda d: _origin_key(session, d))
    cluster.size = len(members)
    cluster.origin_document_id = origin.id
    cluster.updated_at = datetime.now(UTC)
    # Copies that pointed at the departing document now point at the origin.
    for member in members:
        if member.duplicate_of_id == doc.id:
            member.duplicate_of_id = None if member.id == origin.id else origin.id
    session.flush()


def _still_matches(session: Session, doc: Document, fp: Fingerprint) -> bool:
    """Whether an updated copy still verifies against its duplicate_of or cluster origin."""
    cluster = session.get(Cluster, doc.cluster_id) if doc.cluster_id else None
    targets = {doc.duplicate_of_id, cluster.origin_document_id if cluster else None}
    for target_id in targets - {doc.id}:
        other = _get_doc(session, target_id)
        later = other is not None and _is_later(doc, other)
        if other is not None and compare(fp.shingles, _shingles_of(other), new_is_later=later).copy:
            return True
    return False


def assign(session: Session, doc: Document) -> DedupResult:
    """Put a flushed document into its story; idempotent.

    Exact content-hash match, else a verified LSH near match, else a new
    cluster. Sets ``cluster_id``, ``duplicate_of_id``, ``similarity``,
    ``content_hash`` and ``minhash``, writes the document's ``lsh_bands`` rows and
    keeps the cluster's size, first-seen time and origin; a document that copies
    members of two clusters merges them. Called again for an assigned document
    whose text is unchanged it changes nothing. After a text update it refreshes
    the signature and bands and keeps the cluster, except that a copy that no
    longer matches what it copied, or a story of one that now copies another, is
    placed afresh.
    """
    if doc.id is None:
        session.flush()
    fp = fingerprint(doc.title or "", doc.text or "")
    if doc.cluster_id is None:
        doc.content_hash, doc.minhash = fp.content_hash, fp.minhash
        _write_bands(session, doc, fp)
        return _place(session, doc, fp)
    if doc.minhash == fp.minhash and doc.content_hash == fp.content_hash:
        return _current(session, doc)
    # The text changed (re-extraction, an edited page): new signature and bands.
    doc.content_hash, doc.minhash = fp.content_hash, fp.minhash
    _write_bands(session, doc, fp)
    if doc.duplicate_of_id is not None:
        if _still_matches(session, doc, fp):
            return _current(session, doc)
    else:
        cluster = session.get(Cluster, doc.cluster_id)
        alone = cluster is None or cluster.size <= 1
        # A story of its own may now turn out to copy another; an origin with
        # copies keeps its story (they copied it, whatever it says now).
        if not alone or (_exact(session, doc, fp) is None and not _near(session, doc, fp)):
            return _current(session, doc)
    _detach(session, doc)
    return _place(session, doc, fp)


# Former private name, still imported by scripts/bench_scale.py.
_fingerprint = fingerprint


def reassign(session: Session, doc: Document) -> DedupResult:
    """Re-run dedup after ``doc``'s text changed (the same as :func:`assign`)."""
    return assign(session, doc)
