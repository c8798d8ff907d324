"""Recording pages, the crawl-state extension and the crawl process's boundaries (no HTTP)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.utils.test import get_crawler
from sqlalchemy import select

import crawlers.spiders.base
import crawlers.spiders.feed
import crawlers.spiders.listing
import crawlers.spiders.recheck
import crawlers.spiders.sitemap
from crawlers.extensions import CrawlStateExtension
from crawlers.items import PageItem
from crawlers.pipelines import RecordPipeline
from crawlers.spiders.feed import FeedSpider
from pipeline.config.settings import get_settings
from pipeline.errors import Outcome
from pipeline.store.crawlstate import list_states
from pipeline.store.db import session_scope
from pipeline.store.models import Document, Page, Source, utcnow
from pipeline.store.pages import NO_WINDOW, Window, known_urls, record_fetch
from pipeline.store.runs import run_counts
from pipeline.text.urls import url_hash

FEED = "http://127.0.0.9/en/rss.xml"
BROKEN = "http://127.0.0.9/ru/rss.xml"
SOURCES = f"""\
sources:
  - name: quiet-ministry
    type: ministry
    country: ZZ
    languages: [en, ru]
    homepage: http://127.0.0.9/
    allowed_domains: [127.0.0.9]
    timezone: Europe/Moscow
    discovery:
      - {{method: feed, url: "{FEED}", language: en}}
      - {{method: feed, url: "{BROKEN}", language: ru}}
"""
SETTINGS = {"EXTENSIONS": {"crawlers.extensions.CrawlStateExtension": 500}}
PAGE = b"<html><head><title>Talks</title></head><body><p>The talks went on.</p></body></html>"


@pytest.fixture
def sources_file(db_url: str, tmp_path: Path) -> Path:
    """A one-source file on a loopback address that is never contacted."""
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES, encoding="utf-8")
    return path


def feed_crawler(sources_file: Path, **spider_args: str) -> tuple[Crawler, FeedSpider]:
    """A configured crawler with the project's extension and its feed spider (not started)."""
    crawler = get_crawler(FeedSpider, SETTINGS)
    spider = crawler._create_spider(
        source="quiet-ministry", sources_file=str(sources_file), **spider_args
    )
    assert isinstance(spider, FeedSpider)
    crawler.spider = spider
    return crawler, spider


def test_extension_loads_state_on_open_and_writes_every_touched_key_on_close(
    sources_file: Path,
) -> None:
    crawler, spider = feed_crawler(sources_file)
    assert spider.source_id is None  # the spider itself reads nothing from the database
    crawler.signals.send_catch_log(signals.spider_opened, spider=spider)
    assert spider.source_id is not None and spider.stored_state == {}
    newest = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    good = spider.key(FEED, "feed")
    good.touched, good.ok, good.status, good.newest = True, True, 200, newest
    good.etag = '"v1"'
    broken = spider.key(BROKEN, "feed")
    broken.touched, broken.failed, broken.status = True, True, 500
    broken.error = "HTTP 500"
    spider.key("http://127.0.0.9/never-requested", "feed")  # not touched: not written
    crawler.signals.send_catch_log(signals.spider_closed, spider=spider, reason="finished")
    with session_scope() as session:
        rows = {s.key: s for s in list_states(session, "quiet-ministry")}
    assert set(rows) == {FEED, BROKEN}
    assert rows[FEED].etag == '"v1"' and rows[FEED].high_water == newest
    assert rows[FEED].last_success_at == spider.started and rows[FEED].last_error is None
    assert rows[BROKEN].last_error == "HTTP 500" and rows[BROKEN].last_status == 500
    assert rows[BROKEN].last_success_at is None

    # The next spider of the source gets the saved state: a conditional GET, a resume point.
    crawler2, spider2 = feed_crawler(sources_file)
    crawler2.signals.send_catch_log(signals.spider_opened, spider=spider2)
    assert spider2.source_id == spider.source_id
    assert spider2.conditional_headers(FEED) == {"If-None-Match": '"v1"'}
    assert spider2.lower_bound(FEED) < spider.started
    assert spider2.conditional_headers(BROKEN) == {}


