"""The demo's day gives the same emails at any time of day.

The replica dates its articles by their age when it starts, so the demo's alert planning at two
moments a day apart and at 23:59 must send the same emails: the ministry statement at once to the
ministries subscription, every matching story in the desk's digest (sent at the demo's end of
day), and a "Caught up" section only for what really was caught up (the first run's look-back).
The day is driven through the functions the DAG's tasks call (``newsmon run-day``'s
``run_day``: crawl each source, process, alert) with the demo's own settings and subscribers,
with the alert stage's clock fixed; each moment gets a fresh database and a replica started at it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from pipeline.cli.runday import run_day
from pipeline.config.settings import get_settings
from pipeline.devtools.demo import (
    DEMO_SUBSCRIBERS,
    DemoResult,
    MailSink,
    demo_configured,
    summary_lines,
)
from pipeline.devtools.demo_alerts import end_of_day, queued_alerts, sent_emails, sink_mailer
from pipeline.devtools.replay import start_replay
from pipeline.store import db

pytestmark = pytest.mark.slow

Email = tuple[str, str, tuple[str, ...]]  # subscriber, instant|digest, origin titles


def demo_day(now: datetime, base: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The demo's day at ``now`` on a fresh database: emails, statement titles, saved messages."""
    base.mkdir(parents=True)
    monkeypatch.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{base / 'newsmon.db'}")
    get_settings.cache_clear()
    db.reset_engines()
    with start_replay(port=0, now=now) as replay, MailSink(base / "outbox") as sink:
        sources = replay.write_sources(base / "sources.yaml")
        statement = {a.title for a in replay.articles("mid.ru") if a.id in {"2051874", "2051873"}}
        with demo_configured(sources):
            day = run_day(now=now, mailer_factory=lambda: sink_mailer(sink.port))
            end_of_day(sink.port, now=now)
            queued = queued_alerts()
        sent = sent_emails(now - timedelta(days=1))
        saved = [
            message_from_bytes(m.path.read_bytes(), policy=default_policy) for m in sink.received
        ]
    assert day.exit_code == 0, day.as_dict()
    emails: list[Email] = sorted(
        (e.subscriber, e.kind, tuple(sorted(title for _, title, _ in e.stories))) for e in sent
    )
    return {
        "emails": emails,
        "statement": statement,
        "saved": saved,
        "sent": sent,
        "queued": queued,
    }


def text_of(msg: EmailMessage) -> str:
    """The plain-text part of a message."""
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def test_the_demo_sends_the_same_emails_at_any_time_of_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In the past: the crawler's own clock (its first-run look-back) is the real one.
    real = datetime.now(UTC).replace(second=0, microsecond=0)
    later = real - timedelta(minutes=5)
    nows = [
        later - timedelta(days=1),
        later,
        datetime.combine(real.date() - timedelta(days=1), time(23, 59), UTC),
    ]
    days = [demo_day(now, tmp_path / f"day{i}", monkeypatch) for i, now in enumerate(nows)]

    first = days[0]
    assert first["emails"], "the demo sent nothing"
    for other in days[1:]:
        assert other["emails"] == first["emails"]
    for day in days:
        instant = [e for e in day["emails"] if e[1] == "instant"]  # type: ignore[union-attr]
        assert [e[0] for e in instant] == ["ministries-instant"]
        assert set(instant[0][2]) & day["statement"]  # type: ignore[operator]
        digests = {e[0] for e in day["emails"] if e[1] == "digest"}  # type: ignore[union-attr]
        assert "desk-digest" in digests
        assert day["queued"] == []  # the demo's end of day sent every digest
        assert len(day["saved"]) == len(day["emails"])  # type: ignore[arg-type]

    # "Caught up" only for the stories older than 48 h, saying why: the first run's look-back.
    desk = next(
        m
        for m in first["saved"]  # type: ignore[attr-defined]
        if m["X-Newsmon-Subscription"] == "desk-digest"
    )
    body = text_of(desk)
    assert "== Caught up ==" in body and "first run" in body
    assert "backfill" not in body and "topic changed" not in body
    fresh, caught = body.split("== Caught up ==")
    # the Kremlin call, 7.5 h old, under whichever language version is its origin
    assert "Telephone conversation" in fresh or "Телефонный разговор" in fresh
    tripp = "Deputy Prime Minister discusses TRIPP"  # 62 h old
    assert tripp in caught and tripp not in fresh
    instant_msg = next(
        m
        for m in first["saved"]  # type: ignore[attr-defined]
        if m["X-Newsmon-Subscription"] == "ministries-instant" and m["X-Newsmon-Story"]
    )
    assert "Caught up" not in text_of(instant_msg)

    # The summary lists each email: subscriber, instant or digest, story.
    result = DemoResult(
        summary={"outbox": str(tmp_path / "day0" / "outbox")},
        sources=[],
        stories=[],
        emails=[],
        dag_run=None,  # type: ignore[arg-type]  # the summary does not read the Airflow run
        sent=first["sent"],  # type: ignore[arg-type]
        queued=[],
    )
    lines = "\n".join(summary_lines(result))
    assert "instant to ministries-instant: story" in lines
    assert "digest  to desk-digest:" in lines
    assert "queued: nothing" in lines and str(DEMO_SUBSCRIBERS) in lines
