"""Alerts: email (instant and digest), Atom feeds, webhooks and operator notices.

The facade :func:`run_alerts` is what the DAG's ``alert`` task and ``newsmon alerts send`` call:
plan ledger rows for new matching stories, regenerate the feeds, POST the webhooks, send the due
emails, then check the sources for the operator. Each step is also callable on its own. See README
"Alerts" for the delivery guarantee (at-least-once, stable Message-ID).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.alerts.feeds import write_feeds
from pipeline.alerts.ledger import (
    CAUGHT_UP_AFTER,
    RUN_MODES,
    PlanReport,
    mute_cluster,
    normalise_mode,
    plan_alerts,
)
from pipeline.alerts.operator import (
    OperatorReport,
    post_notices,
    record_delivery,
    send_operator,
)
from pipeline.alerts.send import LEASE, SendReport, send_emails
from pipeline.alerts.smtp import Mailer
from pipeline.alerts.subscribers import SubscriberSet, load_subscribers
from pipeline.alerts.webhook import Poster, send_webhooks
from pipeline.errors import NewsmonError, Outcome
from pipeline.store.db import session_scope
from pipeline.store.models import Alert, Topic, utcnow
from pipeline.store.runs import RunTally, finish_run, start_run

log = logging.getLogger(__name__)

__all__ = [
    "RUN_MODES",
    "AlertReport",
    "load_subscribers",
    "mute_cluster",
    "plan_alerts",
    "run_alerts",
    "send_emails",
    "send_operator",
    "send_webhooks",
    "write_feeds",
]


@dataclass
class AlertReport:
    """What one alert run did (ids and counts only: it travels through XCom)."""

    mode: str
    run_id: int | None = None
    planned: dict[str, int] = field(default_factory=dict)
    emails_sent: int = 0  # messages accepted by the server
    alerts_sent: int = 0  # ledger rows those messages carried
    email_failures: int = 0
    webhooks_sent: int = 0
    webhook_failures: int = 0
    pending: int = 0  # rows never tried yet (digests not yet due)
    alerts_held: int = 0  # rows held for a retry after a failure that may pass (whole ledger)
    alerts_failed: int = 0  # rows refused for good this run (5xx to the recipient or message)
    alerts_expired: int = 0  # rows given up this run: older than NEWSMON_ALERT_MAX_AGE_DAYS
    held_delivered: int = 0  # of alerts_sent: rows an earlier failure had held
    mail_misconfigured: bool = False  # AUTH rejected, STARTTLS unavailable, our sender refused
    outage_started: bool = False  # the mail server became unusable this run (operator told)
    outage_ended: bool = False  # ... and answered again this run (operator told)
    held_reasons: list[str] = field(default_factory=list)  # the held rows' errors, most common
    feeds: int = 0
    operator_emails: int = 0
    operator_active: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly copy."""
        return dict(self.__dict__)

    @property
    def delivery(self) -> str:
        """``ok`` (all due delivered), ``held`` (some wait for a retry) or ``failed``.

        ``failed``: an alert was refused for good or given up, or the mail server is misconfigured
        (its alerts stay held, but no retry helps until someone fixes the configuration).
        """
        if self.alerts_failed or self.alerts_expired or self.mail_misconfigured:
            return "failed"
        return "held" if self.alerts_held else "ok"

    def problem(self) -> str:
        """One line saying what was not delivered and why (empty when all was)."""
        parts = []
        if self.alerts_failed:
            parts.append(f"{self.alerts_failed} alerts refused for good")
        if self.alerts_expired:
            parts.append(f"{self.alerts_expired} alerts given up (NEWSMON_ALERT_MAX_AGE_DAYS)")
        if self.mail_misconfigured:
            parts.append("the mail server is misconfigured")
        if self.alerts_held:
            parts.append(f"{self.alerts_held} alerts held for retry (the next run retries them)")
        if not parts:
            return ""
        why = "; ".join(self.held_reasons) or "; ".join(self.errors[:3])
        return ", ".join(parts) + (f": {why}" if why else "")


def _count(tally: RunTally, outcome: Outcome, n: int) -> None:
    """Count alerts of this run in ``run_counts`` (no zero rows)."""
    if n:
        tally.add(None, outcome, n)


def _record(report: AlertReport, tally: RunTally, mails: SendReport, hooks: SendReport) -> None:
    """Carry a delivery pass's counts into the run report and the run's counters."""
    report.alerts_failed = mails.alerts_failed + hooks.alerts_failed
    report.alerts_expired = len(mails.expired) + len(hooks.expired)
    report.held_delivered = mails.held_delivered + hooks.held_delivered
    report.mail_misconfigured = mails.misconfigured
    _count(tally, Outcome.SENT, mails.alerts_sent + hooks.alerts_sent)
    _count(tally, Outcome.SEND_FAILED, report.alerts_failed + report.alerts_expired)
    _count(tally, Outcome.HELD, mails.alerts_held + hooks.alerts_held)


