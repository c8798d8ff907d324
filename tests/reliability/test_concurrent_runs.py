"""A daily run and a backfill at the same time over overlapping pages (two processes).

Each process stores its pages and then runs the alert stage, as the DAG's tasks do. The two
together must store exactly what one run over all pages stores, and alert each story once.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from pipeline.alerts import Alert, run_alerts
from pipeline.alerts.subscribers import load_subscribers
from pipeline.db import reset_engines, session_scope
from pipeline.ingest import ingest_paths
from pipeline.models import Document, utcnow
from pipeline.settings import get_settings
from tests.reliability.helpers import consistency_problems, count, start, stored_result, write_pages

SUBSCRIBERS = """\
subscribers:
  - id: desk
    email: desk@example.org
    mode: instant
    topics: ["*"]
    since: 2026-01-01
  - id: daily
    email: daily@example.org
    mode: digest
    digest_hour: 8
    topics: ["*"]
    since: 2026-01-01
"""
# One process = one DAG run: store the pages, then send what is due.
RUN = """
import sys
from pathlib import Path
from pipeline.alerts import run_alerts
from pipeline.ingest import ingest_paths
ingest_paths([Path(sys.argv[1])])
run_alerts(mode=sys.argv[2])
"""


class Sink:
    """Loopback SMTP server keeping every message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Sink]:
    from tests.integration.test_alerts_smtp import free_port

    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    subs = tmp_path / "subscribers.yaml"
    subs.write_text(SUBSCRIBERS, encoding="utf-8")
    monkeypatch.setenv("NEWSMON_SUBSCRIBERS_FILE", str(subs))
    monkeypatch.setenv("NEWSMON_SMTP_URL", f"smtp://127.0.0.1:{port}?starttls=0&timeout=30")
    get_settings.cache_clear()
    try:
        yield handler
    finally:
        controller.stop()


def _split(folder: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Two overlapping halves of the pages: the daily run's and the backfill's."""
    files = sorted(folder.iterdir())
    third = len(files) // 3
    out = []
    for name, part in (("daily", files[: 2 * third]), ("backfill", files[third:])):
        d = tmp_path / name
        d.mkdir()
        for f in part:
            (d / f.name).write_bytes(f.read_bytes())
        out.append(d)
    return out[0], out[1]


@pytest.mark.slow
@pytest.mark.postgres
def test_daily_run_and_backfill_at_once_store_once_and_alert_once(
    pg_url: str, sink: Sink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "pages"
    # Recent stories (instant alerts go out at once), half of them on a tracked topic.
    write_pages(folder, 48, seed=31, topic_rate=0.5, start=utcnow() - timedelta(hours=6))
    daily, backfill = _split(folder, tmp_path)
    runs = [
        start([sys.executable, "-c", RUN, str(daily), "scheduled"]),
        start([sys.executable, "-c", RUN, str(backfill), "backfill"]),
    ]
    for proc in runs:
        _out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    assert count(pg_url, Document) == 48
    assert consistency_problems(pg_url) == []

    # The same stored result as one run over every page.
    once = f"sqlite:///{tmp_path / 'once.db'}"
    monkeypatch.setenv("NEWSMON_DATABASE_URL", once)
    get_settings.cache_clear()
    reset_engines()
    ingest_paths([folder])
    assert stored_result(pg_url) == stored_result(once)

    # Each story alerted once per subscriber, topic and channel; no story emailed twice.
    monkeypatch.setenv("NEWSMON_DATABASE_URL", pg_url)
    get_settings.cache_clear()
    reset_engines()
    with session_scope() as session:
        rows = list(session.scalars(select(Alert)))
        cluster_of = dict(session.execute(select(Document.id, Document.cluster_id)).all())
    assert rows, "no alerts planned: the pages should match topics"
    keys = Counter((r.subscriber, r.topic_id, cluster_of[r.document_id], r.channel) for r in rows)
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]
    instant = [m for m in sink.messages if m["X-Newsmon-Story"]]
    assert instant, "the daily run sends instant alerts for fresh stories"
    stories = Counter(str(m["X-Newsmon-Story"]) for m in instant)
    assert max(stories.values()) == 1
    ids = [str(m["Message-ID"]) for m in sink.messages]
    assert len(ids) == len(set(ids))
    # The next morning's digests carry the rest; still no repeat.
    subs = load_subscribers()
    run_alerts(now=utcnow() + timedelta(days=1, hours=2), subscribers=subs)
    ids = [str(m["Message-ID"]) for m in sink.messages]
    assert len(ids) == len(set(ids))
    with session_scope() as session:
        assert {r.status for r in session.scalars(select(Alert))} <= {"sent", "suppressed"}
