"""Each way a mail server misbehaves ends in the right ledger state, exit status and notice.

451 and a connection dropped mid-DATA hold the alert for a retry (exit 3); a 550 to one recipient
fails that alert alone (exit 1); AUTH rejected or STARTTLS missing is a misconfiguration (exit 1)
whose alerts stay held; an alert older than NEWSMON_ALERT_MAX_AGE_DAYS is given up and the operator
is told; a slow server with a short lease never lets a second sender send a message twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.alerts import AlertReport, run_alerts
from pipeline.config.settings import get_settings
from pipeline.errors import DeliveryError
from pipeline.stages import orchestrate
from pipeline.store.db import session_scope
from pipeline.store.models import Alert, OperatorAlert, utcnow
from tests.alerts_data import DAY1, story, subscribers
from tests.integration.test_alerts_smtp import body
from tests.reliability.helpers import invoke
from tests.reliability.smtp_server import MailServer

SUBSCRIBERS = """\
subscribers:
  - id: desk
    email: desk@example.org
    mode: instant
    topics: ["*"]
    since: 2026-01-01
  - id: gone
    email: gone@example.org
    mode: instant
    topics: ["*"]
    since: 2026-01-01
"""
DESK = {"id": "desk", "email": "desk@example.org", "mode": "instant"}


@pytest.fixture
def mail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MailServer]:
    """A running mail server, the subscribers file of the CLI, an operator address."""
    server = MailServer()
    server.up()
    subs = tmp_path / "subscribers.yaml"
    subs.write_text(SUBSCRIBERS, encoding="utf-8")
    monkeypatch.setenv("NEWSMON_SUBSCRIBERS_FILE", str(subs))
    monkeypatch.setenv("NEWSMON_SMTP_URL", server.url())
    monkeypatch.setenv("NEWSMON_OPERATOR_EMAIL", "ops@example.org")
    get_settings.cache_clear()
    try:
        yield server
    finally:
        server.down()


def _fresh_stories(url: str, count: int) -> None:
    """Stories published an hour ago (the CLI runs at the real time)."""
    with session_scope(url) as s:
        for n in range(1, count + 1):
            story(s, n=n, published=utcnow() - timedelta(hours=1))


def _ledger(url: str) -> list[Alert]:
    with session_scope(url) as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def test_all_delivered_exits_0(
    db_url: str, mail: MailServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _fresh_stories(db_url, 2)
    code, out, err = invoke(["alerts", "send"], capsys)
    assert code == 0, err
    assert "emails sent 4" in out and "held 0" in out
    assert {r.status for r in _ledger(db_url)} == {"sent"}


def test_451_holds_with_backoff_and_exits_3(
    db_url: str, mail: MailServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _fresh_stories(db_url, 1)
    mail.handler.data_reply = "451 4.3.0 try again later"
    code, _, err = invoke(["alerts", "send"], capsys)
    assert code == 3, err
    assert "2 alerts held for retry" in err and "451" in err
    rows = _ledger(db_url)
    assert {(r.status, r.attempts) for r in rows} == {("held", 1)}
    # Backing off: a run a moment later does not try again, and still says what waits.
    code, _, err = invoke(["alerts", "send"], capsys)
    assert code == 3 and mail.handler.data_calls == 2
    assert {r.attempts for r in _ledger(db_url)} == {1}


def test_drop_mid_data_holds_the_rest_and_exits_3_then_sends_each_once(
    db_url: str, mail: MailServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _fresh_stories(db_url, 3)  # six messages: three stories, two subscribers
    mail.handler.drop_on = 2
    code, out, err = invoke(["alerts", "send"], capsys)
    assert code == 3, err
    assert "emails sent 1" in out and "5 alerts held for retry" in err
    rows = _ledger(db_url)
    assert sorted(r.status for r in rows) == ["held"] * 5 + ["sent"]
    assert sum(r.attempts for r in rows) == 1  # only the message that was dropped counts
    mail.handler.drop_on = None
    code, out, err = invoke(["alerts", "send"], capsys)
    assert code == 0, err
    assert len(mail.handler.ids()) == 6 and not mail.handler.repeats()


def test_550_to_one_recipient_fails_that_alert_only_and_exits_1(
    db_url: str, mail: MailServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _fresh_stories(db_url, 2)
    mail.handler.rcpt_reply["gone@example.org"] = "550 5.1.1 no such mailbox"
    code, _, err = invoke(["alerts", "send"], capsys)
    assert code == 1, err
    assert "2 alerts refused for good" in err and "550" in err
    rows = _ledger(db_url)
    assert {(r.subscriber, r.status) for r in rows} == {("desk", "sent"), ("gone", "failed")}
    assert all(
        "550 5.1.1 no such mailbox" in (r.last_error or "") for r in rows if r.status != "sent"
    )
    # Failed is final: the next run does not try it again, and exits 0 (nothing new went wrong).
    code, _, _ = invoke(["alerts", "send"], capsys)
    assert code == 0 and len(mail.handler.ids()) == 2


def test_auth_rejected_is_misconfigured_exits_1_and_keeps_alerts_held(
    db_url: str,
    mail: MailServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mail.up(auth=True)
    monkeypatch.setenv("NEWSMON_SMTP_URL", mail.url(userinfo="newsmon:wrong"))
    get_settings.cache_clear()
    _fresh_stories(db_url, 2)
    code, _, err = invoke(["alerts", "send"], capsys)
    assert code == 1, err
    assert "misconfigured" in err and "SMTPAuthenticationError" in err
    assert "wrong" not in err  # the password is never shown
    rows = _ledger(db_url)
    assert {r.status for r in rows} == {"held"} and sum(r.attempts for r in rows) == 1
    # Fixed (here: the server stops asking): everything held goes out, once.
    mail.up()
    monkeypatch.setenv("NEWSMON_SMTP_URL", mail.url())
    get_settings.cache_clear()
    code, _, err = invoke(["alerts", "send"], capsys)
    assert code == 0, err
    to_subscribers = [m for m in mail.handler.messages if "ops@" not in str(m["To"])]
    assert len(to_subscribers) == 4 and not mail.handler.repeats()
    assert {r.status for r in _ledger(db_url)} == {"sent"}


def test_starttls_unavailable_is_misconfigured_exits_1(
    db_url: str,
    mail: MailServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NEWSMON_SMTP_URL", mail.url(query="starttls=1&timeout=5"))
    get_settings.cache_clear()
    _fresh_stories(db_url, 1)
    code, _, err = invoke(["alerts", "send"], capsys)
    assert code == 1, err
    assert "misconfigured" in err and "STARTTLS" in err
    assert {r.status for r in _ledger(db_url)} == {"held"}


def test_dag_alert_task_warns_on_held_and_fails_on_misconfigured(
    db_url: str, mail: MailServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _fresh_stories(db_url, 1)
    mail.handler.data_reply = "451 4.3.0 try again later"
    summary = orchestrate.alert(mode="scheduled")
    assert summary["alerts_held"] == 2 and summary["alerts_failed"] == 0
    assert any("2 alerts held for retry" in r.getMessage() for r in caplog.records)
    with session_scope(db_url) as s:
        story(s, n=2, published=utcnow() - timedelta(hours=1))
    mail.handler.data_reply = None
    mail.up(auth=True)
    monkeypatch.setenv("NEWSMON_SMTP_URL", mail.url(userinfo="newsmon:wrong"))
    get_settings.cache_clear()
    with pytest.raises(DeliveryError, match="misconfigured"):
        orchestrate.alert(mode="scheduled")


def test_too_old_to_deliver_is_failed_and_the_operator_is_told(
    db_url: str, mail: MailServer
) -> None:
    subs = subscribers(DESK)
    with session_scope(db_url) as s:
        story(s, n=1)
    mail.down()
    first = run_alerts(now=DAY1, subscribers=subs)
    assert first.delivery == "held"
    # Thirteen days later it is still wanted: retried, not given up.
    report = run_alerts(now=DAY1 + timedelta(days=13), subscribers=subs)
    assert report.alerts_expired == 0 and report.alerts_held == 1
    late: AlertReport = run_alerts(now=DAY1 + timedelta(days=14, hours=1), subscribers=subs)
    assert late.alerts_expired == 1 and late.delivery == "failed" and late.alerts_held == 0
    (notice,) = [w for w in late.warnings if w.startswith("alerts undeliverable")]
    assert "alert 1 (email to desk" in notice and "Connection refused" in notice
    (row,) = _ledger(db_url)
    assert row.status == "failed" and (row.last_error or "").startswith("undeliverable")
    # The operator's email goes out once the server answers again; the alert itself does not.
    mail.up()
    with session_scope(db_url) as s:
        story(s, n=2, published=DAY1 + timedelta(days=14))
    run_alerts(now=DAY1 + timedelta(days=14, hours=2), subscribers=subs)
    ops = [m for m in mail.handler.messages if "ops@" in str(m["To"])]
    undeliverable = [m for m in ops if "alerts undeliverable" in str(m["Subject"])]
    assert len(undeliverable) == 1 and "alert 1 (email to desk" in body(undeliverable[0], "plain")
    assert [
        str(m["X-Newsmon-Story"]) for m in mail.handler.messages if "desk@" in str(m["To"])
    ] == ["2"]
    with session_scope(db_url) as s:
        notices = [o.kind for o in s.scalars(select(OperatorAlert))]
    assert notices.count("undeliverable") == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "database", ["db_url", pytest.param("pg_url", id="postgres", marks=pytest.mark.postgres)]
)
def test_slow_server_short_lease_second_sender_sends_nothing_twice(
    database: str, mail: MailServer, request: pytest.FixtureRequest
) -> None:
    """The lease outlives one message, not the batch: renewal keeps a second sender away."""
    db_url = request.getfixturevalue(database)
    subs = subscribers(DESK)
    _fresh_stories(db_url, 8)
    mail.handler.delay = 0.25  # MAIL, RCPT, DATA: ~0.75 s a message, ~6 s for the batch
    lease = timedelta(seconds=2)
    first: list[AlertReport] = []
    sender = threading.Thread(
        target=lambda: first.append(run_alerts(now=utcnow(), subscribers=subs, lease=lease))
    )
    sender.start()
    time.sleep(3.0)  # past the first sender's original lease, mid-batch
    assert sender.is_alive()
    second = run_alerts(now=utcnow(), subscribers=subs, lease=lease)
    sender.join(60)
    assert not sender.is_alive() and first
    assert second.emails_sent == 0
    assert first[0].emails_sent == 8
    assert len(mail.handler.ids()) == 8 and not mail.handler.repeats()
    assert {r.status for r in _ledger(db_url)} == {"sent"}
