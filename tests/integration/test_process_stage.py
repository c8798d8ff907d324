"""The one process stage: the same page becomes the same document whichever way it came.

A page recorded as a crawl records it (discovery date, title, feed flag, window) and then run
through ``newsmon process``, and the same page saved to a file and given to ``newsmon ingest``,
are cleaned by one function with the source's hints and quirk; windows, worker counts and the
DAG's process task are checked on the stored result.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from pipeline.cli import _register, app
from pipeline.config.settings import get_settings
from pipeline.devtools.replay.server import ReplayServer
from pipeline.devtools.synthetic import documents, to_html
from pipeline.stages import orchestrate
from pipeline.stages.ingest import source_for, synced_sources
from pipeline.store import db
from pipeline.store.models import Document, Page, Source
from pipeline.store.pages import NO_WINDOW, Discovery, Window, record_fetch
from pipeline.store.runs import run_counts, start_run
from tests.crawlers.conftest import FAST, crawl_env, replay, replica_sources
from tests.reliability.helpers import stored_result

PAGES = Path(__file__).resolve().parent.parent / "crawlers" / "pages"
TASS_URL = "https://tass.com/politics/2201999"
MFA_AZ_URL = "https://mfa.gov.az/en/news/no24126"
# What the pages print: TASS 14:05 Moscow time; mfa.gov.az only the day (Baku midnight).
TASS_PUBLISHED = datetime(2026, 11, 24, 11, 5, tzinfo=UTC)
MFA_AZ_PUBLISHED = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
FIELDS = ("title", "text", "published_at", "language", "extraction_method")
_register()
runner = CliRunner()
__all__ = ["crawl_env", "replay"]  # the crawl tests' fixtures, used here too


def served(name: str, url: str) -> bytes:
    """A test page as its site serves it: with its canonical link (saved copies keep it)."""
    body = (PAGES / name).read_bytes()
    return body.replace(b"<head>", f'<head>\n<link rel="canonical" href="{url}">'.encode(), 1)


def record(
    url: str,
    body: bytes,
    source: str | None,
    discovery: Discovery,
    window: Window = NO_WINDOW,
) -> int:
    """Record a fetched page the way the crawl's record pipeline does; its page id."""
    with db.session_scope() as session:
        synced_sources(session)
        src = session.scalar(select(Source).where(Source.name == source)) if source else None
        if src is None:
            src = source_for(url, {s.name: s for s in session.scalars(select(Source))})
        run = start_run(session, "crawl", {"source": source})
        page = record_fetch(
            session,
            url,
            source=src,
            status=200,
            body=body,
            headers={"Content-Type": "text/html; charset=utf-8"},
            final_url=url,
            discovery=discovery,
            window=window,
            run_id=run.id,
        )
        return page.id


def newsmon(*args: str) -> dict[str, Any]:
    """Run a newsmon command with --json; its JSON report."""
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def stored(url: str) -> dict[str, Any]:
    """The stored document's cleaned fields."""
    with db.session_scope() as session:
        doc = session.scalar(select(Document).where(Document.url == url))
        assert doc is not None, f"no document for {url}"
        return {f: getattr(doc, f) for f in FIELDS}


def page_outcome(page_id: int) -> str | None:
    """The outcome the stage gave a page."""
    with db.session_scope() as session:
        page = session.get(Page, page_id)
        assert page is not None
        return page.outcome


