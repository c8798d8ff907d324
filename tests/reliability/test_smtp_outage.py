"""The mail server down for a run or for ten, then back: every alert once, the operator told.

Also: a hostile page's alert arrives harmless.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from pipeline.alerts import AlertReport, run_alerts
from pipeline.alerts.subscribers import SubscriberSet
from pipeline.config.settings import get_settings
from pipeline.devtools.synthetic import documents, to_html
from pipeline.stages.ingest import ingest_paths
from pipeline.store.db import session_scope
from pipeline.store.models import Alert, OperatorAlert, utcnow
from tests.alerts_data import DAY1, story, subscribers
from tests.integration.test_alerts_smtp import Receiver, Sink, body, free_port
from tests.reliability.helpers import invoke
from tests.reliability.smtp_server import MailServer

DESK = {"id": "desk", "email": "desk@example.org", "mode": "instant"}
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
    assert code == 3, err  # held for a retry: not delivered, not an error either
    assert "4 alerts held for retry" in err and "Connection refused" in err
    assert "emails sent 0" in out
    rows = _ledger()
    assert len(rows) == 4 and {r.status for r in rows} == {"held"}
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


STORIES = 18


def _run(hour: int, subs: SubscriberSet) -> AlertReport:
    """One scheduled alert run, ``hour`` hours into the day."""
    return run_alerts(now=DAY1 + timedelta(hours=hour), subscribers=subs)


@pytest.fixture
def mail(monkeypatch: pytest.MonkeyPatch) -> Iterator[MailServer]:
    """A mail server that starts down; the operator has an address."""
    server = MailServer()
    monkeypatch.setenv("NEWSMON_SMTP_URL", server.url())
    monkeypatch.setenv("NEWSMON_OPERATOR_EMAIL", "ops@example.org")
    get_settings.cache_clear()
    try:
        yield server
    finally:
        server.down()


@pytest.mark.parametrize(
    "database", ["db_url", pytest.param("pg_url", id="postgres", marks=pytest.mark.postgres)]
)
def test_down_for_ten_runs_then_back_delivers_all_18_once(
    database: str, mail: MailServer, request: pytest.FixtureRequest
) -> None:
    """No alert is given up during an outage, and the one try per run rotates over the batch."""
    db_url = request.getfixturevalue(database)
    subs = subscribers(DESK)
    with session_scope(db_url) as s:
        for n in range(1, STORIES + 1):
            story(s, n=n)
    for hour in range(10):
        report = _run(hour, subs)
        assert report.emails_sent == 0 and report.email_failures == 1  # stops at the first
        assert report.delivery == "held" and report.alerts_held == STORIES
    rows = _ledger()
    assert {r.status for r in rows} == {"held"}
    # Ten tries in all, one per run, each against a different alert: none is worn out.
    assert sum(r.attempts for r in rows) == 10 and max(r.attempts for r in rows) == 1
    mail.up()
    back = _run(10, subs)
    assert back.emails_sent == STORIES and back.delivery == "ok" and back.alerts_held == 0
    ids = mail.handler.ids(to="desk@example.org")
    assert len(ids) == STORIES and not mail.handler.repeats()
    assert {r.status for r in _ledger()} == {"sent"}
    assert {r.message_id for r in _ledger()} == set(ids)
    assert _run(11, subs).emails_sent == 0
    assert len(mail.handler.ids(to="desk@example.org")) == STORIES  # nothing twice


def _operator_subjects(server: MailServer) -> list[str]:
    return [str(m["Subject"]) for m in server.handler.messages if "ops@" in str(m["To"])]


def test_outage_start_and_end_are_noticed_once_each(
    db_url: str, mail: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    subs = subscribers(DESK)
    with session_scope(db_url) as s:
        for n in range(1, 5):
            story(s, n=n)
    caplog.set_level(logging.WARNING, logger="pipeline.alerts.operator")
    reports = [_run(hour, subs) for hour in range(3)]  # three runs with the server down
    assert [r.outage_started for r in reports] == [True, False, False]
    started = [w for r in reports for w in r.warnings if w.startswith("mail outage started")]
    assert len(started) == 1 and "4 alerts are held" in started[0]
    assert "Connection refused" in started[0]
    logged = [r.getMessage() for r in caplog.records]
    assert sum("mail outage started" in m for m in logged) == 1  # the task log, once
    mail.up()
    back = _run(3, subs)
    assert back.outage_ended and back.held_delivered == 4 and back.emails_sent == 4
    (ended,) = [w for w in back.warnings if w.startswith("mail outage ended")]
    assert "delivered 4 held alerts" in ended
    # The operator's mailbox: the start and the end, emailed once the server answers again.
    assert _operator_subjects(mail) == [
        "[newsmon operator] mail server unavailable",
        "[newsmon operator] mail server back",
    ]
    start = next(m for m in mail.handler.messages if "unavailable" in str(m["Subject"]))
    assert "Connection refused" in body(start, "plain")
    for hour in (4, 5):
        again = _run(hour, subs)
        assert not again.outage_started and not again.outage_ended
    assert len(_operator_subjects(mail)) == 2
    with session_scope(db_url) as s:
        outage = s.get(OperatorAlert, "mail:outage")
        assert outage is not None and not outage.active
    # A second outage is a new episode: noticed again, once.
    mail.down()
    with session_scope(db_url) as s:
        story(s, n=5)
    assert _run(6, subs).outage_started and not _run(7, subs).outage_started


def test_operator_webhook_hears_of_the_outage_while_mail_is_down(
    db_url: str, mail: MailServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The webhook does not need the mail server: the start arrives during the outage, once."""
    hook = Receiver()
    try:
        monkeypatch.setenv("NEWSMON_OPERATOR_WEBHOOK_URL", hook.url)
        get_settings.cache_clear()
        subs = subscribers(DESK)
        with session_scope(db_url) as s:
            for n in range(1, 4):
                story(s, n=n)
        for hour in range(3):
            _run(hour, subs)
        kinds = [p["kind"] for _, p in hook.posts]
        assert kinds == ["mail outage started"]
        assert "3 alerts are held" in hook.posts[0][1]["detail"]
        assert hook.posts[0][1]["type"] == "operator"
        mail.up()
        _run(3, subs)
        assert [p["kind"] for _, p in hook.posts] == ["mail outage started", "mail outage ended"]
        assert "delivered 3 held alerts" in hook.posts[1][1]["detail"]
        hook.status = 500  # a failing webhook loses nothing: the email still goes out
        mail.down()
        with session_scope(db_url) as s:
            story(s, n=4)
        assert _run(4, subs).outage_started
    finally:
        hook.close()
