"""A backfill records what its discovery dates put in the window; processing judges the page.

The TASS sitemaps date entries by their last modification, so an old article updated inside
a backfill's window is listed there, fetched and recorded, and only processing (which reads the
page's own publication date) finds it outside the window. A later backfill whose window covers
its publication date fetches it again and stores it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.devtools.replay.server import ReplayServer
from pipeline.devtools.replay.site import ArticleSpec
from pipeline.errors import Outcome
from pipeline.stages.crawl import run_crawl
from pipeline.stages.ingest import process_pending
from pipeline.store.db import session_scope
from pipeline.store.models import Document, Page
from pipeline.text.urls import url_hash
from tests.crawlers.conftest import FAST

# The TASS archive sitemaps only, so the test article is found by its sitemap date alone.
SOURCES = """\
sources:
  - name: tass-archive
    type: wire
    country: RU
    languages: [en]
    homepage: {home}
    allowed_domains: [{ip}]
    timezone: Europe/Moscow
    discovery:
      - method: sitemap
        url: {index}
        language: en
        follow: /sitemap_news\\d+\\.xml$
        max_sitemaps: 3
        url_pattern: /[a-z-]+/\\d{{6,8}}$
    article: {{title: h1.news-header__title, body: div.text-block, quirks: tass}}
"""
BODY = """\
MOSCOW, {{ published | fmt('%B %-d') }}. /TASS/. The river port authority reopened the northern \
grain terminal after a three-week repair of its loading cranes and mooring walls.

Port officials said the terminal will handle up to forty barges a day through the autumn \
season, and that a second berth is due to reopen before the river freezes.
"""


def page_row(url: str) -> Page:
    """The recorded page of ``url`` (detached)."""
    with session_scope() as session:
        page = session.scalar(select(Page).where(Page.url_hash == url_hash(url)))
        assert page is not None, url
        return page


def document_of(url: str) -> Document | None:
    """The stored document of ``url``, if any (detached)."""
    with session_scope() as session:
        return session.scalar(select(Document).where(Document.url_hash == url_hash(url)))


@pytest.mark.slow
def test_a_page_outside_the_window_is_recorded_then_stored_by_a_covering_backfill(
    replay: ReplayServer, crawl_env: str, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        SOURCES.format(
            home=replay.url_for("tass.com", "/"),
            ip=replay.ip_for("tass.com"),
            index=replay.url_for("tass.com", "/sitemap.xml"),
        ),
        encoding="utf-8",
    )
    today = replay.today
    # Published 20 days ago, updated 10 days ago: the sitemap's lastmod is the update. (Added
    # "at" the update, so the replica does not stamp it as modified now.)
    updated = datetime.combine(today - timedelta(days=10), time(9, 0), UTC)
    spec = ArticleSpec(
        id="2209999",
        lang="en",
        section="economy",
        path="/economy/2209999",
        days_ago=20,
        time="10:00",
        updated_days_ago=10,
        updated_time="12:00",
        title="River port reopens northern grain terminal after crane repairs",
        lead="The terminal will handle up to forty barges a day",
        vars={"rubric": "Economy", "tags": ["Ports"]},
        body=BODY,
    )
    art = replay.runtime("tass.com").add(spec, updated)
    url = replay.article_url("tass.com", art.id)
    assert art.updated == art.modified == updated
    since = datetime.combine(today - timedelta(days=12), time.min, UTC)
    until = datetime.combine(today - timedelta(days=8), time.max, UTC)
    assert since <= art.updated <= until and art.published < since

    first = run_crawl(
        ["tass-archive"], since, until, sources_file=sources, polite=False, scrapy_settings=FAST
    )
    assert first.ok
    assert first.counts["tass-archive"][Outcome.RECORDED] >= 1
    page = page_row(url)
    assert (page.discovery_method, page.discovered_published) == ("sitemap", art.updated)
    assert (page.window_start, page.window_end) == (since, until)
    assert page.processed_at is None and document_of(url) is None
    processed = process_pending().outcomes
    assert processed[Outcome.OUT_OF_WINDOW] >= 1
    assert page_row(url).outcome == Outcome.OUT_OF_WINDOW
    assert document_of(url) is None

    # The same window again: the page it left out is not fetched again.
    replay.clear_requests()
    again = run_crawl(
        ["tass-archive"], since, until, sources_file=sources, polite=False, scrapy_settings=FAST
    )
    assert again.ok
    assert [r for r in replay.requests_for("tass.com") if r.path == art.path] == []

    # A later backfill reaching back to the publication date fetches it again and stores it.
    wider = datetime.combine(today - timedelta(days=25), time.min, UTC)
    replay.clear_requests()
    second = run_crawl(
        ["tass-archive"], wider, until, sources_file=sources, polite=False, scrapy_settings=FAST
    )
    assert second.ok
    fetched = [r.path for r in replay.requests_for("tass.com") if r.path.startswith("/economy/")]
    assert fetched.count(art.path) == 1
    page = page_row(url)
    assert (page.window_start, page.window_end) == (wider, until)
    assert page.processed_at is None  # queued again for this window
    processed = process_pending().outcomes
    assert processed.get(Outcome.NEW, 0) >= 1
    doc = document_of(url)
    assert doc is not None and doc.published_at == art.published
    assert page_row(url).outcome == Outcome.NEW
