"""A worker killed with SIGKILL mid-processing or mid-sending: the rerun completes, nothing lost.

Processing stores each page in its own transaction (page processed, document, story, LSH bands,
matches, counters together), so a kill loses at most the page in flight, which the rerun does.
Sending commits each message's ledger rows as soon as the server accepts it, so a kill resends at
most the one message in flight, with the same Message-ID (README "Delivery guarantee").
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from pipeline.alerts import run_alerts
from pipeline.alerts.send import LEASE
from pipeline.config.settings import get_settings
from pipeline.stages.ingest import ingest_paths
from pipeline.store.db import reset_engines, session_scope
from pipeline.store.models import Alert, Document, Page, utcnow
from tests.alerts_data import story, subscribers
from tests.reliability.helpers import (
    NEWSMON,
    child_env,
    consistency_problems,
    count,
    kill_group,
    run_cli,
    start,
    stored_result,
    wait_until,
    write_pages,
)

PAGES = 80


@pytest.mark.slow
def test_kill_mid_ingest_then_rerun_completes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "pages"
    docs = write_pages(folder, PAGES)
    proc = start([*NEWSMON, "ingest", str(folder)])
    wait_until(lambda: count(db_url, Document) >= 10, timeout=120, proc=proc)
    kill_group(proc)
    assert proc.returncode == -9
    stored_at_kill = count(db_url, Document)
    assert stored_at_kill < PAGES, "the ingest finished before the kill: use more pages"
    assert consistency_problems(db_url, pages_done=False) == []

    rerun = run_cli("ingest", str(folder))
    assert rerun.returncode == 0, rerun.stderr
    assert count(db_url, Document) == PAGES  # none lost, none twice
    assert count(db_url, Page) == PAGES
    assert consistency_problems(db_url) == []
    # The same stored result as one uninterrupted run.
    once = f"sqlite:///{tmp_path / 'once.db'}"
    monkeypatch.setenv("NEWSMON_DATABASE_URL", once)
    get_settings.cache_clear()
    reset_engines()
    ingest_paths([folder])
    assert stored_result(db_url) == stored_result(once)
    assert {d.url for d in docs} == set(stored_result(once)["documents"])


@pytest.mark.slow
@pytest.mark.postgres
def test_kill_mid_process_pending_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """The DAG's process stage over fetched pages, killed and rerun."""
    from pipeline.stages.ingest import page_url, read_page, synced_sources
    from pipeline.store.pages import record_fetch

    folder = tmp_path / "pages"
    write_pages(folder, 80, seed=5)
    with session_scope() as session:
        synced_sources(session)
        for path in sorted(folder.iterdir()):
            body = read_page(path)
            record_fetch(
                session,
                page_url(path, body),
                source=None,
                status=200,
                body=body,
                headers={"content-type": "text/html"},
            )
    code = "from pipeline.stages.ingest import process_pending; process_pending()"
    proc = start([sys.executable, "-c", code])
    wait_until(lambda: count(pg_url, Document) >= 10, timeout=120, proc=proc)
    kill_group(proc)
    assert count(pg_url, Document) < 80
    assert consistency_problems(pg_url, pages_done=False) == []
    again = start([sys.executable, "-c", code])
    _out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert count(pg_url, Document) == 80
    assert consistency_problems(pg_url) == []


PROCESS_PAGES = 300


def _record_pages(folder: Path, n: int, seed: int) -> None:
    """Write ``n`` synthetic pages and record them as fetched (the crawl's part)."""
    from pipeline.stages.ingest import page_url, read_page, source_for, synced_sources
    from pipeline.store.pages import Discovery, record_fetch

    write_pages(folder, n, seed=seed)
    with session_scope() as session:
        known = synced_sources(session)
        for path in sorted(folder.iterdir()):
            body = read_page(path)
            url = page_url(path, body)
            record_fetch(
                session,
                url,
                source=source_for(url, known),
                status=200,
                body=body,
                headers={"content-type": "text/html"},
                discovery=Discovery("sitemap"),
            )


def _processed(url: str) -> int:
    """Pages the process stage has finished."""
    from sqlalchemy import func

    from tests.reliability.helpers import engine

    eng = engine(url)
    try:
        with eng.connect() as conn:
            q = select(func.count()).select_from(Page).where(Page.processed_at.is_not(None))
            return int(conn.scalar(q) or 0)
    finally:
        eng.dispose()


