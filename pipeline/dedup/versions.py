"""The database side of cross-language linking: ``xl_bands`` rows and the version lookup."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from typing import cast

from sqlalchemy import Table, TextClause, select, text
from sqlalchemy.orm import Session

from pipeline.dedup import attribution, crosslang
from pipeline.dedup.crosslang import Evidence
from pipeline.store.models import Document, Source, XlBand

# Verify at most this many candidates, most shared bands first.
MAX_CANDIDATES = 24
EPOCH = date(1970, 1, 1)


def _aware(value: datetime | None) -> datetime | None:
    """Attach UTC to naive values (SQLite may return them)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def day_of(doc: Document) -> int:
    """Days since 1970 of the document's arrival.

    Arrival, not publication: versions of one statement are fetched within days of each
    other (a backfill fetches an old story's versions together), and a document without
    a date must meet dated ones. Publication times are compared in the verification.
    """
    when = _aware(doc.first_seen_at) or datetime.now(UTC)
    return (when.astimezone(UTC).date() - EPOCH).days


def write_rows(session: Session, doc: Document, buckets: list[int]) -> None:
    """Replace the document's ``xl_bands`` rows."""
    conn = session.connection()
    table = cast(Table, XlBand.__table__)
    conn.execute(table.delete().where(table.c.document_id == doc.id))
    if buckets:
        day = day_of(doc)
        rows = [
            {"document_id": doc.id, "band": band, "bucket": bucket, "day": day}
            for band, bucket in enumerate(buckets)
        ]
        conn.execute(table.insert(), rows)


@cache
def _query() -> TextClause:
    """One indexed (band, bucket, day-range) probe per band, OR-ed (see assign._candidate_query)."""
    terms = " OR ".join(
        f"(band = {i} AND bucket = :b{i} AND day BETWEEN :lo AND :hi)"
        for i in range(crosslang.XL_BANDS)
    )
    return text(
        "SELECT document_id, COUNT(*) AS shared FROM xl_bands "
        f"WHERE ({terms}) AND document_id != :doc "
        "GROUP BY document_id ORDER BY shared DESC, document_id LIMIT :limit"
    )


def _candidates(session: Session, doc: Document, buckets: list[int]) -> list[int]:
    """Stored documents of nearby days sharing a band bucket, most shared first."""
    if len(buckets) != crosslang.XL_BANDS:
        return []
    day = day_of(doc)
    params: dict[str, int] = {f"b{i}": bucket for i, bucket in enumerate(buckets)}
    params.update(
        doc=doc.id,
        lo=day - crosslang.XL_WINDOW_DAYS,
        hi=day + crosslang.XL_WINDOW_DAYS,
        limit=MAX_CANDIDATES,
    )
    return [row[0] for row in session.execute(_query(), params)]


def language_of(doc: Document) -> str:
    """The document's language (stored or declared), else its script's guess."""
    return crosslang.base_language(doc.language, f"{doc.title or ''}\n{doc.text or ''}")


# Evidence of stored documents, by (id, content hash, title): the same recent documents are the
# candidates of many new ones, and computing evidence is the costly part of a comparison.
_EVIDENCE: OrderedDict[tuple[int, str | None, str | None], Evidence] = OrderedDict()
_EVIDENCE_MAX = 4096


def remember(doc: Document, ev: Evidence) -> None:
    """Cache the evidence of a document just fingerprinted (of its current title and text)."""
    key = (doc.id, doc.content_hash, doc.title)
    _EVIDENCE[key] = ev
    _EVIDENCE.move_to_end(key)
    if len(_EVIDENCE) > _EVIDENCE_MAX:
        _EVIDENCE.popitem(last=False)


def _stored_evidence(doc: Document) -> Evidence:
    """The evidence of a stored document, cached while its title and text are unchanged."""
    hit = _EVIDENCE.get((doc.id, doc.content_hash, doc.title))
    if hit is None:
        hit = crosslang.evidence(doc.title or "", doc.text or "")
    remember(doc, hit)
    return hit


@lru_cache(maxsize=1024)
def _organisation(key: str | None, label: str | None, name: str) -> str | None:
    """The organisation of a source's key, label or name (the table lookup, cached)."""
    return attribution.organisation(key, label, name)


def publisher(session: Session, doc: Document) -> str | None:
    """The organisation that published ``doc``: its source's, else the source itself."""
    source = session.get(Source, doc.source_id) if doc.source_id is not None else None
    if source is None:
        return None
    config = source.config or {}
    key, label = config.get("organisation"), config.get("label")
    found = _organisation(
        key if isinstance(key, str) else None,
        label if isinstance(label, str) else None,
        source.name,
    )
    return found or f"source:{source.id}"


def tie(
    session: Session, doc: Document, ev: Evidence, other: Document, other_ev: Evidence
) -> crosslang.Tie | None:
    """How the publishers of two dated documents are tied, when their times fit the tie.

    One publisher's versions come out within XL_PUBLISHER_HOURS of each other; a re-report
    naming the other's publisher as its source within XL_ATTRIBUTED_HOURS after it.
    """
    when, other_when = _aware(doc.published_at), _aware(other.published_at)
    if when is None or other_when is None:
        return None
    mine, theirs = publisher(session, doc), publisher(session, other)
    if mine is None or theirs is None:
        return None
    later = (when - other_when).total_seconds() / 3600  # > 0: ``doc`` came out after ``other``
    if mine == theirs:
        return "publisher" if abs(later) <= crosslang.XL_PUBLISHER_HOURS else None
    window = -crosslang.XL_ATTRIBUTED_SLACK_HOURS, crosslang.XL_ATTRIBUTED_HOURS
    if theirs in ev.named and window[0] <= later <= window[1]:
        return "attributed"  # ``doc`` retells ``other``
    if mine in other_ev.named and window[0] <= -later <= window[1]:
        return "attributed"  # ``other`` retold ``doc`` (the source's page came later)
    return None


def find_versions(
    session: Session, doc: Document, ev: Evidence, buckets: list[int]
) -> list[tuple[Document, float]]:
    """Stored versions of ``doc`` in other languages, best evidence first."""
    ids = _candidates(session, doc, buckets)
    if not ids:
        return []
    mine = language_of(doc)
    found = []
    others = session.scalars(
        select(Document).where(Document.id.in_(ids), Document.cluster_id.is_not(None))
    ).all()
    for other in others:
        if language_of(other) == mine:
            continue  # same language: the shingle verification has judged the words
        other_ev = _stored_evidence(other)
        score = crosslang.related(
            ev,
            other_ev,
            when_a=_aware(doc.published_at),
            when_b=_aware(other.published_at),
            tie=tie(session, doc, ev, other, other_ev),
        )
        if score is not None:
            found.append((other, score))
    found.sort(key=lambda pair: (-pair[1], pair[0].id))
    return found
