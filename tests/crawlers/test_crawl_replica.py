"""End-to-end crawls of the offline replica (subprocess spiders, SQLite, loopback only).

A crawl only fetches and records pages; documents appear when the process stage runs
(``process_pending``, the DAG's ``process`` task), so every test processes after crawling.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from pipeline.config.settings import get_settings
from pipeline.config.sources import FeedMethod, load_sources
from pipeline.devtools.replay.server import ReplayServer
from pipeline.errors import ConfigError, Outcome
from pipeline.stages.crawl import run_crawl
from pipeline.stages.ingest import process_pending
from pipeline.store.crawlstate import SOURCE_KEY, list_states
from pipeline.store.db import session_scope
from pipeline.store.models import Document, Page
from tests.crawlers.conftest import FAST, TOPICS, replica_sources

# Every discovery method: mid.ru feed + listing, Kremlin full-text Atom, TASS feed + sitemap
# + full-text yandex feed.
MAIN = ["mid-ru", "kremlin", "tass"]
MAIN_SITES = ["mid.ru", "kremlin.ru", "en.kremlin.ru", "tass.com", "tass.ru"]
# Sites whose feeds carry the full text: their entries are recorded, their pages never fetched.
FULL_TEXT_SITES = {"kremlin.ru", "en.kremlin.ru", "tass.ru"}


def stored_urls() -> set[str]:
    """URLs of every stored document."""
    with session_scope() as session:
        return set(session.scalars(select(Document.url)))


def recorded_urls() -> set[str]:
    """URLs of every recorded page."""
    with session_scope() as session:
        return set(session.scalars(select(Page.url)))


def check_discovery(replay: ReplayServer, run_id: int, sites: list[str]) -> None:
    """Each recorded page carries its article's discovery date and title, and the run id."""
    by_url = {
        replay.article_url(site, a.id): (site, a) for site in sites for a in replay.articles(site)
    }
    with session_scope() as session:
        pages = list(session.scalars(select(Page)))
    assert pages
    for page in pages:
        site, art = by_url[page.url]
        assert page.recorded_run_id == run_id and page.processed_at is None, page.url
        assert page.discovery_method in ("feed", "listing", "sitemap"), page.url
        assert page.discovered_title == art.title, page.url
        # Feeds and listings give the time to the minute, sitemaps the modification time.
        if page.discovery_method != "sitemap":
            assert page.discovered_published == art.published, page.url
        assert page.window_start is None and page.window_end is None  # no explicit window
        # Full-text feed entries are recorded as they came: the site's page is not fetched.
        assert page.via_feed == (site in FULL_TEXT_SITES), page.url


def process() -> Counter[str]:
    """Run the process stage over every recorded page; its outcome counts."""
    return Counter(process_pending().outcomes)


def expected_urls(
    replay: ReplayServer, sites: list[str], since: datetime, until: datetime
) -> set[str]:
    """Replica article URLs published inside [since, until]."""
    return {
        replay.article_url(site, a.id)
        for site in sites
        for a in replay.articles(site)
        if since <= a.published <= until
    }


def article_paths(replay: ReplayServer, sites: list[str]) -> set[tuple[str, str]]:
    """(site, path) of every article, drafts included."""
    return {(s, a.path) for s in sites for a in replay.articles(s, drafts=True)}


def feed_urls(sources_file: Path, names: list[str]) -> list[str]:
    """URLs of the feeds of the named sources."""
    return [
        m.url
        for src in load_sources(sources_file).sources
        if src.name in names
        for m in src.discovery
        if isinstance(m, FeedMethod)
    ]