def _run_totals(url: str) -> dict[int, int]:
    """Counted outcomes per process run."""
    from pipeline.store.models import Run, RunCount

    with session_scope(url) as session:
        runs = session.scalars(select(Run.id).where(Run.kind == "process").order_by(Run.id))
        return {
            run_id: sum(session.scalars(select(RunCount.count).where(RunCount.run_id == run_id)))
            for run_id in list(runs)
        }


@pytest.mark.slow
def test_kill_mid_newsmon_process_then_rerun_completes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL of `newsmon process` (writer and worker pool) mid-run: the rerun finishes."""
    import json

    from pipeline.stages.ingest import process_pending

    _record_pages(tmp_path / "pages", PROCESS_PAGES, seed=9)
    proc = start([*NEWSMON, "process", "--workers", "2"])
    wait_until(lambda: count(db_url, Document) >= 60, timeout=300, proc=proc)
    kill_group(proc)
    assert proc.returncode == -9
    done = _processed(db_url)
    assert count(db_url, Document) == done < PROCESS_PAGES, "finished before the kill"
    assert consistency_problems(db_url, pages_done=False) == []
    # Pages are marked processed in their batch's transaction, counters too: the killed run
    # counted exactly the pages it committed.
    assert list(_run_totals(db_url).values()) == [done]

    rerun = run_cli("process", "--workers", "2", "--json", timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["pages"] == PROCESS_PAGES - done  # the rest, nothing twice
    assert list(_run_totals(db_url).values()) == [done, PROCESS_PAGES - done]
    assert count(db_url, Document) == PROCESS_PAGES
    assert consistency_problems(db_url) == []
    # The same stored result as one uninterrupted run.
    once = f"sqlite:///{tmp_path / 'once.db'}"
    monkeypatch.setenv("NEWSMON_DATABASE_URL", once)
    get_settings.cache_clear()
    reset_engines()
    _record_pages(tmp_path / "again", PROCESS_PAGES, seed=9)
    process_pending()
    assert stored_result(db_url) == stored_result(once)


@pytest.mark.slow
def test_ctrl_c_stops_newsmon_process_cleanly(db_url: str, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the whole process group): exit 130, what was done is kept."""
    import json
    import os
    import signal

    _record_pages(tmp_path / "pages", 160, seed=4)
    proc = start([*NEWSMON, "process", "--workers", "2", "--json"])
    wait_until(lambda: count(db_url, Document) >= 10, timeout=300, proc=proc)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    report = json.loads(out)
    done = _processed(db_url)
    assert report["interrupted"] and report["pages"] == done < 160
    assert count(db_url, Document) == done
    assert consistency_problems(db_url, pages_done=False) == []
    rerun = run_cli("process", "--workers", "2", "--json", timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["pages"] == 160 - done
    assert count(db_url, Document) == 160
    assert consistency_problems(db_url) == []


class SlowSink:
    """aiosmtpd handler: keeps every message; on message ``hold_on`` it signals and stalls.

    The stall is after the message was received, before the 250 reply: the server has the
    message but the client never learns it was accepted — the in-flight window.
    """

    def __init__(self, hold_on: int) -> None:
        self.messages: list[Any] = []
        self.hold_on = hold_on
        self.reached = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        if len(self.messages) == self.hold_on:
            self.reached.set()
            await asyncio.sleep(30)
        return "250 OK"


@pytest.fixture
def slow_sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowSink]:
    from tests.integration.test_alerts_smtp import free_port

    sink = SlowSink(hold_on=4)
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("NEWSMON_SMTP_URL", f"smtp://127.0.0.1:{port}?starttls=0&timeout=60")
    get_settings.cache_clear()
    try:
        yield sink
    finally:
        controller.stop()


SUBSCRIBERS = """\
subscribers:
  - id: desk
    email: desk@example.org
    mode: instant
    topics: [zangezur-corridor]
    since: 2026-01-01
"""


