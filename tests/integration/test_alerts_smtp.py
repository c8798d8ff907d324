"""Alerts end to end against a real SMTP server (aiosmtpd) and a webhook receiver on loopback.

Proves the delivery guarantee both ways: failures lose nothing (rows stay pending and go out on
the next run) and reruns send nothing twice; the only duplicate is a crash between the server
accepting a message and the ledger commit, and it carries the same Message-ID.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from pipeline.alerts import run_alerts
from pipeline.alerts import send as send_module
from pipeline.alerts.send import LEASE
from pipeline.config.settings import get_settings
from pipeline.store.db import session_scope
from pipeline.store.models import Alert, OperatorAlert
from pipeline.store.runs import add_count, run_counts, start_run
from tests.alerts_data import DAY1, copy_of, match, source, story, subscribers

INSTANT = {"id": "desk", "name": "Caucasus desk", "email": "desk@example.org", "mode": "instant"}
DIGEST = {"id": "daily", "email": "daily@example.org", "mode": "digest", "digest_hour": 8}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """aiosmtpd handler: keeps accepted messages; can refuse or drop the connection on cue."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = False
        self.drop_on: int | None = None  # drop the connection at this DATA (1-based, per server)
        self.data_calls = 0
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_calls += 1
        if self.drop_on is not None and self.data_calls == self.drop_on:
            server.transport.close()
            return "421 going away"
        if self.refuse:
            return "451 try again later"
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sink]:
    sink = Sink()
    port = sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("NEWSMON_SMTP_URL", f"smtp://127.0.0.1:{port}?starttls=0&timeout=5")
    monkeypatch.setenv("NEWSMON_MAIL_FROM", "newsmon <newsmon@example.org>")
    get_settings.cache_clear()
    try:
        yield sink
    finally:
        controller.stop()