@pytest.mark.slow
def test_first_run_second_run_and_new_article(
    replay: ReplayServer, crawl_env: str, tmp_path: Path
) -> None:
    sources = replica_sources(replay, MAIN, tmp_path / "sources.yaml")
    now = datetime.now(UTC)
    first = run_crawl(MAIN, sources_file=sources, polite=False, group=True, scrapy_settings=FAST)
    assert first.ok
    # Every article of the default first-run window (NEWSMON_FIRST_RUN_DAYS=7) is recorded
    # once, with what its feed or listing said about it; nothing is a document yet.
    want = expected_urls(replay, MAIN_SITES, now - timedelta(days=7), now + timedelta(days=1))
    assert want and recorded_urls() == want
    assert stored_urls() == set()
    totals = first.totals()
    assert totals[Outcome.RECORDED] == len(want)
    assert not {Outcome.NEW, Outcome.DUPLICATE, Outcome.OUT_OF_WINDOW} & set(totals)
    check_discovery(replay, first.run_id, MAIN_SITES)
    processed = process()
    assert processed[Outcome.NEW] + processed[Outcome.DUPLICATE] == len(want)
    assert stored_urls() == want
    articles = article_paths(replay, MAIN_SITES)
    fetched = Counter((r.site, r.path) for r in replay.requests if (r.site, r.path) in articles)
    assert fetched and max(fetched.values()) == 1
    # Full-text feeds: no Kremlin or tass.ru page is ever fetched.
    assert not {s for s, _ in fetched} & {"kremlin.ru", "en.kremlin.ru", "tass.ru"}

    replay.clear_requests()
    second = run_crawl(MAIN, sources_file=sources, polite=False, group=True, scrapy_settings=FAST)
    assert second.ok
    assert not [r for r in replay.requests if (r.site, r.path) in articles]
    feeds = feed_urls(sources, MAIN)
    feed_requests = [r for r in replay.requests if r.path in {urlsplit(u).path for u in feeds}]
    assert len(feed_requests) == len(feeds)
    assert all(r.status == 304 and r.if_none_match for r in feed_requests)
    assert set(second.totals()) == {Outcome.NOT_MODIFIED}
    assert sum(process().values()) == 0
    assert stored_urls() == want

    new = replay.publish("mid.ru", "2052240")
    replay.clear_requests()
    third = run_crawl(MAIN, sources_file=sources, polite=False, group=True, scrapy_settings=FAST)
    assert third.ok
    assert [(r.site, r.path) for r in replay.requests if (r.site, r.path) in articles] == [
        ("mid.ru", new.path)
    ]
    assert third.counts["mid-ru"][Outcome.RECORDED] == 1
    assert process() == Counter({Outcome.NEW: 1})
    assert stored_urls() == want | {replay.article_url("mid.ru", "2052240")}


@pytest.mark.slow
def test_backfill_fetches_only_the_window(
    replay: ReplayServer, crawl_env: str, tmp_path: Path
) -> None:
    sources = replica_sources(replay, ["mid-ru"], tmp_path / "sources.yaml")
    today = replay.today
    since = datetime.combine(today - timedelta(days=13), time.min, UTC)
    until = datetime.combine(today - timedelta(days=4), time.max, UTC)
    report = run_crawl(
        ["mid-ru"], since, until, sources_file=sources, polite=False, scrapy_settings=FAST
    )
    assert report.ok
    want = expected_urls(replay, ["mid.ru"], since, until)
    assert len(want) >= 3
    assert report.counts["mid-ru"][Outcome.RECORDED] == len(want)
    with session_scope() as session:
        windows = set(session.execute(select(Page.window_start, Page.window_end)))
    assert windows == {(since, until)}  # each page carries the run's window
    counts = process()
    # Every page of the window is stored; a language version of another joins its story.
    assert counts[Outcome.NEW] + counts[Outcome.DUPLICATE] == len(want)
    assert set(counts) <= {Outcome.NEW, Outcome.DUPLICATE}
    assert stored_urls() == want
    articles = article_paths(replay, ["mid.ru"])
    fetched = {
        replay.rewrite_url(f"http://mid.ru{r.path}")
        for r in replay.requests
        if ("mid.ru", r.path) in articles
    }
    assert fetched == want
    # A window ending in the past is not "the last successful crawl".
    with session_scope() as session:
        states = list_states(session, "mid-ru")
    assert states and all(s.last_success_at is None for s in states)


