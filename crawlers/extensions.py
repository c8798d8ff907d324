"""Scrapy extension that keeps a source spider's database state: its source row and crawl state.

On ``spider_opened`` the source row is upserted and the stored crawl state (validators,
high-water marks, last successes) is handed to the spider; on ``spider_closed`` the state of
every discovery URL the spider touched is written back. The spiders themselves open no
database sessions for this.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import CloseSpider
from sqlalchemy.exc import SQLAlchemyError

from crawlers.spiders.base import SourceSpider
from crawlers.state import load_source_state, save_key_states
from pipeline.errors import NewsmonError

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)

# Set in the crawler stats when the state could not be written: ``crawlsource`` then exits 1.
STATE_ERROR_STAT = "newsmon/state_error"


class CrawlStateExtension:
    """Loads a source spider's state when it opens and saves it when it closes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlStateExtension:
        """Scrapy factory."""
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        """Upsert the source row and give the spider its id and stored crawl state."""
        if not isinstance(spider, SourceSpider):
            return
        try:
            spider.source_id, spider.stored_state = load_source_state(spider.cfg)
        except (NewsmonError, SQLAlchemyError) as exc:
            # Without its state the spider would re-fetch everything unconditionally: stop it.
            log.error("%s: cannot load crawl state: %s", spider.source_name, exc)
            raise CloseSpider("newsmon_state_unavailable") from exc

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Write the crawl state of every discovery URL touched in this run."""
        if not isinstance(spider, SourceSpider) or spider.source_id is None:
            return
        try:
            written = save_key_states(
                spider.source_id,
                spider.keys,
                spider.stored_state,
                started=spider.started,
                reason=reason,
                explicit_until=spider.until is not None,
            )
        except (NewsmonError, SQLAlchemyError) as exc:
            log.error("%s/%s: crawl state not saved: %s", spider.source_name, spider.name, exc)
            if self.crawler.stats is not None:
                self.crawler.stats.set_value(STATE_ERROR_STAT, str(exc))
            return
        log.info(
            "%s/%s closed (%s): state of %d discovery URLs saved",
            spider.source_name,
            spider.name,
            reason,
            written,
        )
