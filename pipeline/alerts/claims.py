"""Ledger state of a delivery: claim, keep the claim while sending, and record how each try ended.

A row is ``pending`` (planned, never tried), ``held`` (a try failed for a reason that may pass:
the server away, a 4xx, a misconfiguration) or ends ``sent`` or ``failed`` (refused for good, or
not delivered within ``NEWSMON_ALERT_MAX_AGE_DAYS``). A sender owns a row while its claim token is
set and ``claimed_until`` is in the future; it renews that lease before each message, so a second
sender never takes over a batch still being sent. On a held row without a claim ``claimed_until``
is the earliest retry (backoff).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from pipeline.alerts.merges import OPEN, fold_merged, refresh_clusters
from pipeline.store.db import session_scope
from pipeline.store.models import Alert

# Renewed before every message, so it only has to outlast one message (a few SMTP replies at
# most 30 s each by default); a crashed sender's rows come back after it.
LEASE = timedelta(minutes=30)
# Retry a message the server refused with a 4xx after 5 min, then 10, 20, 40, then every hour,
# until it goes or grows too old.
BACKOFF_FIRST = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=1)
ERROR_CHARS = 500


@dataclass
class Clock:
    """A pass's ``now`` that advances with real time (so leases renewed mid-batch move on)."""

    start: datetime
    t0: float = field(default_factory=time.monotonic)

    def now(self) -> datetime:
        """``start`` plus the real time elapsed since the pass began."""
        return self.start + timedelta(seconds=time.monotonic() - self.t0)


def backoff(attempts: int) -> timedelta:
    """The wait before the next try of an alert that failed ``attempts`` times."""
    wait: timedelta = BACKOFF_FIRST * (2 ** min(max(attempts - 1, 0), 16))
    return min(wait, BACKOFF_MAX)


def unclaimed(now: datetime) -> ColumnElement[bool]:
    """SQL: nobody holds the row at ``now`` (and a held row's backoff is over)."""
    return or_(Alert.claimed_until.is_(None), Alert.claimed_until < now)


def claim(session: Session, ids: list[int], now: datetime, lease: timedelta = LEASE) -> list[Alert]:
    """Take a lease on the rows still unclaimed; the caller commits before sending."""
    if not ids:
        return []
    # A merge since planning may have made a row repeat a story already sent: not claimed.
    fold_merged(session, now)
    token = uuid.uuid4().hex
    session.execute(
        update(Alert)
        .where(Alert.id.in_(ids), Alert.status.in_(OPEN), unclaimed(now))
        .values(claim_token=token, claimed_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    refresh_clusters(session, ids)
    session.expire_all()
    # Least tried first: during an outage the one message tried per run rotates over the batch.
    return list(
        session.scalars(
            select(Alert).where(Alert.claim_token == token).order_by(Alert.attempts, Alert.id)
        ).all()
    )


def renew(url: str | None, token: str, ids: list[int], until: datetime) -> bool:
    """Extend the lease on everything this sender still holds; False if ``ids`` are not all ours."""
    with session_scope(url) as session:
        session.execute(
            update(Alert)
            .where(Alert.claim_token == token, Alert.status.in_(OPEN))
            .values(claimed_until=until)
            .execution_options(synchronize_session=False)
        )
        mine = session.scalar(
            select(func.count(Alert.id)).where(
                Alert.id.in_(ids), Alert.claim_token == token, Alert.status.in_(OPEN)
            )
        )
    return mine == len(ids)


def mark_sent(url: str | None, ids: list[int], now: datetime) -> None:
    """Record delivery at once, in its own transaction (this bounds the duplicate window)."""
    with session_scope(url) as session:
        session.execute(
            update(Alert)
            .where(Alert.id.in_(ids))
            .values(status="sent", sent_at=now, claim_token=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )


def hold(
    url: str | None,
    ids: list[int],
    error: str,
    now: datetime,
    *,
    tried: bool,
    wait: bool = True,
) -> None:
    """Keep rows ``held`` for a retry; a try is counted only when one was made.

    ``wait``: back off before the next try (a 4xx for this message). A server that could not be
    used at all is the server's state, not the message's: the next run tries again at once, and
    as it stops at the first connection failure, that costs one connection attempt per run.
    """
    if not ids:
        return
    with session_scope(url) as session:
        for row in session.scalars(select(Alert).where(Alert.id.in_(ids))):
            if row.status not in OPEN:
                continue  # muted while being sent: leave it muted
            row.status = "held"
            row.last_error = error[:ERROR_CHARS]
            row.claim_token = None
            row.claimed_until = None
            if tried:
                row.attempts += 1
            if tried and wait:
                row.claimed_until = now + backoff(row.attempts)


def fail(url: str | None, ids: list[int], error: str) -> None:
    """A final refusal: the rows are ``failed`` with the server's reason (and one try counted)."""
    with session_scope(url) as session:
        session.execute(
            update(Alert)
            .where(Alert.id.in_(ids))
            .values(
                status="failed",
                attempts=Alert.attempts + 1,
                last_error=error[:ERROR_CHARS],
                claim_token=None,
                claimed_until=None,
            )
            .execution_options(synchronize_session=False)
        )


def expire(url: str | None, channel: str, now: datetime, max_age: timedelta) -> list[str]:
    """Give up rows planned more than ``max_age`` ago (``failed``); a line each for the operator."""
    lines: list[str] = []
    days = max_age.days or max_age.total_seconds() / 86400
    with session_scope(url) as session:
        rows = session.scalars(
            select(Alert)
            .where(
                Alert.channel == channel,
                Alert.status.in_(OPEN),
                Alert.planned_at < now - max_age,
                or_(Alert.claim_token.is_(None), Alert.claimed_until < now),
            )
            .order_by(Alert.id)
        ).all()
        for row in rows:
            why = row.last_error or "never tried (the subscriber's channel may be gone)"
            lines.append(
                f"alert {row.id} ({channel} to {row.subscriber}, story {row.cluster_id}, topic "
                f"{row.topic_id}, planned {row.planned_at:%Y-%m-%d %H:%M} UTC, {row.attempts} "
                f"tries): {why}"
            )
            row.status = "failed"
            row.last_error = f"undeliverable: not delivered within {days:g} days; last: {why}"[
                :ERROR_CHARS
            ]
            row.claim_token = None
            row.claimed_until = None
    return lines


def release(url: str | None, ids: list[int]) -> None:
    """Give back claimed rows that were not tried (no attempt counted, status unchanged)."""
    if not ids:
        return
    with session_scope(url) as session:
        session.execute(
            update(Alert)
            .where(Alert.id.in_(ids), Alert.status.in_(OPEN))
            .values(claim_token=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
