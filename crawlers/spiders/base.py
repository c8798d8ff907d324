"""What every generic spider shares: the source's config, its window, its state and outcomes.

Spider arguments (``scrapy crawl feed -a source=kremlin -a since=2026-11-01``):
``source`` (required), ``since`` / ``until`` (ISO dates or timestamps; an explicit
``since`` makes the run a backfill), ``run_id`` (the ``runs`` row to count into),
``sources_file`` (default: the configured one).

The spider opens no database sessions of its own: :class:`crawlers.extensions.CrawlStateExtension`
gives it its source row id and stored crawl state when it opens and saves the state of its
discovery URLs when it closes; "already stored?" lookups go through :mod:`crawlers.state`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.items import OutcomeItem, PageItem
from crawlers.outcomes import classify_failure, first_url, header
from crawlers.state import KeyState, StoredState, known_pages
from pipeline.config.settings import get_settings
from pipeline.config.sources import Discovery, SourceConfig, load_sources
from pipeline.errors import Outcome
from pipeline.store.pages import NO_WINDOW, Window
from pipeline.text import window

# Sites list items late or backdate them; looking this far behind the high-water mark costs
# nothing (stored URLs are skipped by the database check) and catches them.
HWM_SLACK = timedelta(hours=12)
# Without --until, items stamped up to a day ahead are accepted (time-zone mislabels).
FUTURE_SLACK = timedelta(days=1)
HTML_TYPES = ("text/html", "application/xhtml+xml")


def parse_moment(value: str | None, tz: ZoneInfo, *, end: bool = False) -> datetime | None:
    """A ``since``/``until`` argument as aware UTC; the rule is ``pipeline.text.window``'s."""
    return window.parse_moment(value, tz, end=end, name="until" if end else "since")


