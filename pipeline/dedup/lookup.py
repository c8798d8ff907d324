"""Where a document's copies are: fingerprints, band rows and the copy lookups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import cast

from sqlalchemy import Table, TextClause, select, text
from sqlalchemy.orm import Session

from pipeline.dedup import crosslang, sketch, versions
from pipeline.dedup.text import Shingles, content_of
from pipeline.dedup.verify import Verdict, compare
from pipeline.store.models import Cluster, Document, LshBand

# Verify at most this many LSH candidates, best band agreement first: the cost of
# one assignment stays bounded however many stored documents share a bucket.
MAX_CANDIDATES = 24
# Exact-hash matches looked at (all in one cluster in practice).
MAX_EXACT = 8
# Texts shorter than this ("Photo", "Video", "Read more") copy nothing and are copied
# by nothing, even when equal: they start their own story.
MIN_WORDS = 8


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


def aware(value: datetime | None) -> datetime | None:
    """Attach UTC to naive values (SQLite and fresh objects may carry none)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def seen_key(value: datetime | None) -> datetime:
    """Sort key for possibly naive or missing timestamps (missing sorts last)."""
    return aware(value) or datetime.max.replace(tzinfo=UTC)


def write_bands(session: Session, doc: Document, fp: Fingerprint) -> None:
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
    # Later documents weigh this one as a candidate: its evidence is known already.
    versions.remember(doc, fp.evidence)


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


def shingles_of(doc: Document) -> Shingles:
    """Shingles of a stored document's current text."""
    return content_of(doc.title or "", doc.text or "").shingled()


def is_later(doc: Document, other: Document) -> bool:
    """Whether ``doc`` came out after ``other``: by publication time when both have one.

    Without both dates the order of arrival stands (``doc`` is being placed now).
    """
    mine, theirs = aware(doc.published_at), aware(other.published_at)
    if mine is None or theirs is None or mine == theirs:
        return True
    return mine > theirs


def near(session: Session, doc: Document, fp: Fingerprint) -> list[tuple[Document, Verdict]]:
    """Verified copies among the LSH candidates, highest Jaccard first."""
    ids = _candidates(session, doc.id, fp.buckets) if fp.words >= MIN_WORDS else []
    if not ids:
        return []
    docs = session.scalars(
        select(Document).where(Document.id.in_(ids), Document.cluster_id.is_not(None))
    ).all()
    found = []
    for other in docs:
        verdict = compare(fp.shingles, shingles_of(other), new_is_later=is_later(doc, other))
        if verdict.copy:
            found.append((other, verdict))
    found.sort(key=lambda pair: (-pair[1].jaccard, pair[0].id))
    return found


def exact(session: Session, doc: Document, fp: Fingerprint) -> Document | None:
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