@pytest.mark.slow
def test_backfill_with_archive_pages_sitemap_index_and_paged_feed(
    replay: ReplayServer, crawl_env: str, tmp_path: Path
) -> None:
    names = ["news-am", "tass", "kremlin"]
    sources = replica_sources(replay, names, tmp_path / "sources.yaml")
    today = replay.today
    since = datetime.combine(today - timedelta(days=13), time.min, UTC)
    until = datetime.combine(today - timedelta(days=4), time.max, UTC)
    report = run_crawl(
        names, since, until, sources_file=sources, polite=False, group=True, scrapy_settings=FAST
    )
    assert report.ok
    process()
    # news.am per-day archive pages, the TASS sitemap index and the Kremlin paged feed reach
    # back into the window. (tass.ru is feed-only and its feed cannot be paged back.)
    sites = ["news.am", "tass.com", "kremlin.ru", "en.kremlin.ru"]
    inside = expected_urls(replay, sites, since, until)
    assert len(inside) >= 5
    stored = stored_urls()
    assert inside <= stored
    # Pages that give only a day may land on either side of an edge; nothing further out.
    slack = timedelta(days=1)
    assert stored <= expected_urls(replay, [*sites, "tass.ru"], since - slack, until + slack)
    day_paths = {r.path for r in replay.requests_for("news.am") if "/allthemes/20" in r.path}
    assert len(day_paths) >= 9  # one archive page per day of the window
    assert {r.path for r in replay.requests_for("tass.com")} >= {
        "/sitemap.xml",
        "/sitemap/sitemap_news1.xml",
    }


@pytest.mark.slow
def test_faults_are_counted_and_the_crawl_continues(
    replay: ReplayServer, crawl_env: str, tmp_path: Path
) -> None:
    names = ["replica-faults", "mid-ru"]
    sources = replica_sources(replay, names, tmp_path / "sources.yaml")
    report = run_crawl(names, sources_file=sources, polite=False, group=True, scrapy_settings=FAST)
    faults = report.counts["replica-faults"]
    # Three feeds: one good (LISTED), one malformed and one entity bomb (BAD_CONTENT).
    assert faults[Outcome.LISTED] == 1
    items = replay.articles("faults.test")
    page_outcomes = sum(faults.values()) - faults[Outcome.LISTED] - 2
    assert page_outcomes == len(items)  # exactly one counted outcome per feed item
    assert faults[Outcome.RECORDED] == 3  # good-1, good-2, binary-as-html (read when processed)
    assert faults[Outcome.ROBOTS_DENIED] == 1  # /private/hidden-report
    assert faults[Outcome.OFFSITE] == 1  # redirect to offsite.test
    assert faults[Outcome.TOO_LARGE] == 1
    assert faults[Outcome.BAD_CONTENT] == 3  # pdf (by its type), malformed feed, entities
    assert faults[Outcome.HTTP_ERROR] == 4  # 500, 404, timeout, redirect loop
    processed = process_pending(source_names=["replica-faults"]).outcomes
    assert processed == {Outcome.NEW: 2, Outcome.BAD_CONTENT: 1}
    paths = {r.path for r in replay.requests_for("faults.test")}
    assert not any(p.startswith("/private/") for p in paths)  # robots.txt obeyed
    assert replay.requests_for("offsite.test") == []
    assert all(r.user_agent == get_settings().user_agent for r in replay.requests)
    # The other source in the same process was crawled normally.
    assert report.counts["mid-ru"][Outcome.RECORDED] >= 3
    with session_scope() as session:
        state = {s.key: s for s in list_states(session, "replica-faults")}
    assert state[SOURCE_KEY].last_error  # the source is not "successful"
    assert state[SOURCE_KEY].last_success_at is None
    # The extension saved each feed's own state: the good one succeeded, the bad ones did not.
    feeds = feed_urls(sources, ["replica-faults"])
    assert set(feeds) <= set(state)
    good = [u for u in feeds if state[u].last_error is None]
    assert len(good) == 1 and state[good[0]].last_success_at is not None
    for url in set(feeds) - set(good):
        assert state[url].last_success_at is None and state[url].last_error


