"""The feed spider: RSS/Atom feeds of a source, paged backwards where the site allows it."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Iterable
from typing import Any
from zoneinfo import ZoneInfo

from scrapy.http import Response

from crawlers.items import PageItem
from crawlers.outcomes import first_url
from crawlers.spiders.base import SourceSpider
from crawlers.xmlfeeds import FeedEntry, FeedError, parse_feed
from pipeline.config.sources import FeedMethod
from pipeline.errors import Outcome


def entry_html(entry: FeedEntry, language: str | None) -> bytes:
    """A full-text feed entry as a small HTML page the cleaner reads like any article."""
    lang = f' lang="{html.escape(language)}"' if language else ""
    title = html.escape(entry.title)
    when = entry.published.isoformat() if entry.published else ""
    meta = f'<meta property="article:published_time" content="{when}">' if when else ""
    author = f'<meta name="author" content="{html.escape(entry.author)}">' if entry.author else ""
    body = entry.content or entry.summary
    page = (
        f'<!DOCTYPE html><html{lang}><head><meta charset="utf-8"><title>{title}</title>'
        f'<link rel="canonical" href="{html.escape(entry.link)}">{meta}{author}</head>'
        f"<body><article><h1>{title}</h1>{body}</article></body></html>"
    )
    return page.encode("utf-8")


class FeedSpider(SourceSpider):
    """Reads every ``method: feed`` entry of one source."""

    name = "feed"
    method_kind = "feed"

    async def start(self) -> AsyncIterator[Any]:
        """One request per configured feed (conditional on incremental runs)."""
        for _i, m in self.methods():
            assert isinstance(m, FeedMethod)
            yield self.discovery_request(m.url, m.url, self.parse_feed, cfg=m, page=1)

    def parse_feed(self, response: Response) -> Iterable[Any]:
        """Entries in the window that are not stored yet become article requests or pages."""
        m: FeedMethod = response.meta["cfg"]
        key = response.meta["key"]
        if not self.discovery_ok(response):
            yield self.discovery_outcome(response, Outcome.NOT_MODIFIED)
            return
        try:
            entries = parse_feed(
                response.body, assume_tz=ZoneInfo(m.assume_tz) if m.assume_tz else None
            )
        except FeedError as exc:
            yield self.discovery_outcome(
                response, Outcome.BAD_CONTENT, f"{first_url(response)}: {exc}"
            )
            return
        yield self.discovery_outcome(response, Outcome.LISTED)
        wanted = [
            e
            for e in entries
            if self.wants_article(response.urljoin(e.link))
            and not (m.url_pattern and not re.search(m.url_pattern, e.link))
        ]
        in_window = [e for e in wanted if self.in_window(key, e.published)]
        self.crawler.stats.inc_value("newsmon/out_of_window", len(wanted) - len(in_window))
        urls = [response.urljoin(e.link) for e in in_window]
        known = self.known(urls)
        for entry, url in zip(in_window, urls, strict=True):
            self.saw(key, entry.published)
            if url in known:
                fetched = known[url]
                # A full-text entry updated after we stored it is a correction: re-store it.
                if not (m.full_text and entry.updated and fetched and entry.updated > fetched):
                    continue
            if m.full_text and (entry.content or entry.summary):
                yield PageItem(
                    source=self.source_name,
                    url=url,
                    final_url=url,
                    status=200,
                    body=entry_html(entry, m.language),
                    headers={"content-type": "text/html; charset=utf-8"},
                    method="feed",
                    language=m.language,
                    published=entry.published,
                    title=entry.title or None,
                    via_feed=True,
                )
                continue
            req = self.article_request(
                url,
                key=key,
                published=entry.published,
                language=m.language,
                title=entry.title or None,
            )
            if req is not None:
                yield req
        # Page further back while the window is not covered yet and entries are new.
        page = int(response.meta.get("page", 1))
        dated = [e.published for e in entries if e.published]
        reached_start = any(self.older_than_window(key, d) for d in dated)
        all_known = bool(urls) and len(known) == len(urls)
        signature = tuple(e.link for e in entries)
        repeated = signature == response.meta.get("previous")  # a past-the-end page repeats
        limit = m.backfill_max_pages if self.backfill else m.max_pages
        if (
            m.page_url
            and entries
            and page < limit
            and not reached_start
            and not repeated
            and (self.backfill or not all_known)
        ):
            yield self.discovery_request(
                m.page_url.format(page=page + 1),
                key,
                self.parse_feed,
                cfg=m,
                page=page + 1,
                previous=signature,
            )
