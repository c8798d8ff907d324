"""The mail server down for a whole run, then back; a hostile page's alert arrives harmless."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from pipeline.config.settings import get_settings
from pipeline.devtools.synthetic import documents, to_html
from pipeline.stages.ingest import ingest_paths
from pipeline.store.db import session_scope
from pipeline.store.models import Alert, utcnow
from tests.alerts_data import story
from tests.integration.test_alerts_smtp import Sink, free_port
from tests.reliability.helpers import invoke

SUBSCRIBERS = """\
subscribers:
  - id: desk
    email: desk@example.org
    mode: instant
    topics: ["*"]
    since: 2026-01-01
"""


@pytest.fixture
def smtp_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """A port with no server yet, configured as the SMTP server; subscribers file set."""
    port = free_port()
    subs = tmp_path / "subscribers.yaml"
    subs.write_text(SUBSCRIBERS, encoding="utf-8")
    monkeypatch.setenv("NEWSMON_SUBSCRIBERS_FILE", str(subs))
    monkeypatch.setenv("NEWSMON_SMTP_URL", f"smtp://127.0.0.1:{port}?starttls=0&timeout=5")
    get_settings.cache_clear()
    return port


def _server(port: int) -> tuple[Controller, Sink]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, sink


@pytest.fixture
def served(smtp_port: int) -> Iterator[Sink]:
    controller, sink = _server(smtp_port)
    try:
        yield sink
    finally:
        controller.stop()


def _ledger() -> list[Alert]:
    with session_scope() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def test_smtp_down_for_a_whole_run_then_back(
    db_url: str, smtp_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with session_scope() as session:
        for n in range(1, 5):
            story(session, n=n, published=utcnow() - timedelta(hours=2))
    code, out, err = invoke(["alerts", "send"], capsys)
    assert code == 0, err  # the run completes; the failure is reported, nothing is lost
    assert "failed" in err and "emails sent 0" in out
    rows = _ledger()
    assert len(rows) == 4 and {r.status for r in rows} == {"pending"}
    assert all(r.claim_token is None for r in rows)  # no lease left behind
    assert sum(r.attempts for r in rows) == 1  # one tried, the rest released untried
    controller, sink = _server(smtp_port)  # the server is back
    try:
        code, out, err = invoke(["alerts", "send"], capsys)
        assert code == 0 and "emails sent 4" in out, (out, err)
        ids = sink.ids()
        assert len(ids) == 4 and len(set(ids)) == 4
        assert {r.status for r in _ledger()} == {"sent"}
        assert {r.message_id for r in _ledger()} == set(ids)
        code, out, _ = invoke(["alerts", "send"], capsys)
        assert "emails sent 0" in out and len(sink.messages) == 4  # nothing twice
    finally:
        controller.stop()


def test_hostile_page_alert_arrives_harmless(db_url: str, served: Sink, tmp_path: Path) -> None:
    """A scraped title with markup and CR/LF, from page to mailbox."""
    doc = next(d for d in documents(50, seed=29, topic_rate=1.0) if d.language == "en")
    title = 'Talks <script>alert("x")</script>\r\nBcc: victim@example.org\r\n\r\nInjected'
    page = to_html(doc).replace(doc.title, html.escape(title))
    page = page.replace(doc.published.isoformat(), (utcnow() - timedelta(hours=1)).isoformat())
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "evil.html").write_text(page, encoding="utf-8")
    report = ingest_paths([folder])
    assert report.outcomes == {"new": 1}
    from pipeline.alerts import run_alerts
    from pipeline.alerts.subscribers import load_subscribers

    sent = run_alerts(subscribers=load_subscribers())
    assert sent.emails_sent == 1, sent.errors
    (msg,) = served.messages
    assert served.envelopes[0][1] == ["desk@example.org"]  # no smuggled recipient
    assert msg["Bcc"] is None
    subject = str(msg["Subject"])
    assert "\n" not in subject and "\r" not in subject and "Injected" in subject
    body: Any = msg.get_body(preferencelist=("html",))
    content = body.get_content()
    assert "<script>" not in content and "&lt;script&gt;" in content
