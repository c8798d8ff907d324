"""Recording fetched pages: the raw bytes plus what discovery knew, queued for the process stage.

Every way a page arrives (a crawl, ``newsmon ingest`` of a saved file) records it here; the
process stage (:mod:`pipeline.stages.process`) later cleans, folds and matches it. Recording
never cleans anything, so the same page is processed the same way whichever way it came.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from pipeline.errors import Outcome
from pipeline.store.models import Document, Page, Source, utcnow
from pipeline.text.urls import url_hash

# zlib level 1: on the real corpus pages it compresses 5x faster than level 6 for 18% more
# bytes; raw pages are written once per fetch and read rarely, so speed wins.
ZLIB_LEVEL = 1
# URLs looked up per query by :func:`known_urls` (well under every database's bind limit).
KNOWN_BATCH = 500
# The outcome the process stage gives a page whose date falls outside its recording window.
OUT_OF_WINDOW = str(Outcome.OUT_OF_WINDOW)


@dataclass(frozen=True)
class Discovery:
    """What the discovery step knew about a page before it was fetched."""

    method: str | None = None  # feed | sitemap | listing | recheck | ingest
    published: datetime | None = None  # the feed/listing/sitemap date (aware)
    title: str | None = None  # the feed/listing title
    language: str | None = None  # the discovery entry's language, a hint
    via_feed: bool = False  # the body is a feed entry rendered as HTML, not the site's page


@dataclass(frozen=True)
class Window:
    """The publication window of the run that records a page (a backfill's data interval)."""

    start: datetime | None = None
    end: datetime | None = None

    def excludes(self, published: datetime | None) -> bool:
        """True when ``published`` is known and falls outside the window."""
        if published is None:
            return False
        return bool(
            (self.start is not None and published < self.start)
            or (self.end is not None and published > self.end)
        )


NO_WINDOW = Window()


def compress(body: bytes) -> bytes:
    """Compress raw HTML for storage."""
    return zlib.compress(body, ZLIB_LEVEL)


def decompress(raw: bytes | None) -> bytes:
    """Inverse of :func:`compress` (empty for a pruned page)."""
    return zlib.decompress(raw) if raw else b""


def record_fetch(
    session: Session,
    url: str,
    *,
    source: Source | None,
    status: int,
    body: bytes | None,
    headers: Mapping[str, str] | None = None,
    final_url: str | None = None,
    discovery: Discovery | None = None,
    window: Window = NO_WINDOW,
    run_id: int | None = None,
) -> Page:
    """Upsert the latest fetch of ``url``; a changed body is queued for processing again.

    A page that an earlier run's window left out (``out_of_window``) is queued again when a run
    records it with a different window, so a later backfill covering its date processes it.
    """
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    key = url_hash(url)
    page = session.scalar(select(Page).where(Page.url_hash == key))
    if page is None:
        page = Page(url_hash=key, url=url, raw_size=0)
        session.add(page)
    page.final_url = final_url or url
    page.source_id = source.id if source else page.source_id
    page.status = status
    page.fetched_at = utcnow()
    page.etag = headers.get("etag", page.etag)
    page.last_modified = headers.get("last-modified", page.last_modified)
    page.content_type = headers.get("content-type", page.content_type)
    changed = False
    if body is not None and status != 304:
        packed = compress(body)
        if packed != page.raw:
            page.raw, page.raw_size = packed, len(body)
            page.processed_at = None
            page.outcome = None
            changed = True
    if discovery is not None:
        _remember(page, discovery, replace=changed or page.discovery_method is None)
    if run_id is not None:
        page.recorded_run_id = run_id
    new_window = (window.start, window.end) != (page.window_start, page.window_end)
    page.window_start, page.window_end = window.start, window.end
    if page.outcome == OUT_OF_WINDOW and new_window:
        page.processed_at = None
        page.outcome = None
    session.flush()
    return page


def _remember(page: Page, discovery: Discovery, *, replace: bool) -> None:
    """Keep what discovery knew; for unchanged bytes only fill gaps.

    Re-recording the same bytes without a feed (an ``ingest`` of a saved copy, a re-check) must
    not erase the feed's date and title that the page was first processed with.
    """
    if replace:
        page.discovery_method = discovery.method
        page.discovered_published = discovery.published
        page.discovered_title = discovery.title
        page.discovered_language = discovery.language
        page.via_feed = discovery.via_feed
        return
    page.discovery_method = page.discovery_method or discovery.method
    page.discovered_published = page.discovered_published or discovery.published
    page.discovered_title = page.discovered_title or discovery.title
    page.discovered_language = page.discovered_language or discovery.language


def known_urls(
    session: Session, urls: Iterable[str], *, window: Window = NO_WINDOW
) -> dict[str, datetime | None]:
    """URLs already stored (a recorded page or a document) -> when the page was last fetched.

    In a run with a window, a page that another window left out (``out_of_window``) is not
    known: the run fetches and records it again, which queues it for processing in this window.
    """
    wanted = {url_hash(u): u for u in urls}
    hashes = list(wanted)
    windowed = window != NO_WINDOW
    found: dict[str, datetime | None] = {}
    for start in range(0, len(hashes), KNOWN_BATCH):
        chunk = hashes[start : start + KNOWN_BATCH]
        pages = select(Page.url_hash, Page.fetched_at).where(Page.url_hash.in_(chunk))
        if windowed:
            # NULL-safe comparisons: a pending page (outcome NULL) stays known.
            left_out = and_(
                Page.outcome.is_not_distinct_from(OUT_OF_WINDOW),
                or_(
                    Page.window_start.is_distinct_from(window.start),
                    Page.window_end.is_distinct_from(window.end),
                ),
            )
            pages = pages.where(~left_out)
        for key, fetched in session.execute(pages):
            found[wanted[key]] = fetched
        for (key,) in session.execute(
            select(Document.url_hash).where(Document.url_hash.in_(chunk))
        ):
            found.setdefault(wanted[key], None)
    return found


def recheck_candidates(
    session: Session,
    source_id: int,
    *,
    published_since: datetime,
    fetched_before: datetime,
    limit: int,
) -> list[tuple[str, str | None, str | None]]:
    """(url, etag, last_modified) of a source's recent documents whose page we fetched, newest
    first: the pages a corrections re-check asks for again with a conditional GET."""
    when = func.coalesce(Document.published_at, Document.first_seen_at)
    rows = session.execute(
        select(Page.url, Page.etag, Page.last_modified)
        .select_from(Document)
        .join(Page, Page.id == Document.page_id)
        .where(
            Document.source_id == source_id,
            when >= published_since,
            Page.status == 200,
            Page.fetched_at < fetched_before,
        )
        .order_by(when.desc())
        .limit(limit)
    )
    return [(r.url, r.etag, r.last_modified) for r in rows]