class Receiver:
    """Loopback webhook receiver: records every POST, answers ``status``."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.status < 300:
                    receiver.posts.append((dict(self.headers), json.loads(body)))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/secret-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def ledger(url: str) -> list[Alert]:
    with session_scope(url) as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def body(msg: EmailMessage, subtype: str) -> str:
    part = msg.get_body(preferencelist=(subtype,))
    assert part is not None, subtype
    return str(part.get_content())


def test_instant_delivery_parts_passage_link_and_reruns(any_db_url: str, smtp: Sink) -> None:
    subs = subscribers(INSTANT)
    with session_scope(any_db_url) as s:
        story(s, n=1)
    report = run_alerts(now=DAY1, subscribers=subs, feeds_dir=None)
    assert report.emails_sent == 1 and report.pending == 0
    (msg,) = smtp.messages
    assert msg["Subject"].startswith("Statement 1 ") and msg["Subject"].endswith(
        " — MFA-AM [Zangezur corridor]"
    )
    assert msg["To"] == "Caucasus desk <desk@example.org>"
    assert msg.get_content_type() == "multipart/alternative"
    text, html = body(msg, "plain"), body(msg, "html")
    assert "discussed the *Zangezur corridor* with the delegation" in text
    assert "<mark>Zangezur corridor</mark>" in html
    assert "https://mfa.example.org/statements/1" in text
    assert 'href="https://mfa.example.org/statements/1"' in html
    assert smtp.envelopes == [("newsmon@example.org", ["desk@example.org"])]
    with session_scope(any_db_url) as s:
        assert report.run_id is not None
        assert run_counts(s, report.run_id) == {(0, "sent"): 1}
    # The same day three times: nothing new.
    for hours in (1, 2, 3):
        again = run_alerts(now=DAY1 + timedelta(hours=hours), subscribers=subs)
        assert again.emails_sent == 0 and again.planned["created"] == 0
    assert len(smtp.messages) == 1
    (row,) = ledger(any_db_url)
    assert (row.status, row.attempts, row.message_id) == ("sent", 0, msg["Message-ID"])


def test_republished_copy_and_updated_page_send_nothing_new(db_url: str, smtp: Sink) -> None:
    subs = subscribers(INSTANT)
    with session_scope(db_url) as s:
        story(s, n=1)
    run_alerts(now=DAY1, subscribers=subs)
    with session_scope(db_url) as s:
        cluster, origin = story(s, n=2)
    run_alerts(now=DAY1 + timedelta(minutes=30), subscribers=subs)
    assert len(smtp.messages) == 2
    with session_scope(db_url) as s:
        from pipeline.store.models import Cluster, Document

        c = s.get(Cluster, cluster.id)
        d = s.get(Document, origin.id)
        assert c is not None and d is not None
        copy_of(s, c, d, source_name="tass")
        copy_of(s, c, d, source_name="news-am")
        d.text += " A correction was added."
        d.update_count += 1
    report = run_alerts(now=DAY1 + timedelta(hours=1), subscribers=subs)
    assert report.emails_sent == 0 and len(smtp.messages) == 2
    assert len(ledger(db_url)) == 2


def test_scraped_script_and_crlf_in_title_arrive_harmless(db_url: str, smtp: Sink) -> None:
    evil = 'Talks <script>alert("x")</script>\r\nBcc: victim@example.org\r\n\r\nInjected body'
    with session_scope(db_url) as s:
        story(s, n=1, title=evil)
    run_alerts(now=DAY1, subscribers=subscribers(INSTANT))
    (msg,) = smtp.messages
    assert smtp.envelopes[0][1] == ["desk@example.org"]  # no smuggled recipient
    assert msg["Bcc"] is None
    assert "\n" not in msg["Subject"] and "Injected body" in msg["Subject"]
    html = body(msg, "html")
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<script" not in body(msg, "plain").replace('<script>alert("x")</script>', "")


def test_digest_one_email_a_day_at_the_hour(db_url: str, smtp: Sink) -> None:
    subs = subscribers({**DIGEST, "topics": ["zangezur-corridor", "peace-treaty"]})
    with session_scope(db_url) as s:
        story(s, n=1)
        story(s, n=2, topic_id="peace-treaty", term="peace agreement")
    for hours in (0, 3, 6):  # 10:00, 13:00, 16:00 on day 1: after today's 08:00 digest
        assert run_alerts(now=DAY1 + timedelta(hours=hours), subscribers=subs).emails_sent == 0
    next_morning = DAY1.replace(hour=8, minute=5) + timedelta(days=1)
    for minutes in (0, 30, 60):  # three runs after the hour: one email
        run_alerts(now=next_morning + timedelta(minutes=minutes), subscribers=subs)
    (msg,) = smtp.messages
    assert msg["Subject"].startswith("[newsmon] Digest 11 Mar 2026: 2 stories")
    html, text = body(msg, "html"), body(msg, "plain")
    assert text.index("== Zangezur corridor (1) ==") < text.index("== Peace treaty (1) ==")
    assert html.count('<h2 class="section">') == 2 and html.count('class="story"') == 2
    assert "Caught up" not in html and "Caught up" not in text
    assert {r.message_id for r in ledger(db_url)} == {msg["Message-ID"]}


def test_three_day_backfill_is_one_digest_section(db_url: str, smtp: Sink) -> None:
    subs = subscribers(INSTANT)
    with session_scope(db_url) as s:
        for n in range(1, 7):  # two documents per day over three days
            story(s, n=n, published=DAY1 - timedelta(days=(n + 1) // 2))
    report = run_alerts(mode="backfill", now=DAY1, subscribers=subs)
    assert report.planned["caught_up"] == 6 and report.emails_sent == 0
    run_alerts(now=DAY1.replace(hour=8, minute=1) + timedelta(days=1), subscribers=subs)
    (msg,) = smtp.messages
    text = body(msg, "plain")
    assert text.count("== Caught up ==") == 1 and text.count("Read: https://") == 6
    assert "6 caught up" in msg["Subject"]


def test_refusing_server_holds_alerts_then_delivers(db_url: str, smtp: Sink) -> None:
    subs = subscribers(INSTANT)
    with session_scope(db_url) as s:
        for n in range(1, 4):
            story(s, n=n)
    smtp.refuse = True
    report = run_alerts(now=DAY1, subscribers=subs)
    assert report.emails_sent == 0 and report.email_failures == 3  # 451 per message
    rows = ledger(db_url)
    assert {(r.status, r.attempts) for r in rows} == {("held", 1)}
    assert all("451" in (r.last_error or "") for r in rows)
    assert report.alerts_held == 3 and report.delivery == "held"
    smtp.refuse = False
    # Backoff: not retried within five minutes of the failure, retried after.
    assert run_alerts(now=DAY1 + timedelta(minutes=4), subscribers=subs).emails_sent == 0
    assert run_alerts(now=DAY1 + timedelta(minutes=6), subscribers=subs).emails_sent == 3
    assert len(set(smtp.ids())) == 3 and {r.status for r in ledger(db_url)} == {"sent"}
    assert run_alerts(now=DAY1 + timedelta(minutes=10), subscribers=subs).emails_sent == 0


def test_server_down_holds_everything_one_try_counted(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_SMTP_URL", f"smtp://127.0.0.1:{free_port()}?starttls=0&timeout=3")
    get_settings.cache_clear()
    with session_scope(db_url) as s:
        for n in range(1, 4):
            story(s, n=n)
    report = run_alerts(now=DAY1, subscribers=subscribers(INSTANT))
    assert report.emails_sent == 0 and "Connection refused" in report.errors[0]
    rows = ledger(db_url)
    assert [r.status for r in rows] == ["held"] * 3
    assert sorted(r.attempts for r in rows) == [0, 0, 1]  # one tried, two never tried
    assert all(r.claim_token is None for r in rows)


def test_dropped_connection_mid_batch_then_next_run_without_duplicates(
    db_url: str, smtp: Sink
) -> None:
    subs = subscribers(INSTANT)
    with session_scope(db_url) as s:
        for n in range(1, 6):
            story(s, n=n)
    smtp.drop_on = 3
    report = run_alerts(now=DAY1, subscribers=subs)
    assert report.emails_sent == 2 and len(smtp.messages) == 2
    rows = ledger(db_url)
    sent = [r for r in rows if r.status == "sent"]
    held = [r for r in rows if r.status == "held"]
    assert len(sent) == 2 and len(held) == 3
    assert {r.message_id for r in sent} == set(smtp.ids())
    smtp.drop_on = None
    assert run_alerts(now=DAY1 + timedelta(minutes=10), subscribers=subs).emails_sent == 3
    ids = smtp.ids()
    assert len(ids) == 5 and len(set(ids)) == 5  # every alert once, no duplicate Message-ID
    assert {r.message_id for r in ledger(db_url)} == set(ids)


def test_crash_between_accept_and_commit_resends_same_message_id(
    db_url: str, smtp: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented duplicate window: at most the message in flight, with the same id."""
    subs = subscribers(INSTANT)
    with session_scope(db_url) as s:
        for n in range(1, 4):
            story(s, n=n)
    real = send_module.mark_sent
    calls = {"n": 0}

    def crash_on_second(url: str | None, ids: list[int], now: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("worker killed after the server accepted message 2")
        real(url, ids, now)

    monkeypatch.setattr(send_module, "mark_sent", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        run_alerts(now=DAY1, subscribers=subs)
    monkeypatch.setattr(send_module, "mark_sent", real)
    assert len(smtp.messages) == 2
    # Before the lease expires a second sender leaves the in-flight alert alone...
    run_alerts(now=DAY1 + timedelta(minutes=1), subscribers=subs)
    assert len(smtp.messages) == 3
    # ...after it, the alert goes out again with the Message-ID it had.
    run_alerts(now=DAY1 + LEASE + timedelta(minutes=2), subscribers=subs)
    ids = smtp.ids()
    assert len(ids) == 4 and len(set(ids)) == 3
    assert ids[1] == ids[3]
    assert {r.status for r in ledger(db_url)} == {"sent"}


def test_webhook_gets_each_story_once_with_retries(db_url: str, receiver: Receiver) -> None:
    subs = subscribers(
        {"id": "hook", "webhook": receiver.url, "topics": ["zangezur-corridor", "peace-treaty"]}
    )
    with session_scope(db_url) as s:
        c1, d1 = story(s, n=1)
        match(s, d1, "peace-treaty", "deputy minister")
        story(s, n=2)
    receiver.status = 503
    report = run_alerts(now=DAY1, subscribers=subs)
    assert report.webhooks_sent == 0 and report.webhook_failures == 2
    assert all("secret-token" not in (r.last_error or "") for r in ledger(db_url))
    receiver.status = 204
    for minutes in (5, 10, 15):
        run_alerts(now=DAY1 + timedelta(minutes=minutes), subscribers=subs)
    with session_scope(db_url) as s:
        copy_of(s, s.merge(c1), s.merge(d1))
    run_alerts(now=DAY1 + timedelta(minutes=20), subscribers=subs)
    stories = sorted(p["story"]["cluster_id"] for _, p in receiver.posts)
    assert stories == [1, 2]
    headers, payload = next(p for p in receiver.posts if p[1]["story"]["cluster_id"] == 1)
    assert {m["topic"]["id"] for m in payload["matches"]} == {"zangezur-corridor", "peace-treaty"}
    assert headers["X-Newsmon-Delivery"] == payload["delivery_id"]
    assert payload["story"]["url"] == "https://mfa.example.org/statements/1"
    assert any("Zangezur corridor" in p["text"] for m in payload["matches"] for p in m["passages"])


def test_operator_alert_once_until_recovery(
    db_url: str, smtp: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_OPERATOR_EMAIL", "ops@example.org")
    monkeypatch.setenv("NEWSMON_SOURCE_SILENCE_DAYS", "3")
    get_settings.cache_clear()
    with session_scope(db_url) as s:
        story(s, n=1, source_name="mfa-am")  # first seen DAY1
        story(s, n=2, source_name="tass")
        tass = source(s, "tass")
        for i in range(4):  # three healthy crawl runs, then more than half of the fetches fail
            run = start_run(s, "crawl")
            add_count(s, run.id, tass.id, "new", 2 if i == 3 else 10)
            add_count(s, run.id, tass.id, "http_error", 9 if i == 3 else 0)
    subs = subscribers(INSTANT)

    def operator_subjects() -> list[str]:
        return [str(m["Subject"]) for m in smtp.messages if m["To"] == "ops@example.org"]

    run_alerts(now=DAY1 + timedelta(hours=1), subscribers=subs)
    assert operator_subjects() == ["[newsmon operator] tass: failing fetches"]
    spike = next(m for m in smtp.messages if m["To"] == "ops@example.org")
    assert "9 of 11 fetches failed" in body(spike, "plain")
    for days in (4, 5, 6):  # both sources silent since day 1; tass still failing
        run_alerts(now=DAY1 + timedelta(days=days), subscribers=subs)
    assert sorted(operator_subjects()) == [
        "[newsmon operator] mfa-am: silent",
        "[newsmon operator] tass: failing fetches",
        "[newsmon operator] tass: silent",
    ]
    with session_scope(db_url) as s:  # both recover: new documents, a healthy crawl
        for n, name in ((7, "mfa-am"), (8, "tass")):
            _, doc = story(s, n=n, source_name=name, published=DAY1 + timedelta(days=6))
            doc.first_seen_at = DAY1 + timedelta(days=6)
        run = start_run(s, "crawl")
        add_count(s, run.id, source(s, "tass").id, "new", 10)
    run_alerts(now=DAY1 + timedelta(days=6, hours=1), subscribers=subs)
    with session_scope(db_url) as s:
        states = {o.key: o.active for o in s.scalars(select(OperatorAlert))}
    assert states == {"silent:mfa-am": False, "silent:tass": False, "failing:tass": False}
    assert len(operator_subjects()) == 3


def test_airflow_smtp_default_connection_is_the_same_code_path(
    db_url: str, smtp: Sink, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Without NEWSMON_SMTP_URL the DAG's mailer reads Airflow's smtp_default (Task SDK lookup)."""
    from pipeline.airflow.connections import smtp_mailer

    monkeypatch.delenv("NEWSMON_SMTP_URL")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        f"smtp://127.0.0.1:{smtp.port}?disable_ssl=true&disable_tls=true&from_email=af%40example.org",
    )
    get_settings.cache_clear()
    with session_scope(db_url) as s:
        story(s, n=1)
    report = run_alerts(now=DAY1, subscribers=subscribers(INSTANT), mailer_factory=smtp_mailer)
    assert report.emails_sent == 1
    assert smtp.envelopes == [("af@example.org", ["desk@example.org"])]


def test_no_smtp_configured_is_a_clear_error_and_loses_nothing(
    db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from pipeline.airflow.connections import smtp_mailer
    from pipeline.errors import ConfigError

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    with session_scope(db_url) as s:
        story(s, n=1)
    # Neither NEWSMON_SMTP_URL nor Airflow's smtp_default (the DAG's and the CLI's lookup).
    with pytest.raises(ConfigError, match=r"NEWSMON_SMTP_URL.*smtp_default"):
        run_alerts(now=DAY1, subscribers=subscribers(INSTANT), mailer_factory=smtp_mailer)
    (row,) = ledger(db_url)
    assert (row.status, row.claim_token, row.attempts) == ("pending", None, 0)