@pytest.mark.slow
def test_corrections_state_and_reset_via_cli(
    replay: ReplayServer, crawl_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.cli import _register, app

    _register()
    sources = replica_sources(replay, ["mid-ru"], tmp_path / "sources.yaml")
    monkeypatch.setenv("NEWSMON_SOURCES_FILE", str(sources))
    get_settings.cache_clear()
    runner = CliRunner()
    first = runner.invoke(app, ["crawl", "--source", "mid-ru", "--no-polite"])
    assert first.exit_code == 0, first.output
    assert "recorded" in first.stdout
    assert process()[Outcome.NEW] >= 3

    # An article is corrected on the site; our copy was fetched a day ago.
    art = replay.articles("mid.ru", lang="en")[0]
    spec = art.spec.model_dump()
    spec["body"] = (
        spec["body"] + "\n\nThe ministry later added that experts will meet again next week."
    )
    replay.add_article("mid.ru", **spec)
    with session_scope() as session:
        session.execute(update(Page).values(fetched_at=datetime.now(UTC) - timedelta(days=1)))
    replay.clear_requests()
    second = run_crawl(["mid-ru"], sources_file=sources, polite=False, scrapy_settings=FAST)
    counts = second.counts["mid-ru"]
    assert counts[Outcome.RECORDED] == 1  # the corrected page
    assert counts[Outcome.NOT_MODIFIED] >= 2  # feeds/listings and unchanged articles
    assert process() == Counter({Outcome.UPDATED: 1})
    rechecked = [r for r in replay.requests if r.path == art.path]
    assert len(rechecked) == 1 and rechecked[0].if_none_match
    with session_scope() as session:
        doc = session.scalar(
            select(Document).where(Document.url == replay.article_url("mid.ru", art.id))
        )
        assert doc is not None and doc.update_count == 1 and doc.updated_at is not None
        assert "experts will meet again" in doc.text

    shown = runner.invoke(app, ["sources", "state", "mid-ru"])
    assert shown.exit_code == 0
    assert "crawl state" in shown.stdout and "mid-ru" in shown.stdout
    reset = runner.invoke(app, ["sources", "reset", "mid-ru"])
    assert reset.exit_code == 0 and "state rows removed" in reset.stdout
    with session_scope() as session:
        assert list_states(session, "mid-ru") == []
    # After a reset, feeds are fetched unconditionally again.
    replay.clear_requests()
    run_crawl(["mid-ru"], sources_file=sources, polite=False, recheck=False, scrapy_settings=FAST)
    feeds = {urlsplit(u).path for u in feed_urls(sources, ["mid-ru"])}
    assert all(r.status == 200 and not r.if_none_match for r in replay.requests if r.path in feeds)


def test_production_mode_refuses_the_replica(
    replay: ReplayServer, crawl_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = replica_sources(replay, ["mid-ru"], tmp_path / "sources.yaml")
    monkeypatch.setenv("NEWSMON_MODE", "production")
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="loopback/private"):
        run_crawl(["mid-ru"], sources_file=sources)
    assert replay.requests == []


@pytest.mark.slow
@pytest.mark.postgres
def test_crawl_on_postgresql(
    replay: ReplayServer, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topics = tmp_path / "topics.yaml"
    topics.write_text(TOPICS, encoding="utf-8")
    monkeypatch.setenv("NEWSMON_TOPICS_FILE", str(topics))
    get_settings.cache_clear()
    names = ["mid-ru", "kremlin"]
    sources = replica_sources(replay, names, tmp_path / "sources.yaml")
    now = datetime.now(UTC)
    first = run_crawl(names, sources_file=sources, polite=False, group=True, scrapy_settings=FAST)
    assert first.ok
    sites = ["mid.ru", "kremlin.ru", "en.kremlin.ru"]
    want = expected_urls(replay, sites, now - timedelta(days=7), now + timedelta(days=1))
    assert want and recorded_urls() == want and stored_urls() == set()
    check_discovery(replay, first.run_id, sites)
    process()
    assert stored_urls() == want
    replay.clear_requests()
    second = run_crawl(names, sources_file=sources, polite=False, group=True, scrapy_settings=FAST)
    assert set(second.totals()) == {Outcome.NOT_MODIFIED}
    assert stored_urls() == want