def test_extension_stops_a_spider_whose_state_cannot_be_loaded(
    sources_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crawler, spider = feed_crawler(sources_file)
    # A directory where the SQLite file should be: the database cannot be opened.
    (tmp_path / "not-a-db").mkdir()
    monkeypatch.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{tmp_path / 'not-a-db'}")
    get_settings.cache_clear()
    ext = CrawlStateExtension(crawler)
    with pytest.raises(CloseSpider) as stopped:
        ext.spider_opened(spider)
    assert stopped.value.reason == "newsmon_state_unavailable"
    assert spider.source_id is None
    ext.spider_closed(spider, "newsmon_state_unavailable")  # nothing to write, no error


def _record(crawler: Crawler, item: PageItem) -> str:
    """Run one item through a fresh record pipeline; the outcome it counted."""
    pipeline = RecordPipeline.from_crawler(crawler)
    pipeline.open_spider()
    pipeline.process_item(item)
    pipeline.close_spider()
    assert pipeline.tally is not None
    (outcome,) = pipeline.tally.by_outcome()
    return outcome


def test_record_pipeline_records_discovery_and_window_and_counts_recorded(
    sources_file: Path,
) -> None:
    crawler, spider = feed_crawler(sources_file, since="2026-11-01", until="2026-11-10")
    crawler.signals.send_catch_log(signals.spider_opened, spider=spider)
    when = datetime(2026, 11, 5, 11, 0, tzinfo=UTC)
    item = PageItem(
        source="quiet-ministry",
        url="http://127.0.0.9/en/news/1",
        final_url="http://127.0.0.9/en/news/1?lang=en",
        status=200,
        body=PAGE,
        headers={"content-type": "text/html; charset=utf-8", "etag": '"p1"'},
        method="feed",
        language="en",
        published=when,
        title="Talks on the border",
    )
    assert _record(crawler, item) == Outcome.RECORDED
    with session_scope() as session:
        page = session.scalar(select(Page))
        assert page is not None
        assert (page.discovery_method, page.discovered_published, page.discovered_title) == (
            "feed",
            when,
            "Talks on the border",
        )
        assert (page.discovered_language, page.via_feed, page.etag) == ("en", False, '"p1"')
        assert (page.window_start, page.window_end) == (spider.since, spider.until)
        assert page.window_start is not None and page.window_start.date().isoformat() == (
            "2026-10-31"  # midnight in Moscow is 21:00 UTC the day before
        )
        assert page.processed_at is None and page.outcome is None  # queued for processing
        assert spider.run_id is not None and page.recorded_run_id == spider.run_id
        assert page.final_url == "http://127.0.0.9/en/news/1?lang=en"
        assert session.scalar(select(Document)) is None  # recording cleans nothing
        counts = run_counts(session, spider.run_id)
        assert counts == {(spider.source_id, "recorded"): 1}
        # The process stage handled it; the same bytes fetched again are "unchanged".
        page.processed_at, page.outcome = utcnow(), "new"
    assert _record(crawler, item) == Outcome.UNCHANGED
    changed = PageItem(**{**item.__dict__, "body": PAGE.replace(b"went on", b"ended")})
    assert _record(crawler, changed) == Outcome.RECORDED


def test_a_recheck_keeps_what_discovery_recorded(sources_file: Path) -> None:
    crawler, spider = feed_crawler(sources_file)
    crawler.signals.send_catch_log(signals.spider_opened, spider=spider)
    when = datetime(2026, 11, 5, 11, 0, tzinfo=UTC)
    first = PageItem(
        "quiet-ministry", "http://127.0.0.9/en/news/2", "http://127.0.0.9/en/news/2", 200, PAGE
    )
    first.published, first.title, first.method = when, "Talks", "listing"
    assert _record(crawler, first) == Outcome.RECORDED
    again = PageItem(**{**first.__dict__, "body": PAGE + b" ", "method": "recheck"})
    again.published, again.title = None, None
    assert _record(crawler, again) == Outcome.RECORDED
    with session_scope() as session:
        page = session.scalar(select(Page))
        assert page is not None
        assert (page.discovery_method, page.discovered_published, page.discovered_title) == (
            "listing",
            when,
            "Talks",
        )
        assert page.window_start is None and page.window_end is None


def test_known_urls_forget_pages_another_window_left_out(any_db_url: str) -> None:
    w1 = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 10, tzinfo=UTC))
    w2 = Window(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 10, tzinfo=UTC))
    urls = [f"https://example.org/news/{n}" for n in range(4)]
    with session_scope() as session:
        src = Source(name="s", type="media", country="ZZ", languages=["en"], config={})
        session.add(src)
        session.flush()
        left_out = record_fetch(session, urls[0], source=src, status=200, body=b"a", window=w1)
        left_out.processed_at, left_out.outcome = utcnow(), "out_of_window"
        stored = record_fetch(session, urls[1], source=src, status=200, body=b"b", window=w1)
        stored.processed_at, stored.outcome = utcnow(), "new"
        record_fetch(session, urls[2], source=src, status=200, body=b"c", window=w1)  # pending
    with session_scope() as session:
        everything = known_urls(session, urls)
        assert set(everything) == set(urls[:3])
        assert all(everything[u] is not None for u in urls[:3])
        # The same window left it out already: fetching it again would change nothing.
        assert set(known_urls(session, urls, window=w1)) == set(urls[:3])
        # Another window may cover its date: not known, so the backfill fetches it again.
        assert set(known_urls(session, urls, window=w2)) == set(urls[1:3])
        assert set(known_urls(session, urls, window=NO_WINDOW)) == set(urls[:3])


def test_known_urls_in_batches_and_documents_without_pages(db_url: str) -> None:
    urls = [f"https://example.org/a/{n}" for n in range(1203)]
    with session_scope() as session:
        for url in urls[::100]:
            record_fetch(session, url, source=None, status=200, body=url.encode())
        session.add(
            Document(
                url_hash=url_hash(urls[-1]),
                url=urls[-1],
                canonical_url=urls[-1],
                title="t",
                text="x",
                content_hash="h",
                extraction_method="trafilatura",
                search_text="t x",
                first_seen_at=utcnow() - timedelta(days=1),
                update_count=0,
            )
        )
    with session_scope() as session:
        found = known_urls(session, urls)
    assert set(found) == set(urls[::100]) | {urls[-1]}
    assert found[urls[-1]] is None  # a document without a fetched page: known, never fetched


def test_spiders_open_no_sessions_and_crawlers_import_no_processing() -> None:
    for module in (
        crawlers.spiders.base,
        crawlers.spiders.feed,
        crawlers.spiders.listing,
        crawlers.spiders.sitemap,
        crawlers.spiders.recheck,
    ):
        assert not hasattr(module, "session_scope"), module.__name__
    code = (
        "import sys, crawlers.pipelines, crawlers.extensions, crawlers.commands.crawlsource, "
        "crawlers.spiders.feed, crawlers.spiders.listing, crawlers.spiders.sitemap, "
        "crawlers.spiders.recheck; "
        "print(sorted(m for m in sys.modules if m.startswith(("
        "'pipeline.dedup', 'pipeline.topics', 'pipeline.stages'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"
