"""The sitemap spider: sitemaps, news sitemaps and sitemap indexes, filtered by lastmod."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

from scrapy.http import Response

from crawlers.outcomes import first_url
from crawlers.spiders.base import SourceSpider
from crawlers.xmlfeeds import FeedError, parse_sitemap
from pipeline.config.sources import SitemapMethod
from pipeline.errors import Outcome

_OLDEST = datetime.min.replace(tzinfo=UTC)
# Sitemap files fetched per source and run, whatever their indexes list (a backstop against
# generated chains of indexes; real sites need a few dozen at most).
MAX_SITEMAPS = 500


class SitemapSpider(SourceSpider):
    """Reads every ``method: sitemap`` entry of one source."""

    name = "sitemap"
    method_kind = "sitemap"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Sitemap URLs requested in this run: an index that lists itself, or two that list
        # each other, must not loop (discovery requests bypass Scrapy's duplicate filter).
        self.sitemaps_requested: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        """One request per configured sitemap (conditional on incremental runs)."""
        for _i, m in self.methods():
            assert isinstance(m, SitemapMethod)
            self.sitemaps_requested.add(m.url)
            yield self.discovery_request(m.url, m.url, self.parse_sitemap, cfg=m)

    def parse_sitemap(self, response: Response) -> Iterable[Any]:
        """Follow recent child sitemaps of an index; request new in-window URLs of a urlset."""
        m: SitemapMethod = response.meta["cfg"]
        key = response.meta["key"]
        if not self.discovery_ok(response):
            yield self.discovery_outcome(response, Outcome.NOT_MODIFIED)
            return
        try:
            kind, entries = parse_sitemap(response.body)
        except FeedError as exc:
            yield self.discovery_outcome(
                response, Outcome.BAD_CONTENT, f"{first_url(response)}: {exc}"
            )
            return
        yield self.discovery_outcome(response, Outcome.LISTED)
        if kind == "sitemapindex":
            children = [
                e
                for e in entries
                if self.cfg.allows(response.urljoin(e.loc))
                and not (m.follow and not re.search(m.follow, e.loc))
                and not self.older_than_window(key, e.lastmod)
            ]
            # Newest first: sites number archive sitemaps so the recent ones matter most.
            children.sort(key=lambda e: e.lastmod or _OLDEST, reverse=True)
            for child in children[: m.max_sitemaps]:
                url = response.urljoin(child.loc)
                if url in self.sitemaps_requested or len(self.sitemaps_requested) >= MAX_SITEMAPS:
                    self.crawler.stats.inc_value("newsmon/sitemap_skipped")
                    continue
                self.sitemaps_requested.add(url)
                yield self.discovery_request(url, key, self.parse_sitemap, cfg=m)
            return
        wanted = [
            e
            for e in entries
            if self.wants_article(response.urljoin(e.loc))
            and not (m.url_pattern and not re.search(m.url_pattern, e.loc))
            and (e.lastmod is not None or m.keep_undated)
        ]
        in_window = [e for e in wanted if self.in_window(key, e.lastmod)]
        self.crawler.stats.inc_value("newsmon/out_of_window", len(entries) - len(in_window))
        urls = [response.urljoin(e.loc) for e in in_window]
        known = self.known(urls)
        for entry, url in zip(in_window, urls, strict=True):
            self.saw(key, entry.lastmod)
            if url in known:
                continue
            req = self.article_request(url, key=key, published=entry.lastmod, language=m.language)
            if req is not None:
                yield req
