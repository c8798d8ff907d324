"""The store pipeline: every item becomes exactly one counted outcome in ``run_counts``.

A :class:`PageItem` is stored raw (``pipeline.stages.process.record_fetch``) and then cleaned,
deduplicated and matched by the same functions as ``newsmon ingest``; an
:class:`OutcomeItem` (304, robots, too large, HTTP error, ...) is only counted.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from crawlers.items import OutcomeItem, PageItem
from pipeline.clean import Article
from pipeline.clean.quirks import extract_article
from pipeline.config.sources import ArticleHints, SourceConfig
from pipeline.errors import ExtractionError, Outcome
from pipeline.stages.process import StoreResult, store_article
from pipeline.store.db import session_scope, with_retries
from pipeline.store.models import Source, utcnow
from pipeline.store.pages import record_fetch
from pipeline.store.runs import RunTally, finish_run, start_run

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)


class StorePipeline:
    """Writes pages and outcome counters straight to the database."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.tally: RunTally | None = None
        self.own_run = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        """Scrapy factory."""
        return cls(crawler)

    @property
    def spider(self) -> Any:
        """The running spider (a SourceSpider)."""
        return self.crawler.spider

    def open_spider(self) -> None:
        """Count into the caller's run, or start one for a standalone ``scrapy crawl``."""
        run_id = getattr(self.spider, "run_id", None)
        if run_id is None:

            def start() -> int:
                with session_scope() as session:
                    params = {"source": self.spider.source_name, "spider": self.spider.name}
                    return start_run(session, "crawl", params).id

            run_id = with_retries(start)
            self.spider.run_id = run_id
            self.own_run = True
        self.tally = RunTally(run_id)

    def close_spider(self) -> None:
        """Finish a run this pipeline started."""
        if self.own_run and self.tally is not None:
            run_id = self.tally.run_id

            def finish() -> None:
                with session_scope() as session:
                    finish_run(session, run_id)

            with_retries(finish)

    def process_item(self, item: Any) -> Any:
        """Store or count one item; the outcome is also kept in the crawler stats."""
        if isinstance(item, OutcomeItem):
            outcome = item.outcome
            with_retries(lambda: self._count(outcome))
        elif isinstance(item, PageItem):
            outcome = str(with_retries(lambda: self._store(item)).outcome)
        else:
            return item
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value(f"newsmon/outcome/{outcome}")
            if isinstance(item, OutcomeItem) and item.discovery:
                stats.inc_value(f"newsmon/discovery/{outcome}")
            elif isinstance(item, PageItem) and not item.via_feed:
                stats.inc_value("newsmon/article_pages")
        return item

    def _count(self, outcome: str) -> None:
        """Add one counted outcome for the spider's source."""
        assert self.tally is not None
        # attempt(): a transaction retried by with_retries counts its outcome once.
        with self.tally.attempt(), session_scope() as session:
            self.tally.add(self.spider.source_id, outcome)
            self.tally.flush(session)

    def _store(self, item: PageItem) -> StoreResult:
        """Extract, drop what falls outside an explicit window, record the fetch, store."""
        assert self.tally is not None
        tally = self.tally
        source_id = self.spider.source_id
        extracted = self._extract(item)
        if isinstance(extracted, Article) and self._outside_window(extracted.published):
            # Backfills store only their window; the page is not recorded, so a later
            # window that includes it can still fetch it.
            result = StoreResult(Outcome.OUT_OF_WINDOW, None)
            with tally.attempt(), session_scope() as session:
                tally.add(source_id, result.outcome)
                tally.flush(session)
            return result
        with tally.attempt(), session_scope() as session:
            source = session.get(Source, source_id)
            page = record_fetch(
                session,
                item.url,
                source=source,
                status=item.status,
                body=item.body,
                headers=item.headers,
                final_url=item.final_url,
            )
            if page.processed_at is not None and page.outcome:
                # Same bytes as the stored fetch (a re-check): nothing to redo.
                result = StoreResult(Outcome.UNCHANGED, None)
            elif isinstance(extracted, ExtractionError):
                log.info("bad content at %s: %s", page.url, extracted)
                result = StoreResult(Outcome.BAD_CONTENT, None)
            else:
                result = store_article(
                    session,
                    page.final_url or page.url,
                    extracted,
                    source=source,
                    page=page,
                    run_id=tally.run_id,
                )
            if result.outcome != Outcome.UNCHANGED or page.processed_at is None:
                page.processed_at = utcnow()
                page.outcome = str(result.outcome)
            tally.add(source_id, result.outcome)
            tally.flush(session)
            return result

    def _extract(self, item: PageItem) -> Article | ExtractionError:
        """The article, read with the source's hints, quirk and time zone.

        This is ``process_page``'s extraction plus what only the crawler knows: the
        source's article hints and quirk, its time zone for naive page dates, and the date
        the feed or listing gave, applied before dedup so the earliest copy is the origin.
        """
        cfg: SourceConfig = self.spider.cfg
        try:
            article = extract_article(
                item.final_url,
                item.body,
                content_type=item.headers.get("content-type"),
                # A rebuilt feed entry is not the site's page: its hints do not apply.
                hints=ArticleHints() if item.via_feed else cfg.article,
                timezone=cfg.timezone,
                language=item.language,
            )
        except ExtractionError as exc:
            return exc
        published = better_date(
            article.published,
            item.published,
            ZoneInfo(cfg.timezone),
            trust_discovered=item.via_feed,
        )
        return replace(article, published=published) if published != article.published else article

    def _outside_window(self, published: datetime | None) -> bool:
        """True when an explicit --since/--until window excludes ``published``."""
        since, until = self.spider.since, self.spider.until
        if published is None or (since is None and until is None):
            return False
        return bool((since and published < since) or (until and published > until))


def better_date(
    extracted: datetime | None,
    discovered: datetime | None,
    tz: ZoneInfo,
    *,
    trust_discovered: bool = False,
) -> datetime | None:
    """The publication date to store: the page's, unless the feed/listing knows better.

    The discovered date wins when the page has none, when it is a feed's own entry
    (``trust_discovered``), or when the page gives only the day (local midnight) and the
    feed or listing gives a time on that same day.
    """
    if discovered is None:
        return extracted
    if extracted is None or trust_discovered:
        return discovered
    local = extracted.astimezone(tz)
    if local.time() == time(0, 0) and discovered.astimezone(tz).date() == local.date():
        return discovered
    return extracted
