"""The listing spider: paged HTML listings read with the source's CSS selectors.

Incremental runs page until an item older than the high-water mark, a page whose
items are all stored already, or ``max_pages``. Backfills (``-a since=``) use the
per-day archive when the source has one, otherwise page back to the window start.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from parsel import Selector
from scrapy.http import Response

from crawlers.spiders.base import SourceSpider
from pipeline.clean.dates import parse_text_date
from pipeline.config.sources import ListingMethod
from pipeline.errors import Outcome

# A backfill never asks for more per-day archive pages than this in one run.
MAX_ARCHIVE_DAYS = 400
_HAS_TIME = re.compile(r"\d{1,2}:\d{2}")
_PUNCT = re.compile(r"[,\[\]()]")


@dataclass(frozen=True)
class Listed:
    """One item of a listing page."""

    url: str
    published: datetime | None
    date_only: bool
    title: str | None = None


def parse_listing_date(text: str, m: ListingMethod, tz: ZoneInfo) -> tuple[datetime | None, bool]:
    """(aware UTC datetime, date_only) from a listing's date text or attribute."""
    text = " ".join(text.split())
    if not text:
        return None, False
    if m.date_format:
        try:
            naive = datetime.strptime(text, m.date_format)
        except ValueError:
            pass  # the format did not fit this item (e.g. no time printed): try the parsers
        else:
            return naive.replace(tzinfo=tz).astimezone(UTC), "%H" not in m.date_format
    try:
        iso = datetime.fromisoformat(text)
    except ValueError:
        iso = None
    if iso is not None:
        date_only = len(text) == 10
        if iso.tzinfo is None:
            iso = iso.replace(tzinfo=tz)
        return iso.astimezone(UTC), date_only
    language = m.date_locale or m.language
    found = parse_text_date(text, language=language, tz=tz)
    if found is None:
        # "26 նոյեմբերի, 2026" and "21.02.2026 [19:22]": commas and brackets hide the date.
        found = parse_text_date(_PUNCT.sub(" ", text), language=language, tz=tz)
    return found, found is not None and not _HAS_TIME.search(text)


def listed_title(node: Selector, m: ListingMethod) -> str | None:
    """An item's title: the ``title`` selector's text, else the text of the link element."""
    if m.title:
        text = " ".join(node.css(m.title).getall())
    else:
        # The link selector names an attribute ("a.title::attr(href)"); its element's text
        # is the headline. An empty element part means the item itself is the link.
        element = m.link.split("::", 1)[0].strip()
        links = node.css(element) if element else [node]
        text = links[0].xpath("string()").get("") if links else ""
        # A link that wraps the whole card also holds its date: that is not the headline.
        for printed in node.css(m.date).getall() if m.date else []:
            if printed.strip():
                text = text.replace(printed.strip(), " ")
    return " ".join(text.split()) or None


def listed_items(response: Response, m: ListingMethod, tz: ZoneInfo) -> list[Listed]:
    """Links, dates and titles of the items on a listing page (duplicates dropped, order kept)."""
    out: list[Listed] = []
    seen: set[str] = set()
    for node in response.css(m.item):
        href = (node.css(m.link).get() or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        url = response.urljoin(href)
        if url in seen:
            continue  # desktop and mobile blocks list the same item twice (kremlin.ru)
        seen.add(url)
        when, date_only = (None, False)
        if m.date:
            when, date_only = parse_listing_date(" ".join(node.css(m.date).getall()), m, tz)
        out.append(Listed(url, when, date_only, listed_title(node, m)))
    return out


class ListingSpider(SourceSpider):
    """Reads every ``method: listing`` entry of one source."""

    name = "listing"
    method_kind = "listing"

    async def start(self) -> AsyncIterator[Any]:
        """First listing pages, or per-day archive pages for a backfill."""
        for _i, m in self.methods():
            assert isinstance(m, ListingMethod)
            if self.backfill and m.archive_url:
                for day in self.archive_days():
                    yield self.discovery_request(
                        m.archive_url.format(date=day), m.url, self.parse_listing, cfg=m, day=day
                    )
            else:
                yield self.discovery_request(m.url, m.url, self.parse_listing, cfg=m, page=0)

    def archive_days(self) -> list[date]:
        """Days of the window, newest first, in the source's time zone."""
        assert self.since is not None
        last = self.upper_bound().astimezone(self.tz).date()
        first = self.since.astimezone(self.tz).date()
        days: list[date] = []
        day = min(last, datetime.now(self.tz).date())
        while day >= first and len(days) < MAX_ARCHIVE_DAYS:
            days.append(day)
            day -= timedelta(days=1)
        return days

    def parse_listing(self, response: Response) -> Iterable[Any]:
        """Request the new in-window items; decide whether to read the next page."""
        m: ListingMethod = response.meta["cfg"]
        key = response.meta["key"]
        if not self.discovery_ok(response):
            yield self.discovery_outcome(response, Outcome.NOT_MODIFIED)
            return
        items = listed_items(response, m, self.tz)
        day: date | None = response.meta.get("day")
        if day is not None:
            # Items of a per-day archive page are from that day unless they say otherwise.
            start = datetime.combine(day, datetime.min.time(), self.tz).astimezone(UTC)
            items = [
                i if i.published else replace(i, published=start, date_only=True) for i in items
            ]
        yield self.discovery_outcome(response, Outcome.LISTED)
        wanted = [
            i
            for i in items
            if self.wants_article(i.url)
            and not (m.url_pattern and not re.search(m.url_pattern, i.url))
        ]
        in_window = [i for i in wanted if self.in_window(key, i.published, date_only=i.date_only)]
        self.crawler.stats.inc_value("newsmon/out_of_window", len(wanted) - len(in_window))
        known = self.known([i.url for i in in_window])
        for item in in_window:
            self.saw(key, item.published)
            if item.url in known:
                continue
            req = self.article_request(
                item.url,
                key=key,
                published=item.published,
                language=m.language,
                title=item.title,
            )
            if req is not None:
                yield req
        if day is not None or not m.page_url or not items:
            return
        page = int(response.meta.get("page", 0))  # pages read after the first
        limit = m.backfill_max_pages if self.backfill else m.max_pages
        reached_start = any(
            self.older_than_window(key, i.published, date_only=i.date_only) for i in items
        )
        all_known = bool(in_window) and len(known) == len(in_window)
        # Some CMSs answer a page number past the end with the last page again (Bitrix).
        signature = tuple(i.url for i in items)
        repeated = signature == response.meta.get("previous")
        if (
            page + 1 < limit
            and not reached_start
            and not repeated
            and (self.backfill or not all_known)
        ):
            number = m.first_page + page + 1
            yield self.discovery_request(
                m.page_url.format(page=number),
                key,
                self.parse_listing,
                cfg=m,
                page=page + 1,
                previous=signature,
            )
