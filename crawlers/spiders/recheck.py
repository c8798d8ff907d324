"""The corrections re-check: recent articles fetched again with a conditional GET.

A 304 counts as not modified; a changed page is recorded again and, when its text
changed materially, the process stage updates the document and marks it updated.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import scrapy

from crawlers.spiders.base import SourceSpider
from crawlers.state import pages_to_recheck
from pipeline.config.settings import get_settings
from pipeline.config.sources import FeedMethod
from pipeline.text.urls import host_of

# Re-check at most this many documents per source and run (newest first).
MAX_RECHECKS = 200
# A page fetched less than this long ago is not re-checked: corrections come hours after
# publication, and an immediate second run must not fetch article pages again.
RECHECK_MIN_AGE = timedelta(hours=6)


class RecheckSpider(SourceSpider):
    """Conditional GETs for a source's documents published in the last few days."""

    name = "recheck"
    method_kind = "recheck"

    def recent_pages(self) -> list[tuple[str, str | None, str | None]]:
        """(url, etag, last_modified) of recent documents whose page we fetched ourselves."""
        days = self.cfg.crawl.recheck_days
        if days is None:
            days = get_settings().recheck_days
        if days <= 0 or self.cfg.crawl.feed_only:
            return []
        # Pages rebuilt from full-text feed entries are corrected through the feed instead.
        feed_hosts = {
            host_of(m.url) for m in self.cfg.discovery if isinstance(m, FeedMethod) and m.full_text
        }
        assert self.source_id is not None, (
            "CrawlStateExtension sets source_id when the spider opens"
        )
        rows = pages_to_recheck(
            self.source_id,
            published_since=self.started - timedelta(days=days),
            fetched_before=self.started - RECHECK_MIN_AGE,
            limit=MAX_RECHECKS,
        )
        return [r for r in rows if host_of(r[0]) not in feed_hosts]

    async def start(self) -> AsyncIterator[Any]:
        """One conditional request per recent article."""
        for url, etag, last_modified in self.recent_pages():
            headers = {}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            req = scrapy.Request(
                url,
                callback=self.parse_article,
                errback=self.article_failed,
                headers=headers,
                meta={
                    "key": "",
                    "published": None,
                    "language": None,
                    "recheck": True,
                    "handle_httpstatus_list": [304],
                },
                dont_filter=True,
            )
            yield req
