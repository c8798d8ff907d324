"""The record pipeline: every item becomes exactly one counted outcome in ``run_counts``.

A :class:`PageItem` is recorded raw with what discovery knew about it
(:func:`pipeline.store.pages.record_fetch`) and counted ``recorded``; the process stage
cleans, dates, window-checks, deduplicates and matches it later, the same way for every
page whichever way it came. An :class:`OutcomeItem` (304, robots, too large, HTTP error,
...) is only counted. Nothing here reads the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crawlers.items import OutcomeItem, PageItem
from pipeline.errors import Outcome
from pipeline.store.db import session_scope, with_retries
from pipeline.store.models import Source
from pipeline.store.pages import Discovery, record_fetch
from pipeline.store.runs import RunTally, finish_run, start_run

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class RecordPipeline:
    """Records fetched pages and counts every item's outcome, straight in the database."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.tally: RunTally | None = None
        self.own_run = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordPipeline:
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
        """Record or count one item; the outcome is also kept in the crawler stats."""
        if isinstance(item, OutcomeItem):
            outcome = item.outcome
            with_retries(lambda: self._count(outcome))
        elif isinstance(item, PageItem):
            outcome = str(with_retries(lambda: self._record(item)))
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

    def _record(self, item: PageItem) -> Outcome:
        """Record the fetch with its discovery fields and the run's window; count it."""
        assert self.tally is not None
        tally = self.tally
        spider = self.spider
        # A re-check knows nothing new about the page: keep what its discovery recorded (the
        # feed's date and title), so a corrected page is dated the way its first fetch was.
        discovery = None
        if item.method != "recheck":
            discovery = Discovery(
                method=item.method,
                published=item.published,
                title=item.title,
                language=item.language,
                via_feed=item.via_feed,
            )
        with tally.attempt(), session_scope() as session:
            page = record_fetch(
                session,
                item.url,
                source=session.get(Source, spider.source_id),
                status=item.status,
                body=item.body,
                headers=item.headers,
                final_url=item.final_url,
                discovery=discovery,
                window=spider.window,
                run_id=tally.run_id,
            )
            # Same bytes as a fetch already processed (a re-check): nothing new to process.
            done = page.processed_at is not None and page.outcome is not None
            outcome = Outcome.UNCHANGED if done else Outcome.RECORDED
            tally.add(spider.source_id, outcome)
            tally.flush(session)
            return outcome
