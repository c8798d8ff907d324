"""Storage stage: raw pages in, deduplicated and matched documents out.

Each page is handled in its own transaction and ends with exactly one counted
:class:`~pipeline.errors.Outcome`. Every write is an upsert keyed by a unique
constraint, so re-running an ingest, a day or a backfill changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipeline import clean, dedup, topics
from pipeline.clean import Article
from pipeline.errors import ExtractionError, Outcome
from pipeline.store.db import serialize_writers
from pipeline.store.models import Document, Page, Source, utcnow
from pipeline.store.pages import decompress
from pipeline.store.runs import RunTally
from pipeline.text.normalize import search_key
from pipeline.text.urls import canonical_url, url_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreResult:
    """What storing one article did."""

    outcome: Outcome
    document_id: int | None
    cluster_id: int | None = None
    matched_topics: tuple[str, ...] = ()


def process_page(
    session: Session,
    page: Page,
    *,
    source: Source | None,
    tally: RunTally | None,
    run_id: int | None = None,
) -> StoreResult:
    """Extract, store, dedupe and match one fetched page; marks the page processed."""
    # Naive dates printed on a page are in the source's own zone (seeds: `timezone`).
    local_tz = source.config.get("timezone") if source is not None else None
    try:
        article = clean.extract(
            page.final_url or page.url,
            decompress(page.raw),
            content_type=page.content_type,
            local_tz=local_tz,
        )
    except ExtractionError as exc:
        log.info("bad content at %s: %s", page.url, exc)
        result = StoreResult(Outcome.BAD_CONTENT, None)
    else:
        result = store_article(
            session, page.final_url or page.url, article, source=source, page=page, run_id=run_id
        )
    page.processed_at = utcnow()
    page.outcome = str(result.outcome)
    if tally is not None:
        tally.add(source.id if source else None, result.outcome)
    return result


def store_article(
    session: Session,
    url: str,
    article: Article,
    *,
    source: Source | None,
    page: Page | None = None,
    run_id: int | None = None,
) -> StoreResult:
    """Insert or update the document at ``url``, then deduplicate and match it."""
    serialize_writers(session)
    key = url_hash(url)
    chash = dedup.content_hash(article.title, article.text)
    doc = session.scalar(select(Document).where(Document.url_hash == key))
    if doc is not None:
        if doc.content_hash == chash and doc.title == article.title:
            return StoreResult(Outcome.UNCHANGED, doc.id, doc.cluster_id)
        _fill(doc, article, chash)
        doc.updated_at = utcnow()
        doc.update_count += 1
        if page is not None:
            doc.page_id = page.id
        session.flush()
        dedup.assign(session, doc)
        matched = _match(session, doc, source, run_id)
        return StoreResult(Outcome.UPDATED, doc.id, doc.cluster_id, matched)
    doc = Document(
        url_hash=key,
        url=url,
        canonical_url=canonical_url(url),
        source_id=source.id if source else None,
        page_id=page.id if page else None,
        first_seen_at=utcnow(),
        update_count=0,
    )
    _fill(doc, article, chash)
    try:
        with session.begin_nested():
            session.add(doc)
            session.flush()
    except IntegrityError:
        # Another worker stored the same canonical URL first: a counted duplicate, not an error.
        existing = session.scalar(select(Document.id).where(Document.url_hash == key))
        return StoreResult(Outcome.DUPLICATE, existing)
    res = dedup.assign(session, doc)
    matched = _match(session, doc, source, run_id)
    outcome = Outcome.DUPLICATE if res.duplicate_of is not None else Outcome.NEW
    return StoreResult(outcome, doc.id, doc.cluster_id, matched)


def _fill(doc: Document, article: Article, chash: str) -> None:
    """Copy an article's fields onto a document row."""
    doc.title = article.title
    doc.text = article.text
    doc.author = article.author
    doc.published_at = article.published
    doc.language = article.language
    doc.extraction_method = article.method
    doc.content_hash = chash
    doc.search_text = search_key(f"{article.title}\n{article.text}")


def _match(
    session: Session, doc: Document, source: Source | None, run_id: int | None
) -> tuple[str, ...]:
    """Match a stored document against the configured topics."""
    matcher = topics.get_matcher()
    found = topics.match_document(session, doc, matcher, source=source, run_id=run_id)
    return tuple(m.topic_id for m in found)
