"""The offline demo: the whole day under Airflow, on loopback, in one command.

``run_demo`` starts the replica sites (``pipeline.devtools.replay``) and an SMTP sink
(aiosmtpd; every message saved as ``.eml`` under ``var/demo/outbox/``), points the shipped
sources at the replica, runs the ``news_monitor`` DAG through the real Airflow (``dag.test()``
in a child process, metadata DB under ``var/airflow/``), ends the day by sending the digests
(:func:`end_of_day`: they would otherwise wait for their hour) and summarises what the run
stored, sent and left queued. Running it again stores and sends nothing new, because crawling,
storage and the alert ledger are all idempotent.

The replica dates its articles by their age at the moment the demo starts, and the demo's
subscribers (``tests/fixtures/demo/subscribers.yaml``) are set so that the ministry statement
is an instant email and every matching story is in the desk's digest, at any time of day.
"""

from __future__ import annotations

import os
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
from pipeline.config.settings import PROJECT_ROOT, get_settings
from pipeline.devtools.demo_alerts import (
    QueuedAlerts,
    SentEmail,
    end_of_day,
    queued_alerts,
    sent_emails,
)
from pipeline.errors import ConfigError
from pipeline.stages.report import totals
from pipeline.store.db import session_scope
from pipeline.store.models import Document, Run, RunCount, Source, utcnow
from pipeline.store.stories import Story, stories

DAG_ID = "news_monitor"
# Who the demo's alerts go to (all to the SMTP sink): see the file's header.
DEMO_SUBSCRIBERS = PROJECT_ROOT / "tests" / "fixtures" / "demo" / "subscribers.yaml"
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
    sent: list[SentEmail] = field(default_factory=list)
    queued: list[QueuedAlerts] = field(default_factory=list)


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


def demo_settings(sources_file: Path) -> dict[str, str]:
    """The newsmon settings of the demo: demo mode, the replica's sources, the demo subscribers."""
    return {
        "NEWSMON_MODE": "demo",
        "NEWSMON_SOURCES_FILE": str(sources_file),
        "NEWSMON_SUBSCRIBERS_FILE": str(DEMO_SUBSCRIBERS),
    }


def demo_env(sources_file: Path, smtp_port: int) -> dict[str, str]:
    """The Airflow environment of the demo: replica sources, SMTP sink, demo mode."""
    env = airflow_env()
    env.update(demo_settings(sources_file))
    # Alerts and the failure notifier both go through Airflow's smtp_default here.
    env["AIRFLOW_CONN_SMTP_DEFAULT"] = smtp_conn_json("127.0.0.1", smtp_port)
    # The sink must receive the demo's mail, whatever the operator configured for production.
    env.pop("NEWSMON_SMTP_URL", None)
    return env


@contextmanager
def demo_configured(sources_file: Path) -> Iterator[None]:
    """This process with the demo's settings (as the DAG's tasks have them); restored after."""
    wanted: dict[str, str | None] = {**demo_settings(sources_file), "NEWSMON_SMTP_URL": None}
    saved = {key: os.environ.get(key) for key in wanted}
    try:
        for key, value in wanted.items():
            _set_env(key, value)
        get_settings.cache_clear()
        yield
    finally:
        for key, value in saved.items():
            _set_env(key, value)
        get_settings.cache_clear()


def _set_env(key: str, value: str | None) -> None:
    """Set or remove one environment variable."""
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value


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
    started = utcnow()
    port = DEFAULT_PORT if replica_port is None else replica_port
    with start_replay(port=port) as replay, MailSink(outbox) as sink:
        sources_file = replay.write_sources(demo_dir / "sources.yaml")
        say(f"replica sites on 127.0.0.x:{replay.port}, SMTP sink on 127.0.0.1:{sink.port}")
        env = demo_env(sources_file, sink.port)
        if migrate(env):
            say(f"Airflow metadata database ready under {env['AIRFLOW_HOME']}")
        say(f"running {DAG_ID} with dag.test() (log: {demo_dir / 'airflow-dag-test.log'})")
        result = run_dag_test(DAG_ID, env, log_path=demo_dir / "airflow-dag-test.log")
        if not result.ok:
            raise AirflowError(
                f"{DAG_ID} did not succeed (state {result.state}, exit {result.returncode}); "
                f"read {result.log_path}"
            )
        with demo_configured(sources_file):
            say("end of the demo day: sending the digests now instead of at their hour")
            end_of_day(sink.port)
            queued = queued_alerts()
        emails = list(sink.received)
    sent = sent_emails(started)
    with session_scope() as session:
        summary = totals(session)
        listed = stories(session, limit=200)
    summary["new_documents"] = summary["documents"] - before_docs
    summary["emails_sent"] = len(emails)
    summary["outbox"] = str(outbox)
    summary["emails"] = [e.as_dict() for e in sent]
    summary["queued"] = [q.as_dict() for q in queued]
    # The stories worth showing, each with its languages (versions) and outlets, origin first.
    summary["top_stories"] = [
        {
            "story": st.cluster_id,
            "title": st.title,
            "languages": st.languages,
            "outlets": st.outlets,
            "topics": st.topics,
        }
        for st in with_outlets(listed)
    ]
    return DemoResult(summary, per_source(before_run), listed, emails, result, sent, queued)


def summary_lines(result: DemoResult) -> list[str]:
    """What the demo sent (each email: subscriber, instant or digest, story), what waits, where."""
    s = result.summary
    lines: list[str] = []
    if result.sent:
        lines.append(f"emails sent this run: {len(result.sent)} (saved in {s['outbox']})")
        for email in result.sent:
            head = f"  {email.kind:<7} to {email.subscriber}:"
            if len(email.stories) == 1:
                story_id, title, caught = email.stories[0]
                note = " (caught up)" if caught else ""
                lines.append(f"{head} story {story_id} {title}{note}")
                continue
            lines.append(f"{head} {len(email.stories)} stories")
            for story_id, title, caught in email.stories:
                lines.append(f"            story {story_id} {title}" + (" (caught up)" * caught))
    else:
        lines.append(f"no new email: no story was new to any subscriber ({s['outbox']})")
    if result.queued:
        lines.append("queued:")
        for q in result.queued:
            when = f"until {q.due:%Y-%m-%d %H:%M %Z}" if q.due else "until the next run"
            lines.append(f"  {q.alerts} {q.kind} alerts for {q.subscriber} ({q.status}) {when}")
    else:
        lines.append("queued: nothing; every planned alert went out")
    lines.append(
        f"look: newsmon alerts list; NEWSMON_SUBSCRIBERS_FILE={DEMO_SUBSCRIBERS} "
        "newsmon alerts preview (renders what is queued into var/alerts/preview)"
    )
    return lines


def with_outlets(found: list[Story], *, limit: int = 12) -> list[Story]:
    """Stories worth showing first: matched a topic or carried by several outlets."""
    chosen = [s for s in found if s.topics or s.size > 1]
    chosen.sort(key=lambda s: (-len(s.topics) - s.size, -s.first_seen_at.timestamp()))
    return chosen[:limit]