def use_database(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the settings and engines at another database."""
    monkeypatch.setenv("NEWSMON_DATABASE_URL", url)
    get_settings.cache_clear()
    db.reset_engines()


def test_crawled_and_ingested_pages_store_the_same_document(
    any_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tass = served("tass_en_article.html", TASS_URL)
    mfa = served("mfa_gov_az_statement.html", MFA_AZ_URL)
    # Found on listing pages: the listing gives the title and the date it prints.
    record(
        TASS_URL,
        tass,
        "tass",
        Discovery("listing", TASS_PUBLISHED, "Moscow ready to host talks", "en"),
    )
    record(
        MFA_AZ_URL,
        mfa,
        "mfa-gov-az",
        Discovery("listing", MFA_AZ_PUBLISHED, "No:241/26, Statement", "en"),
    )
    report = newsmon("process")
    assert report["outcomes"] == {"new": 2} and report["documents"] == 2
    crawled = {url: stored(url) for url in (TASS_URL, MFA_AZ_URL)}
    # The source's hints and quirk were applied: the TASS dateline and the statement number go.
    title = "Moscow ready to host next round of border commission talks"
    assert crawled[TASS_URL]["title"] == title
    assert crawled[TASS_URL]["text"].startswith("Russia is prepared to host the next meeting")
    assert "/TASS/" not in crawled[TASS_URL]["text"]
    assert crawled[TASS_URL]["published_at"] == TASS_PUBLISHED
    assert not crawled[MFA_AZ_URL]["title"].startswith("No:")
    assert crawled[MFA_AZ_URL]["published_at"] == MFA_AZ_PUBLISHED

    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "tass.html").write_bytes(tass)
    (folder / "mfa.html").write_bytes(mfa)
    use_database(f"sqlite:///{tmp_path / 'ingest.db'}", monkeypatch)
    report = newsmon("ingest", str(folder))
    assert report["outcomes"] == {"new": 2}
    assert {url: stored(url) for url in (TASS_URL, MFA_AZ_URL)} == crawled


def test_feed_entry_keeps_the_feed_date_and_skips_page_hints(any_db_url: str) -> None:
    body = served("tass_en_article.html", TASS_URL)
    feed_time = datetime(2026, 11, 24, 11, 30, tzinfo=UTC)
    page_id = record(TASS_URL, body, "tass", Discovery("feed", feed_time, None, "en", True))
    assert newsmon("process")["outcomes"] == {"new": 1}
    doc = stored(TASS_URL)
    assert doc["published_at"] == feed_time  # a feed's own entry: its date is trusted
    assert "/TASS/" in doc["text"]  # the entry is not the site's page: no hints, no quirk
    assert page_outcome(page_id) == "new"


def test_recording_the_same_bytes_again_keeps_what_the_feed_knew(db_url: str) -> None:
    body = served("tass_en_article.html", TASS_URL)
    feed_time = datetime(2026, 11, 24, 11, 30, tzinfo=UTC)
    page_id = record(TASS_URL, body, "tass", Discovery("feed", feed_time, "From the feed", "en"))
    record(TASS_URL, body, "tass", Discovery("ingest"))  # a saved copy of the same page
    with db.session_scope() as session:
        page = session.get(Page, page_id)
        assert page is not None
        assert (page.discovery_method, page.discovered_published, page.discovered_title) == (
            "feed",
            feed_time,
            "From the feed",
        )
    changed = body.replace(b"</body>", b"<p>A correction was added.</p></body>")
    record(TASS_URL, changed, "tass", Discovery("ingest"))  # new bytes: what the new fetch knew
    with db.session_scope() as session:
        page = session.get(Page, page_id)
        assert page is not None
        assert (page.discovery_method, page.discovered_published) == ("ingest", None)


def test_window_leaves_a_page_out_until_a_covering_window_records_it(any_db_url: str) -> None:
    body = served("tass_en_article.html", TASS_URL)
    listing = Discovery("listing", None, None, "en")
    early = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 10, tzinfo=UTC))
    page_id = record(TASS_URL, body, "tass", listing, early)
    report = newsmon("process")
    assert report["outcomes"] == {"out_of_window": 1} and report["documents"] == 0
    assert page_outcome(page_id) == "out_of_window"
    with db.session_scope() as session:
        assert session.scalar(select(Document.id)) is None
    # Nothing waits: a run without a window leaves the page alone.
    assert newsmon("process")["outcomes"] == {}
    # A later backfill whose window covers the date records the same bytes: queued again.
    covering = Window(datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    assert record(TASS_URL, body, "tass", listing, covering) == page_id
    assert newsmon("process")["outcomes"] == {"new": 1}
    assert stored(TASS_URL)["published_at"] == TASS_PUBLISHED
    assert page_outcome(page_id) == "new"


def test_process_window_option_reconsiders_pages_left_out(any_db_url: str) -> None:
    body = served("tass_en_article.html", TASS_URL)
    early = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 10, tzinfo=UTC))
    page_id = record(TASS_URL, body, "tass", Discovery("sitemap"), early)
    assert newsmon("process")["outcomes"] == {"out_of_window": 1}
    # Another window that still excludes the date: considered again, still left out.
    report = newsmon("process", "--since", "2026-12-01", "--until", "2026-12-02")
    assert report["outcomes"] == {"out_of_window": 1}
    report = newsmon("process", "--since", "2026-11-24", "--until", "2026-11-24")
    assert report["outcomes"] == {"new": 1}
    assert page_outcome(page_id) == "new"
    # Processed pages are not taken again by a later window.
    assert newsmon("process", "--since", "2026-11-01")["outcomes"] == {}


def test_unknown_source_is_a_clear_error(db_url: str) -> None:
    result = runner.invoke(app, ["process", "--source", "no-such-source"])
    assert result.exit_code != 0
    assert "no-such-source" in str(result.exception) + result.output


def test_source_option_processes_only_that_source(db_url: str) -> None:
    tass_id = record(TASS_URL, served("tass_en_article.html", TASS_URL), "tass", Discovery("feed"))
    mfa = served("mfa_gov_az_statement.html", MFA_AZ_URL)
    mfa_id = record(MFA_AZ_URL, mfa, "mfa-gov-az", Discovery("listing"))
    assert newsmon("process", "--source", "mfa-gov-az")["outcomes"] == {"new": 1}
    assert page_outcome(tass_id) is None and page_outcome(mfa_id) == "new"
    assert newsmon("process")["outcomes"] == {"new": 1}


def _record_synthetic(n: int) -> list[str]:
    """``n`` synthetic pages (copies, near-copies, several topics) recorded as fetched."""
    docs = list(documents(n, seed=11, copy_rate=0.4, topic_rate=0.5))
    for d in docs:
        record(d.url, to_html(d).encode(), None, Discovery("sitemap", d.published))
    return [d.url for d in docs]


def test_one_or_two_workers_store_the_same_stories(
    any_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = _record_synthetic(40)
    two = newsmon("process", "--workers", "2")
    assert two["pages"] == 40 and two["documents"] == 40
    with_two = stored_result(any_db_url)

    one_url = f"sqlite:///{tmp_path / 'one.db'}"
    use_database(one_url, monkeypatch)
    db.ensure_schema(one_url)
    _record_synthetic(40)
    one = newsmon("process", "--workers", "1")
    assert one["outcomes"] == two["outcomes"]
    with_one = stored_result(one_url)
    assert with_one == with_two
    assert sorted(urls) == with_one["documents"]
    assert any(len(story) > 1 for story in with_one["stories"]), "no copies were folded"
    assert len({topic for _url, topic in with_one["matches"]}) > 1, "want several topics"


def test_dag_process_task_reports_what_it_cleaned(any_db_url: str) -> None:
    _record_synthetic(12)
    summary = orchestrate.process()
    assert summary["pages"] == 12 and summary["documents"] == 12
    assert sum(summary["outcomes"].values()) == 12
    assert set(summary["outcomes"]) <= {"new", "duplicate"}
    with db.session_scope() as session:
        counts = run_counts(session, summary["run_id"])
        assert sum(counts.values()) == 12  # every page one counted outcome, in the database too
        left = session.scalar(select(Page.id).where(Page.processed_at.is_(None)))
        assert left is None
    again = orchestrate.process()
    assert again["pages"] == 0 and again["documents"] == 0


def _process_in_daemon(answers: Any) -> None:
    """The DAG's process task with 2 workers, run in a daemonic process; what it returned."""
    try:
        answers.put(orchestrate.process(workers=2))
    except BaseException as exc:  # noqa: BLE001 - the parent asserts on it: every failure must reach the test
        answers.put(f"{type(exc).__name__}: {exc}")


def test_process_task_starts_its_workers_inside_a_daemonic_process(any_db_url: str) -> None:
    # Celery's prefork workers are daemonic and Airflow forks each task from one: the stage's
    # worker pool must start there too (multiprocessing refuses children of a daemon).
    import multiprocessing

    _record_synthetic(12)
    db.reset_engines()  # the child opens its own connections
    ctx = multiprocessing.get_context("fork")
    answers = ctx.Queue()
    child = ctx.Process(target=_process_in_daemon, args=(answers,), daemon=True)
    child.start()
    summary = answers.get(timeout=300)
    child.join(timeout=60)
    assert isinstance(summary, dict), summary
    assert summary["pages"] == 12 and summary["documents"] == 12
    assert child.exitcode == 0


@pytest.mark.slow
def test_replica_crawl_and_ingest_of_the_saved_pages_agree(
    crawl_env: str, replay: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real crawl (spiders, record pipeline) then `newsmon process`, against `newsmon ingest`
    of the fetched article pages saved to files (feed entries rebuilt as pages are not saved
    pages: their date comes from the feed)."""
    from pipeline.stages.crawl import run_crawl
    from pipeline.store.pages import decompress

    sources = replica_sources(replay, ["mid-ru"], tmp_path / "sources.yaml")
    monkeypatch.setenv("NEWSMON_SOURCES_FILE", str(sources))
    get_settings.cache_clear()
    assert run_crawl(["mid-ru"], sources_file=sources, polite=False, scrapy_settings=FAST).ok
    assert newsmon("process", "--workers", "2")["outcomes"].get("new", 0) > 0
    folder = tmp_path / "saved"
    folder.mkdir()
    moscow = ZoneInfo("Europe/Moscow")
    with db.session_scope() as session:
        rows = session.execute(
            select(Page, Document)
            .join(Document, Document.page_id == Page.id)
            .where(Page.via_feed.is_(False))
        ).all()
        crawled = {}
        for n, (page, doc) in enumerate(rows):
            (folder / f"{n:03d}.html").write_bytes(decompress(page.raw))
            # The replica's mid.ru pages print only the day: the feed's time wins.
            assert doc.published_at == page.discovered_published is not None
            day = doc.published_at.astimezone(moscow).date()
            page_date = datetime.combine(day, datetime.min.time(), moscow).astimezone(UTC)
            crawled[doc.url] = {f: getattr(doc, f) for f in FIELDS} | {"published_at": page_date}
    assert len(crawled) >= 2, "the crawl should have fetched article pages"
    use_database(f"sqlite:///{tmp_path / 'ingest.db'}", monkeypatch)
    report = newsmon("ingest", str(folder), "--source", "mid-ru")
    # Every saved page is stored again; language versions join their story as in the crawl.
    assert sum(report["outcomes"].values()) == len(crawled)
    assert set(report["outcomes"]) <= {"new", "duplicate"}
    # A saved page knows only what it prints: the same document, dated by the page's day.
    with db.session_scope() as session:
        by_title = {
            (d.title, d.text): {f: getattr(d, f) for f in FIELDS}
            for d in session.scalars(select(Document))
        }
    assert sorted(by_title.values(), key=str) == sorted(crawled.values(), key=str)
