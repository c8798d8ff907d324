"""The offline demo: the whole day under Airflow, on loopback, in one command.

``run_demo`` starts the replica sites (``pipeline.devtools.replay``) and an SMTP sink
(aiosmtpd; every message saved as ``.eml`` under ``var/demo/outbox/``), points the shipped
sources at the replica, runs the ``news_monitor`` DAG through the real Airflow (``dag.test()``
in a child process, metadata DB under ``var/airflow/``) and summarises what the run stored and
sent. Running it again stores and sends nothing new, because crawling, storage and the alert
ledger are all idempotent.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from pipeline.airflow.env import (
    AirflowError,
    DagTestResult,
    airflow_env,
    migrate,
    run_dag_test,
    smtp_conn_json,
)
from pipeline.config.settings import get_settings
from pipeline.errors import ConfigError
from pipeline.stages.report import totals
from pipeline.store.db import session_scope
from pipeline.store.models import Document, Run, RunCount, Source
from pipeline.store.stories import Story, stories

DAG_ID = "news_monitor"
# Counters in run_counts that are not the end of a fetched page (matches, sends, re-matches).
NOT_PAGE_OUTCOMES = {"matched", "sent", "send_failed", "suppressed", "unmatched"}


@dataclass
class SavedMail:
    """One message the sink accepted."""

    path: Path
    subject: str
    to: list[str]


class MailSink:
    """A loopback SMTP server (aiosmtpd) that saves each message as an ``.eml`` file."""

    def __init__(self, outbox: Path, host: str = "127.0.0.1") -> None:
        self.outbox, self.host = outbox, host
        self.port = 0
        self.received: list[SavedMail] = []
        self._lock = threading.Lock()
        self._controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd hook: store the message, answer 250."""
        data: bytes = envelope.content
        headers = BytesHeaderParser(policy=default_policy).parsebytes(data)
        with self._lock:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            path = self.outbox / f"{stamp}-{len(self.received) + 1:03d}.eml"
            path.write_bytes(data)
            subject = str(headers.get("Subject", ""))
            self.received.append(SavedMail(path, subject, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def start(self) -> MailSink:
        """Listen on a free loopback port."""
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            raise ConfigError(
                "the demo's SMTP sink needs aiosmtpd: `make install` (or pip install aiosmtpd)"
            ) from None
        self.outbox.mkdir(parents=True, exist_ok=True)
        # aiosmtpd's Controller cannot bind port 0 (it probes the port it was given), so ask
        # the kernel for a free port first; retry if another process takes it in between.
        for _ in range(5):
            with socket.socket() as probe:
                probe.bind((self.host, 0))
                self.port = probe.getsockname()[1]
            controller = Controller(self, hostname=self.host, port=self.port)
            try:
                controller.start()
            except (TimeoutError, OSError, RuntimeError):
                continue
            self._controller = controller
            return self
        raise ConfigError(f"could not start the demo SMTP sink on {self.host}")

    def stop(self) -> None:
        """Stop listening."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class SourceLine:
    """What the demo run fetched from one source."""

    name: str
    fetched: int = 0
    new: int = 0
    duplicates: int = 0
    other: Counter[str] = field(default_factory=Counter)


@dataclass
class DemoResult:
    """The demo's summary; ``summary`` holds the keys evaluation scripts read."""

    summary: dict[str, Any]
    sources: list[SourceLine]
    stories: list[Story]
    emails: list[SavedMail]
    dag_run: DagTestResult


def _demo_dir() -> Path:
    """``<var>/demo``."""
    return get_settings().var_dir / "demo"


def _last_run_id() -> int:
    """The newest ``runs.id`` (0 when none), to tell this demo's runs from earlier ones."""
    with session_scope() as session:
        return int(session.scalar(select(func.max(Run.id))) or 0)


def _document_count() -> int:
    """Documents stored so far."""
    with session_scope() as session:
        return int(session.scalar(select(func.count(Document.id))) or 0)


def per_source(after_run_id: int) -> list[SourceLine]:
    """Pages fetched, new and duplicate per source over the crawl/process runs after the id."""
    with session_scope() as session:
        names = {s.id: s.name for s in session.scalars(select(Source))}
        rows = session.execute(
            select(RunCount.source_id, RunCount.outcome, func.sum(RunCount.count))
            .join(Run, Run.id == RunCount.run_id)
            .where(Run.id > after_run_id, Run.kind.in_(["crawl", "process"]))
            .group_by(RunCount.source_id, RunCount.outcome)
        ).all()
    lines: dict[str, SourceLine] = {}
    for source_id, outcome, n in rows:
        if outcome in NOT_PAGE_OUTCOMES:
            continue
        name = names.get(source_id, "(no source)")
        line = lines.setdefault(name, SourceLine(name))
        line.fetched += int(n)
        if outcome == "new":
            line.new += int(n)
        elif outcome == "duplicate":
            line.duplicates += int(n)
        else:
            line.other[outcome] += int(n)
    return sorted(lines.values(), key=lambda line: line.name)


def demo_env(sources_file: Path, smtp_port: int) -> dict[str, str]:
    """The Airflow environment of the demo: replica sources, SMTP sink, demo mode."""
    env = airflow_env()
    env.update(
        {
            "NEWSMON_MODE": "demo",
            "NEWSMON_SOURCES_FILE": str(sources_file),
            # Alerts and the failure notifier both go through Airflow's smtp_default here.
            "AIRFLOW_CONN_SMTP_DEFAULT": smtp_conn_json("127.0.0.1", smtp_port),
        }
    )
    # The sink must receive the demo's mail, whatever the operator configured for production.
    env.pop("NEWSMON_SMTP_URL", None)
    return env


def run_demo(
    *, replica_port: int | None = None, progress: Callable[[str], None] | None = None
) -> DemoResult:
    """Run the day under Airflow over the replica; summarise what it stored and sent.

    The replica listens on a fixed port (default 8800) because the port is part of every
    article URL: a different port on the second run would make every article look new.
    """
    from pipeline.devtools.replay import DEFAULT_PORT, start_replay

    say = progress or (lambda _msg: None)
    demo_dir = _demo_dir()
    outbox = demo_dir / "outbox"
    before_run, before_docs = _last_run_id(), _document_count()
    port = DEFAULT_PORT if replica_port is None else replica_port
    with start_replay(port=port) as replay, MailSink(outbox) as sink:
        sources_file = replay.write_sources(demo_dir / "sources.yaml")
        say(f"replica sites on 127.0.0.x:{replay.port}, SMTP sink on 127.0.0.1:{sink.port}")
        env = demo_env(sources_file, sink.port)
        if migrate(env):
            say(f"Airflow metadata database ready under {env['AIRFLOW_HOME']}")
        say(f"running {DAG_ID} with dag.test() (log: {demo_dir / 'airflow-dag-test.log'})")
        result = run_dag_test(DAG_ID, env, log_path=demo_dir / "airflow-dag-test.log")
        emails = list(sink.received)
    if not result.ok:
        raise AirflowError(
            f"{DAG_ID} did not succeed (state {result.state}, exit {result.returncode}); "
            f"read {result.log_path}"
        )
    with session_scope() as session:
        summary = totals(session)
        listed = stories(session, limit=200)
    summary["new_documents"] = summary["documents"] - before_docs
    summary["emails_sent"] = len(emails)
    summary["outbox"] = str(outbox)
    return DemoResult(summary, per_source(before_run), listed, emails, result)


def with_outlets(found: list[Story], *, limit: int = 12) -> list[Story]:
    """Stories worth showing first: matched a topic or carried by several outlets."""
    chosen = [s for s in found if s.topics or s.size > 1]
    chosen.sort(key=lambda s: (-len(s.topics) - s.size, -s.first_seen_at.timestamp()))
    return chosen[:limit]
