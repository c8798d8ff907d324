"""Items the spiders yield; the record pipeline turns each into exactly one counted outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class PageItem:
    """A fetched article page (or a full-text feed entry rendered as HTML), recorded raw."""

    source: str
    url: str  # the URL as discovered (pages.url / pages.url_hash)
    final_url: str  # after redirects; the document's URL
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "page"  # discovery method that found it: feed | sitemap | listing | recheck
    language: str | None = None  # the discovery method's language, a hint
    published: datetime | None = None  # date seen at discovery (feed/listing/sitemap)
    title: str | None = None  # title seen at discovery (feed entry, listing link)
    via_feed: bool = False  # body is a feed entry, not a fetched page


@dataclass
class OutcomeItem:
    """A request that ended without a page to store (304, robots, too large, HTTP error, ...)."""

    source: str
    url: str
    outcome: str  # a pipeline.errors.Outcome value
    reason: str = ""
    discovery: bool = False  # a feed/sitemap/listing request rather than an article