def _held(session: Session) -> tuple[int, list[str]]:
    """How many rows are held in the ledger, and their most common errors."""
    rows = session.execute(
        select(Alert.last_error, func.count(Alert.id))
        .where(Alert.status == "held")
        .group_by(Alert.last_error)
        .order_by(func.count(Alert.id).desc())
    ).all()
    reasons = [f"{n} × {error or 'unknown'}" for error, n in rows[:3]]
    return sum(n for _, n in rows), reasons


def run_alerts(
    *,
    mode: str = "scheduled",
    now: datetime | None = None,
    url: str | None = None,
    subscribers: SubscriberSet | None = None,
    mailer_factory: Callable[[], Mailer] | None = None,
    poster: Poster | None = None,
    feeds_dir: Path | None = None,
    caught_up_after: timedelta | None = CAUGHT_UP_AFTER,
    lease: timedelta = LEASE,
    digests_now: bool = False,
) -> AlertReport:
    """Plan, publish feeds, POST webhooks, send due emails, check sources; returns counts.

    ``mode``: ``scheduled`` (each subscription's mode), ``backfill``/``reprocess``/``digest``
    (wait for the next digest, "caught up"), ``instant`` (only when asked), ``none`` (suppressed).
    In scheduled runs a story published more than ``caught_up_after`` before ``now`` also waits for
    the digest (None: never; the offline demo, whose fixture pages carry old dates, wants that).
    ``lease``: how long a sender's claim lasts without renewal (renewed before every message).
    ``digests_now``: send the digests now instead of at their hour (the demo's end of day).
    """
    normalise_mode(mode)
    now = now or utcnow()
    subs = subscribers if subscribers is not None else load_subscribers()
    report = AlertReport(mode=mode)
    with session_scope(url) as session:
        known = set(session.scalars(select(Topic.id)).all())
    if known:  # (empty before the first process run: nothing to compare with yet)
        # A subscribed topic that is not in the table can never match: a typo that would alert
        # nothing, so it stops the run like any other subscribers-file mistake (file:line).
        subs.check_topics(known)
    with session_scope(url) as session:
        run = start_run(session, "alerts", {"mode": mode})
        report.run_id = run.id
    tally = RunTally(run_id=report.run_id)
    try:
        with session_scope(url) as session:
            plan: PlanReport = plan_alerts(
                session, subs, run_mode=mode, now=now, caught_up_after=caught_up_after
            )
        report.planned = plan.as_dict()
        _count(tally, Outcome.SUPPRESSED, plan.suppressed + plan.muted)
        with session_scope(url) as session:
            report.feeds = len(write_feeds(session, out_dir=feeds_dir))
        hooks: SendReport = send_webhooks(subs, now=now, url=url, poster=poster, lease=lease)
        report.webhooks_sent, report.webhook_failures = hooks.messages_sent, hooks.messages_failed
        mails: SendReport = send_emails(
            subs,
            now=now,
            url=url,
            mailer_factory=mailer_factory,
            lease=lease,
            digests_now=digests_now,
        )
        report.emails_sent, report.alerts_sent = mails.messages_sent, mails.alerts_sent
        report.email_failures = mails.messages_failed
        report.subjects = mails.subjects
        report.errors += hooks.errors + mails.errors
        _record(report, tally, mails, hooks)
        with session_scope(url) as session:
            notices = record_delivery(
                session,
                now,
                unusable=mails.unusable,
                delivered=mails.messages_sent,
                held_delivered=mails.held_delivered,
                held=_held(session)[0],
                expired=mails.expired + hooks.expired,
            )
        post_notices(notices, now)
        report.outage_started = any(n.startswith("mail outage started") for n in notices)
        report.outage_ended = any(n.startswith("mail outage ended") for n in notices)
        report.warnings += notices
        op: OperatorReport = send_operator(now=now, url=url, mailer_factory=mailer_factory)
        report.operator_emails, report.operator_active = op.emails_sent, op.active
        report.errors += op.errors
    except NewsmonError as exc:
        with session_scope(url) as session:
            tally.flush(session)
            finish_run(session, report.run_id, status="failed", error=str(exc))
        raise
    with session_scope(url) as session:
        report.pending = (
            session.scalar(select(func.count(Alert.id)).where(Alert.status == "pending")) or 0
        )
        report.alerts_held, report.held_reasons = _held(session)
        tally.flush(session)
        finish_run(session, report.run_id, status="ok" if not report.errors else "partial")
    log.info(
        "alerts run %s: %s",
        report.run_id,
        {k: v for k, v in report.as_dict().items() if k != "subjects"},
    )
    return report
