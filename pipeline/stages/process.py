"""The process stage, one page at a time: a recorded page in, one counted outcome out.

Every way a page arrives (a crawl, ``newsmon ingest``, ``newsmon process``, the DAG's ``process``
task) goes through the two halves below, so the same page becomes the same document whichever way
it came:

* :func:`extract_task` (runs in a worker process): decode and clean the raw page with the source's
  article hints and quirk, its time zone, the discovered language as a hint and the discovered
  date (:func:`~pipeline.clean.dates.better_date`), then compute what storing needs that depends
  on the article alone (content hash, search key, dedup fingerprint, topic matches). It takes and
  returns plain data only.
* :func:`store_page` (runs in the one writer): window check, then :func:`store_article` (upsert,
  dedup, the topic matches stored) and the page marked processed with its outcome, in the
  caller's transaction.

:mod:`pipeline.stages.runner` drives them over many pages (worker pool, batches, run accounting).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipeline import dedup, topics
from pipeline.clean import Article
from pipeline.clean.dates import better_date
from pipeline.clean.quirks import extract_article
from pipeline.config.sources import ArticleHints
from pipeline.errors import ExtractionError, Outcome
from pipeline.store.db import serialize_writers
from pipeline.store.models import Document, Page, Source, utcnow
from pipeline.store.pages import Window, decompress
from pipeline.store.runs import RunTally
from pipeline.text.normalize import search_text
from pipeline.text.urls import canonical_url, url_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreResult:
    """What storing one article did."""

    outcome: Outcome
    document_id: int | None
    cluster_id: int | None = None
    matched_topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class Task:
    """One recorded page as plain, picklable data for an extraction worker (no ORM objects)."""

    page_id: int
    source_id: int | None
    url: str  # the final URL: what the document is stored under
    raw: bytes  # zlib-compressed, as stored in ``pages.raw``
    content_type: str | None = None
    hints: dict[str, Any] = field(default_factory=dict)  # ArticleHints as a dict
    timezone: str = "UTC"
    published: datetime | None = None  # what discovery knew (feed, listing, sitemap)
    language: str | None = None
    via_feed: bool = False
    source_name: str | None = None  # topic filters by source name and type
    source_type: str | None = None


def source_spec(source: Source | None) -> tuple[dict[str, Any], str]:
    """A source's article hints (as a dict) and time zone, from its synced ``config``."""
    if source is None:
        return {}, "UTC"
    config = source.config or {}
    hints = {k: v for k, v in (config.get("article") or {}).items() if v is not None}
    return hints, str(config.get("timezone") or "UTC")


def task_for(page: Page, source: Source | None) -> Task:
    """The extraction task of a recorded page."""
    hints, timezone = source_spec(source)
    return Task(
        page_id=page.id,
        source_id=page.source_id,
        url=page.final_url or page.url,
        raw=page.raw or b"",
        content_type=page.content_type,
        # A rebuilt feed entry is not the site's page: the page hints do not apply to it.
        hints={} if page.via_feed else hints,
        timezone=timezone,
        published=page.discovered_published,
        language=page.discovered_language,
        via_feed=bool(page.via_feed),
        source_name=source.name if source else None,
        source_type=source.type if source else None,
    )


@dataclass(frozen=True)
class Cleaned:
    """An article with the keys the writer stores, computed where the article was extracted.

    The content hash and the search key are pure functions of the text; computing them in the
    worker takes that CPU off the one writer, which everything else waits for.
    """

    article: Article
    content_hash: str
    search_text: str
    # The dedup fingerprint (shingles, MinHash, cross-language evidence): the costliest pure
    # part of storing, so workers compute it and the writer only looks it up.
    fingerprint: dedup.Fingerprint | None = None
    # The topic matches, also pure (title, text, language, source, the topics file): computed
    # in the worker too, whose word-key cache the search key then reuses.
    matches: topics.Precomputed | None = None


def cleaned(article: Article) -> Cleaned:
    """The article with its content hash, search key and dedup fingerprint."""
    fp = dedup.fingerprint(article.title, article.text)
    return Cleaned(
        article,
        fp.content_hash,
        search_text(f"{article.title}\n{article.text}"),
        fp,
    )


@lru_cache(maxsize=256)
def _hints(items: tuple[tuple[str, Any], ...]) -> ArticleHints:
    """Validated hints, built once per distinct source (a worker sees few of them)."""
    return ArticleHints(**dict(items))