class SourceSpider(scrapy.Spider):
    """Base of the feed, sitemap, listing and recheck spiders."""

    method_kind: ClassVar[str] = ""

    def __init__(
        self,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        run_id: str | int | None = None,
        sources_file: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not source:
            raise ValueError("spider argument 'source' is required (-a source=NAME)")
        super().__init__(**kwargs)
        self.sources_file = Path(sources_file) if sources_file else None
        self.cfg: SourceConfig = load_sources(self.sources_file).get(source)
        self.source_name = source
        self.allowed_domains = list(self.cfg.allowed_domains)
        self.tz = ZoneInfo(self.cfg.timezone)
        self.started = datetime.now(UTC)
        self.since = parse_moment(since, self.tz)
        self.until = parse_moment(until, self.tz, end=True)
        self.backfill = self.since is not None
        self.run_id = int(run_id) if run_id not in (None, "") else None
        self.articles_requested = 0
        # Article URLs requested in this run. Requests bypass Scrapy's duplicate filter so that
        # a redirect loop runs into REDIRECT_MAX_TIMES (a counted error) instead of being
        # silently dropped as a duplicate; this set keeps each article to one request.
        self.requested: set[str] = set()
        self.keys: dict[str, KeyState] = {}
        # Set by CrawlStateExtension when the spider opens (before its first request).
        self.source_id: int | None = None
        self.stored_state: StoredState = {}

    # ------------------------------------------------------------------ state and window

    @property
    def window(self) -> Window:
        """The run's explicit --since/--until window (recorded with each page), else none."""
        if self.since is None and self.until is None:
            return NO_WINDOW
        return Window(self.since, self.until)

    def methods(self) -> list[tuple[int, Discovery]]:
        """This spider's discovery entries of the source (by index)."""
        return [(i, m) for i, m in enumerate(self.cfg.discovery) if m.method == self.method_kind]

    def key(self, key: str, method: str) -> KeyState:
        """The run state of one discovery URL."""
        if key not in self.keys:
            self.keys[key] = KeyState(method=method)
        return self.keys[key]

    def lower_bound(self, key: str) -> datetime:
        """Oldest item date wanted from ``key``: the window start, or the high-water mark."""
        if self.since is not None:
            return self.since
        st = self.stored_state.get(key, {})
        anchors: list[datetime] = [
            v for v in (st.get("high_water"), st.get("last_success_at")) if v is not None
        ]
        if anchors:
            return min(anchors) - HWM_SLACK
        return self.started - timedelta(days=get_settings().first_run_days)

    def upper_bound(self) -> datetime:
        """Newest item date wanted."""
        return self.until if self.until is not None else self.started + FUTURE_SLACK

    def in_window(self, key: str, when: datetime | None, *, date_only: bool = False) -> bool:
        """True for undated items and items inside the window (a bare date covers its day)."""
        if when is None:
            return True
        lower, upper = self.lower_bound(key), self.upper_bound()
        if date_only:
            return when + timedelta(days=1) > lower and when <= upper
        return lower <= when <= upper

    def older_than_window(
        self, key: str, when: datetime | None, *, date_only: bool = False
    ) -> bool:
        """True when an item is older than the window start (paging can stop)."""
        if when is None:
            return False
        end = when + timedelta(days=1) if date_only else when
        return end <= self.lower_bound(key)

    def saw(self, key: str, when: datetime | None) -> None:
        """Remember the newest in-window item date of ``key`` (the next high-water mark)."""
        st = self.keys.get(key)
        if st is not None and when is not None and (st.newest is None or when > st.newest):
            st.newest = when

    def conditional_headers(self, key: str) -> dict[str, str]:
        """If-None-Match / If-Modified-Since for an incremental run (never for backfills)."""
        if self.backfill:
            return {}
        st = self.stored_state.get(key, {})
        headers = {}
        if st.get("etag"):
            headers["If-None-Match"] = st["etag"]
        if st.get("last_modified"):
            headers["If-Modified-Since"] = st["last_modified"]
        return headers

    # ------------------------------------------------------------------ requests

    def discovery_request(self, url: str, key: str, callback: Any, **meta: Any) -> scrapy.Request:
        """A feed/sitemap/listing request: 304 reaches the callback; failures are counted."""
        first = url == key
        self.key(key, self.method_kind).touched = True
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.discovery_failed,
            headers=self.conditional_headers(key) if first else {},
            meta={"key": key, "discovery": True, "handle_httpstatus_list": [304], **meta},
            dont_filter=True,
        )

    def discovery_ok(self, response: Response) -> bool:
        """Count a discovery response; False when there is nothing to parse (304)."""
        key = response.meta["key"]
        st = self.key(key, self.method_kind)
        st.status = response.status
        if response.status == 304:
            st.ok = True
            self.crawler.stats.inc_value("newsmon/discovery_not_modified")
            return False
        if first_url(response) == key:
            st.validators = {
                k: v
                for k, v in (
                    ("etag", header(response, "ETag")),
                    ("last_modified", header(response, "Last-Modified")),
                )
                if v
            }
        return True

    def discovery_outcome(
        self, response: Response, outcome: Outcome, reason: str = ""
    ) -> OutcomeItem:
        """The counted outcome of a discovery page; LISTED marks the key successful."""
        key = response.meta["key"]
        st = self.key(key, self.method_kind)
        if outcome in (Outcome.LISTED, Outcome.NOT_MODIFIED):
            st.ok = True
            if first_url(response) == key:
                st.etag = st.validators.get("etag")
                st.last_modified = st.validators.get("last_modified")
        else:
            st.failed = True
            st.error = reason or str(outcome)
        return OutcomeItem(self.source_name, response.url, str(outcome), reason, discovery=True)

    def known(self, urls: Iterable[str]) -> dict[str, datetime | None]:
        """URLs already stored (as a document or a fetched page) -> when the page was fetched.

        In a backfill, pages an earlier window left out are not known: they are fetched and
        recorded again with this run's window.
        """
        found = known_pages(urls, self.window)
        if found:
            self.crawler.stats.inc_value("newsmon/known_skipped", len(found))
        return found

    def wants_article(self, url: str) -> bool:
        """On an allowed host and matching the source's article URL pattern."""
        import re

        if not self.cfg.allows(url):
            self.crawler.stats.inc_value("newsmon/offsite_links")
            return False
        pattern = self.cfg.article.url_pattern
        return not (pattern and not re.search(pattern, url))

    def article_request(
        self,
        url: str,
        *,
        key: str,
        published: datetime | None,
        language: str | None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> scrapy.Request | None:
        """A request for an article page, or None when the per-run cap is reached."""
        if self.cfg.crawl.feed_only:
            self.crawler.stats.inc_value("newsmon/feed_only_skipped")
            return None
        if url in self.requested:
            return None
        if self.articles_requested >= self.cfg.crawl.max_articles:
            self.crawler.stats.inc_value("newsmon/capped")
            return None
        self.articles_requested += 1
        self.requested.add(url)
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.article_failed,
            headers=headers or {},
            meta={
                "key": key,
                "published": published,
                "language": language,
                "title": title,
                "handle_httpstatus_list": [304],
            },
            dont_filter=True,
        )

    def parse_article(self, response: Response) -> Iterable[PageItem | OutcomeItem]:
        """An article page: 304 -> not modified; non-HTML -> bad content; else record it."""
        url = first_url(response)
        if response.status == 304:
            yield OutcomeItem(self.source_name, url, str(Outcome.NOT_MODIFIED))
            return
        ctype = header(response, "Content-Type") or ""
        if ctype and not ctype.lower().startswith(HTML_TYPES):
            yield OutcomeItem(
                self.source_name, url, str(Outcome.BAD_CONTENT), f"content type {ctype}"
            )
            return
        yield PageItem(
            source=self.source_name,
            url=url,
            final_url=response.url,
            status=response.status,
            body=response.body,
            headers={
                k: v
                for k, v in (
                    ("content-type", ctype),
                    ("etag", header(response, "ETag")),
                    ("last-modified", header(response, "Last-Modified")),
                )
                if v
            },
            method=self.method_kind,
            language=response.meta.get("language"),
            published=response.meta.get("published"),
            title=response.meta.get("title"),
        )

    # ------------------------------------------------------------------ failures

    def discovery_failed(self, failure: Failure) -> Iterable[OutcomeItem]:
        """A feed/sitemap/listing request failed: counted; the key is not successful."""
        request = failure.request  # type: ignore[attr-defined]
        outcome, reason = classify_failure(failure)
        st = self.key(request.meta["key"], self.method_kind)
        status = getattr(getattr(failure.value, "response", None), "status", None)
        if status in (404, 410) and request.url != request.meta["key"]:
            # A later page or archive day that does not exist: the end of the archive, not a
            # failure of the source (counted all the same, like every fetched page).
            reason = f"{reason} (end of paging)"
        else:
            st.failed = True
            st.error = reason
            st.status = status
        self.crawler.stats.inc_value(f"newsmon/discovery_{outcome}")
        yield OutcomeItem(self.source_name, request.url, str(outcome), reason, discovery=True)

    def article_failed(self, failure: Failure) -> Iterable[OutcomeItem]:
        """An article request failed: one counted outcome, the crawl continues."""
        request = failure.request  # type: ignore[attr-defined]
        outcome, reason = classify_failure(failure)
        url = request.meta.get("redirect_urls", [request.url])[0]
        yield OutcomeItem(self.source_name, url, str(outcome), reason)