def test_kill_mid_send_loses_nothing_and_resends_only_in_flight(
    db_url: str, slow_sink: SlowSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subs_file = tmp_path / "subscribers.yaml"
    subs_file.write_text(SUBSCRIBERS, encoding="utf-8")
    monkeypatch.setenv("NEWSMON_SUBSCRIBERS_FILE", str(subs_file))
    get_settings.cache_clear()
    now = utcnow()
    with session_scope() as session:
        for n in range(1, 9):  # eight fresh stories: eight instant emails
            story(session, n=n, published=now - timedelta(hours=1))
    proc = start([*NEWSMON, "alerts", "send"], env=child_env())
    assert slow_sink.reached.wait(120), "the sender never reached the fourth message"
    kill_group(proc)
    assert proc.returncode == -9
    with session_scope() as session:
        rows = list(session.scalars(select(Alert)))
    sent = [r for r in rows if r.status == "sent"]
    assert len(sent) == 3 and len(rows) == 8  # message 4 is in flight: accepted, not recorded
    # A rerun before the lease expires leaves the in-flight alert alone; after it, it goes out
    # again with the Message-ID it had. Every alert arrives; the only repeat is message 4.
    subs = subscribers({"id": "desk", "email": "desk@example.org", "mode": "instant"})
    slow_sink.hold_on = 0
    run_alerts(now=utcnow() + timedelta(minutes=1), subscribers=subs)
    run_alerts(now=utcnow() + LEASE + timedelta(minutes=1), subscribers=subs)
    ids = [str(m["Message-ID"]) for m in slow_sink.messages]
    with session_scope() as session:
        rows = list(session.scalars(select(Alert)))
    assert {r.status for r in rows} == {"sent"}
    assert set(ids) == {r.message_id for r in rows}  # nothing lost
    repeats = [i for i in set(ids) if ids.count(i) > 1]
    assert repeats == [ids[3]] and len(ids) == 9  # one duplicate: the message in flight


CRAWL = """
import sys
from pathlib import Path
from pipeline.stages.crawl import run_crawl
run_crawl(["mid-ru"], sources_file=Path(sys.argv[1]), polite=False,
          scrapy_settings={"DOWNLOAD_TIMEOUT": "120", "RETRY_TIMES": "0"})
"""


@pytest.mark.slow
def test_kill_mid_crawl_then_rerun_stores_every_article_once(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crawl records pages one transaction each: a kill loses only the page in flight."""
    from datetime import UTC, datetime
    from urllib.parse import urlsplit

    from pipeline.devtools.replay import start_replay
    from pipeline.stages.crawl import run_crawl
    from pipeline.stages.ingest import process_pending
    from tests.crawlers.conftest import FAST, TOPICS, replica_sources
    from tests.crawlers.test_crawl_replica import expected_urls

    topics = tmp_path / "topics.yaml"
    topics.write_text(TOPICS, encoding="utf-8")
    monkeypatch.setenv("NEWSMON_TOPICS_FILE", str(topics))
    get_settings.cache_clear()
    with start_replay(port=0, slow_seconds=90.0) as replay:
        sources = replica_sources(replay, ["mid-ru"], tmp_path / "sources.yaml")
        now = datetime.now(UTC)
        want = expected_urls(replay, ["mid.ru"], now - timedelta(days=7), now + timedelta(days=1))
        assert len(want) >= 4
        # One article hangs: the crawl is surely still running when it is killed.
        inside = [
            a for a in replay.articles("mid.ru") if replay.article_url("mid.ru", a.id) in want
        ]
        stuck = inside[-1]
        replay.set_fault("mid.ru", stuck.path, "slow")
        proc = start([sys.executable, "-c", CRAWL, str(sources)])
        wait_until(lambda: count(db_url, Page) >= 2, timeout=180, proc=proc)
        kill_group(proc)  # the newsmon process and its scrapy child
        with session_scope() as session:
            at_kill = {urlsplit(u).path for u in session.scalars(select(Page.url))}
        assert 2 <= len(at_kill) < len(want)
        assert count(db_url, Document) == 0  # the crawl records; processing comes after
        assert consistency_problems(db_url, pages_done=False) == []
        replay.set_fault("mid.ru", stuck.path, None)
        replay.clear_requests()
        report = run_crawl(["mid-ru"], sources_file=sources, polite=False, scrapy_settings=FAST)
        assert report.ok
        process_pending()
        with session_scope() as session:
            stored = set(session.scalars(select(Document.url)))
        assert want <= stored and len(stored) == count(db_url, Document)
        # The rerun fetched only what the killed run had not recorded.
        fetched = {r.path for r in replay.requests_for("mid.ru")}
        assert stuck.path in fetched and not fetched & at_kill
        assert consistency_problems(db_url) == []
