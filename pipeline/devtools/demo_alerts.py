"""The demo's alerts: its end of day (the digests sent now) and what it sent and left queued.

Read from the alert ledger, so the summary says what really went out, to whom and about which
stories, and what still waits and until when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from pipeline.config.settings import get_settings
from pipeline.store.db import session_scope
from pipeline.store.models import Alert, Document


@dataclass(frozen=True)
class SentEmail:
    """One email the ledger says went out: to whom, how, about which stories."""

    subscriber: str
    kind: str  # instant | digest
    stories: tuple[tuple[int, str, bool], ...]  # (story id, origin title, caught up)
    sent_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly copy."""
        return {
            "subscriber": self.subscriber,
            "kind": self.kind,
            "stories": [{"story": i, "title": t, "caught_up": c} for i, t, c in self.stories],
        }


@dataclass(frozen=True)
class QueuedAlerts:
    """Alerts of one subscriber still waiting: digests for their hour, held ones for a retry."""

    subscriber: str
    kind: str  # instant | digest
    status: str  # pending | held
    alerts: int
    due: datetime | None  # the digest hour or the retry time (None: the next run)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly copy."""
        due = self.due.isoformat() if self.due else None
        return {**self.__dict__, "due": due}


def sink_mailer(port: int) -> Any:
    """A mailer for the demo's SMTP sink on loopback (plain SMTP, no login)."""
    from pipeline.alerts.smtp import SmtpConfig, SmtpMailer

    return SmtpMailer(SmtpConfig("127.0.0.1", port, security="none", origin="the demo's sink"))


def end_of_day(smtp_port: int, *, now: datetime | None = None) -> Any:
    """Send the queued digests now, as their hour would (the demo has no tomorrow morning).

    Call it inside :func:`demo_configured`. Returns ``pipeline.alerts.AlertReport``.
    """
    from pipeline.alerts import run_alerts

    return run_alerts(
        mode="scheduled", now=now, mailer_factory=lambda: sink_mailer(smtp_port), digests_now=True
    )


def sent_emails(since: datetime) -> list[SentEmail]:
    """The emails the ledger marked sent at or after ``since``, in sending order."""
    with session_scope() as session:
        rows = session.execute(
            select(Alert, Document.title)
            .join(Document, Document.id == Alert.document_id)
            .where(Alert.channel == "email", Alert.status == "sent", Alert.sent_at >= since)
            .order_by(Alert.sent_at, Alert.id)
        ).all()
        messages: dict[str, list[tuple[Alert, str]]] = {}
        for row, title in rows:
            messages.setdefault(row.message_id or f"row-{row.id}", []).append((row, title or ""))
        out = []
        for members in messages.values():
            first = members[0][0]
            seen: dict[int, tuple[int, str, bool]] = {}
            for row, title in members:
                seen.setdefault(row.cluster_id, (row.cluster_id, title, row.caught_up))
            out.append(
                SentEmail(
                    first.subscriber, first.delivery, tuple(seen.values()), first.sent_at or since
                )
            )
    return out


def queued_alerts() -> list[QueuedAlerts]:
    """Email alerts still pending or held, per subscriber, with when they are due."""
    from pipeline.alerts.subscribers import load_subscribers

    subs = load_subscribers()
    groups: dict[tuple[str, str, str], list[Alert]] = {}
    with session_scope() as session:
        rows = session.scalars(
            select(Alert).where(Alert.channel == "email", Alert.status.in_(("pending", "held")))
        ).all()
        for row in rows:
            groups.setdefault((row.subscriber, row.delivery, row.status), []).append(row)
    out = []
    for (sub_id, kind, status), members in sorted(groups.items()):
        sub = subs.get(sub_id)
        due: datetime | None = None
        if status == "held":
            due = max((r.claimed_until for r in members if r.claimed_until), default=None)
        elif kind == "digest" and sub is not None:
            due = next_digest(sub.digest_hour, max(r.planned_at for r in members))
        out.append(QueuedAlerts(sub_id, kind, status, len(members), due))
    return out


def next_digest(hour: int, after: datetime) -> datetime:
    """The first digest hour (in NEWSMON_TIMEZONE) after ``after``."""
    tz = get_settings().tz
    local = after.astimezone(tz)
    at = datetime.combine(local.date(), time(hour), tz)
    return at if at > local else datetime.combine(local.date() + timedelta(days=1), time(hour), tz)
