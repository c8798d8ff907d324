"""``newsmon run-day``: the day without Airflow, against the replica sites.

The first run stores the replica's articles and alerts (the ministry statement at once); the
second stores and sends nothing. A new statement while the mail server is away is held: exit 3,
named; the next run delivers it. A stage that cannot run is exit 1.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from pipeline.cli import _register, app
from pipeline.config.settings import get_settings
from pipeline.devtools.demo import DEMO_SUBSCRIBERS, MailSink
from pipeline.devtools.replay import ReplayServer, start_replay
from pipeline.store.db import session_scope
from pipeline.store.models import Alert, Document, Run

_register()
runner = CliRunner()
# The ministry statement and its copies (TASS) keep the crawl short.
SOURCES = ["--source", "mid-ru", "--source", "tass"]


@pytest.fixture
def replica(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayServer]:
    """The replica, its sources file and the demo's subscribers, as the settings."""
    with start_replay(port=0) as replay:
        sources = replay.write_sources(tmp_path / "sources.yaml")
        monkeypatch.setenv("NEWSMON_SOURCES_FILE", str(sources))
        monkeypatch.setenv("NEWSMON_SUBSCRIBERS_FILE", str(DEMO_SUBSCRIBERS))
        get_settings.cache_clear()
        yield replay


def smtp_at(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point NEWSMON_SMTP_URL at a plain SMTP server on loopback."""
    monkeypatch.setenv("NEWSMON_SMTP_URL", f"smtp://127.0.0.1:{port}?starttls=0&timeout=5")
    get_settings.cache_clear()


def documents() -> int:
    """Documents stored."""
    with session_scope() as session:
        return int(session.scalar(select(func.count(Document.id))) or 0)


def closed_port() -> int:
    """A loopback port nobody listens on (the mail server is away)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_run_day_stores_and_alerts_once_then_holds_and_retries(
    replica: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with MailSink(tmp_path / "outbox") as sink:
        smtp_at(sink.port, monkeypatch)
        first = runner.invoke(app, ["run-day", *SOURCES])
        assert first.exit_code == 0, first.output
        assert "the day completed" in first.output
        stored = documents()
        assert stored > 0
        instant = [m for m in sink.received if "ministries@example.org" in m.to]
        assert len(instant) == 1  # the ministry statement, at once

        second = runner.invoke(app, ["run-day", *SOURCES])
        assert second.exit_code == 0, second.output
        assert documents() == stored and len(sink.received) == len(instant)
        assert "0 emails sent" in second.output

    # A new statement while the mail server is away: stored, its alert held, exit 3.
    replica.publish("mid.ru", "2052240")
    smtp_at(closed_port(), monkeypatch)
    third = runner.invoke(app, ["run-day", "--source", "mid-ru"])
    assert third.exit_code == 3, third.output
    assert "held" in third.output
    assert documents() == stored + 1
    with MailSink(tmp_path / "outbox-2") as sink:
        smtp_at(sink.port, monkeypatch)
        fourth = runner.invoke(app, ["run-day", "--source", "mid-ru"])
        assert fourth.exit_code == 0, fourth.output
        assert [m.to for m in sink.received] == [["ministries@example.org"]]
    with session_scope() as session:
        assert session.scalar(select(func.count(Alert.id)).where(Alert.status == "held")) == 0
        days = session.scalars(select(Run).where(Run.kind == "airflow")).all()
    assert [r.params["dag_id"] for r in days] == ["run-day"] * 4
    assert [r.status for r in days] == ["ok"] * 4


def test_a_stage_that_cannot_run_is_exit_1_and_the_rest_still_runs(
    replica: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_at(closed_port(), monkeypatch)
    result = runner.invoke(app, ["run-day", "--source", "no-such-source", "--json"])
    assert result.exit_code == 1, result.output
    assert '"stage_errors": {"sources"' in result.output
    assert '"process": {' in result.output  # processing and alerting still ran