def extract(task: Task) -> Article:
    """Clean one recorded page as its source says; ExtractionError names the URL on failure."""
    article = extract_article(
        task.url,
        decompress(task.raw),
        content_type=task.content_type,
        hints=_hints(tuple(sorted(task.hints.items()))),
        timezone=task.timezone,
        language=task.language,
    )
    # The feed or listing date is applied before dedup, so the earliest copy becomes the origin.
    published = better_date(
        article.published, task.published, ZoneInfo(task.timezone), trust_discovered=task.via_feed
    )
    return article if published == article.published else replace(article, published=published)


def extract_task(task: Task) -> Cleaned | str:
    """The worker's job: the article, or the ExtractionError message (counted bad_content)."""
    try:
        article = extract(task)
    except ExtractionError as exc:
        return str(exc)
    matches = topics.get_matcher().precompute(
        article.title,
        article.text,
        language=article.language,
        source=task.source_name,
        source_type=task.source_type,
    )
    return replace(cleaned(article), matches=matches)


def store_page(
    session: Session,
    page: Page,
    extracted: Cleaned | str,
    *,
    source: Source | None,
    window: Window,
    run_id: int | None,
) -> StoreResult:
    """Window check, then store, dedupe and match; marks the page processed with its outcome."""
    if isinstance(extracted, str):
        log.info("bad content at %s: %s", page.url, extracted)
        result = StoreResult(Outcome.BAD_CONTENT, None)
    elif window.excludes(extracted.article.published):
        # Outside the recording run's window: no document. record_fetch queues the page again
        # when a later run (a backfill covering its date) records it with another window.
        result = StoreResult(Outcome.OUT_OF_WINDOW, None)
    else:
        url = page.final_url or page.url
        result = store_article(session, url, extracted, source=source, page=page, run_id=run_id)
    page.processed_at = utcnow()
    page.outcome = str(result.outcome)
    return result


def process_page(
    session: Session,
    page: Page,
    *,
    source: Source | None,
    tally: RunTally | None,
    run_id: int | None = None,
    window: Window | None = None,
) -> StoreResult:
    """Both halves for one page in this process (``window`` overrides the page's own)."""
    result = store_page(
        session,
        page,
        extract_task(task_for(page, source)),
        source=source,
        window=window or Window(page.window_start, page.window_end),
        run_id=run_id,
    )
    if tally is not None:
        tally.add(source.id if source else None, result.outcome)
    return result


def store_article(
    session: Session,
    url: str,
    article: Article | Cleaned,
    *,
    source: Source | None,
    page: Page | None = None,
    run_id: int | None = None,
) -> StoreResult:
    """Insert or update the document at ``url``, then deduplicate and match it."""
    serialize_writers(session)
    ready = article if isinstance(article, Cleaned) else cleaned(article)
    key = url_hash(url)
    chash = ready.content_hash
    doc = session.scalar(select(Document).where(Document.url_hash == key))
    if doc is not None:
        if doc.content_hash == chash and doc.title == ready.article.title:
            return StoreResult(Outcome.UNCHANGED, doc.id, doc.cluster_id)
        _fill(doc, ready)
        doc.updated_at = utcnow()
        doc.update_count += 1
        if page is not None:
            doc.page_id = page.id
        session.flush()
        dedup.assign(session, doc, ready.fingerprint)
        matched = _match(session, doc, source, run_id, ready.matches)
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
    _fill(doc, ready)
    try:
        with session.begin_nested():
            session.add(doc)
            session.flush()
    except IntegrityError:
        # Another worker stored the same canonical URL first: a counted duplicate, not an error.
        existing = session.scalar(select(Document.id).where(Document.url_hash == key))
        return StoreResult(Outcome.DUPLICATE, existing)
    res = dedup.assign(session, doc, ready.fingerprint)
    matched = _match(session, doc, source, run_id, ready.matches)
    outcome = Outcome.DUPLICATE if res.duplicate_of is not None else Outcome.NEW
    return StoreResult(outcome, doc.id, doc.cluster_id, matched)


def _fill(doc: Document, ready: Cleaned) -> None:
    """Copy an article's fields onto a document row."""
    article = ready.article
    doc.title = article.title
    doc.text = article.text
    doc.author = article.author
    doc.published_at = article.published
    doc.language = article.language
    doc.extraction_method = article.method
    doc.content_hash = ready.content_hash
    doc.search_text = ready.search_text


def _match(
    session: Session,
    doc: Document,
    source: Source | None,
    run_id: int | None,
    precomputed: topics.Precomputed | None,
) -> tuple[str, ...]:
    """Match a stored document against the configured topics (or store the worker's matches)."""
    matcher = topics.get_matcher()
    found = topics.match_document(
        session, doc, matcher, source=source, run_id=run_id, precomputed=precomputed
    )
    return tuple(m.topic_id for m in found)
