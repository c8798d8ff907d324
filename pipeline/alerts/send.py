"""Claim due ledger rows, deliver them, mark them sent: at-least-once with a stable Message-ID.

1. Claim (one transaction, committed): due ``pending`` rows get a claim token and a lease, and a
   Message-ID if they have none. A concurrent sender sees them claimed and skips them; a crashed
   sender's lease expires and the rows become due again with the same Message-ID.
2. Deliver one message at a time; after each accepted message its rows are marked ``sent`` in their
   own transaction at once. The only duplicate window is a crash between the server accepting a
   message and that commit — at most the one message in flight — and the resend carries the same
   Message-ID, so mail clients fold it.
3. A failure leaves the rows ``pending`` with ``last_error`` and ``attempts + 1`` (``failed`` after
   :data:`MAX_ATTEMPTS`); when the server is unreachable the rest of the batch is released
   untouched.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from email.message import EmailMessage

from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pipeline.alerts.ledger import message_token, refresh_clusters
from pipeline.alerts.render import (
    Rendered,
    StoryItem,
    build_message,
    group_items,
    render_digest,
    render_instant,
)
from pipeline.alerts.smtp import (
    Mailer,
    MessageRejected,
    SmtpMailer,
    SmtpUnavailable,
    resolve_config,
)
from pipeline.alerts.stories import StoryView, load_story, topic_names
from pipeline.alerts.subscribers import Subscriber, SubscriberSet
from pipeline.config.settings import get_settings
from pipeline.store.db import session_scope
from pipeline.store.models import Alert, utcnow

log = logging.getLogger(__name__)

# Longer than any batch takes to send; a crashed sender's rows come back after it.
LEASE = timedelta(minutes=30)
# Then a row is "failed" (`newsmon alerts list --status failed`) instead of retried forever.
MAX_ATTEMPTS = 10
ERROR_CHARS = 500


@dataclass
class SendReport:
    """What one delivery pass did."""

    messages_sent: int = 0
    alerts_sent: int = 0
    messages_failed: int = 0
    alerts_failed: int = 0  # rows that reached MAX_ATTEMPTS this pass
    released: int = 0  # claimed but not tried (server unreachable): still pending, untouched
    skipped: int = 0  # rows of subscribers no longer in the file or without the channel
    subjects: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Plain counters for logs and XCom."""
        return dict(self.__dict__)


@dataclass
class Group:
    """Ledger rows that leave as one message (one story, or one digest)."""

    subscriber: Subscriber
    kind: str  # instant | digest | webhook
    rows: list[Alert]
    message_id: str


def digest_boundary(sub: Subscriber, now: datetime) -> datetime:
    """The latest digest time (the subscription's hour in NEWSMON_TIMEZONE) at or before ``now``."""
    tz = get_settings().tz
    local = now.astimezone(tz)
    at = datetime.combine(local.date(), time(sub.digest_hour), tz)
    if at > local:
        at = datetime.combine(local.date() - timedelta(days=1), time(sub.digest_hour), tz)
    return at


def is_due(row: Alert, sub: Subscriber, now: datetime) -> bool:
    """Instant rows and webhooks now; digest rows once a digest hour has passed since planning."""
    if row.channel == "webhook" or row.delivery == "instant":
        return True
    return row.planned_at < digest_boundary(sub, now)


def due_rows(
    session: Session, subs: SubscriberSet, channel: str, now: datetime, *, due_only: bool = True
) -> tuple[list[Alert], int]:
    """Unclaimed pending rows of a channel that are due; and how many belong to nobody now."""
    rows = session.scalars(
        select(Alert)
        .where(
            Alert.status == "pending",
            Alert.channel == channel,
            or_(Alert.claimed_until.is_(None), Alert.claimed_until < now),
        )
        .order_by(Alert.id)
    ).all()
    out: list[Alert] = []
    skipped = 0
    for row in rows:
        sub = subs.get(row.subscriber)
        if sub is None or channel not in sub.channels:
            skipped += 1
            continue
        if not due_only or is_due(row, sub, now):
            out.append(row)
    return out, skipped


def claim(session: Session, ids: list[int], now: datetime) -> list[Alert]:
    """Take a lease on the rows still unclaimed; the caller commits before sending."""
    if not ids:
        return []
    token = uuid.uuid4().hex
    session.execute(
        update(Alert)
        .where(
            Alert.id.in_(ids),
            Alert.status == "pending",
            or_(Alert.claimed_until.is_(None), Alert.claimed_until < now),
        )
        .values(claim_token=token, claimed_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    refresh_clusters(session, ids)
    session.expire_all()
    return list(
        session.scalars(select(Alert).where(Alert.claim_token == token).order_by(Alert.id)).all()
    )


def group_rows(rows: Iterable[Alert], subs: SubscriberSet, now: datetime) -> list[Group]:
    """Rows → messages. Rows that already carry a Message-ID go out again exactly as before."""
    keyed: dict[tuple[object, ...], list[Alert]] = {}
    for row in rows:
        kind = "webhook" if row.channel == "webhook" else row.delivery
        if row.message_id:
            key: tuple[object, ...] = (row.subscriber, kind, "id", row.message_id)
        elif kind == "digest":
            key = (row.subscriber, kind)
        else:  # one message per story, whatever number of topics it matched
            key = (row.subscriber, kind, row.cluster_id)
        keyed.setdefault(key, []).append(row)
    groups: list[Group] = []
    for key, members in keyed.items():
        sub = subs.get(str(key[0]))
        if sub is None:
            continue
        kind = str(key[1])
        message_id = members[0].message_id or new_message_id(kind, members, now)
        for row in members:
            row.message_id = message_id
        groups.append(Group(sub, kind, members, message_id))
    return groups


def new_message_id(kind: str, rows: list[Alert], now: datetime) -> str:
    """``<alert-17.3f9c…@newsmon>``: stable once stored, unique across databases in practice."""
    first = min(r.id for r in rows)
    token = message_token(kind, rows[0].subscriber, *sorted(r.id for r in rows), now.isoformat())
    prefix = "digest-" + now.strftime("%Y%m%d") if kind == "digest" else kind
    return f"<{prefix}-{first}.{token}@newsmon>"


def story_views(session: Session, group: Group) -> tuple[list[StoryItem], list[StoryItem]]:
    """The group's stories as message items: (new, caught up), newest first."""
    names = topic_names(session)
    views: list[StoryView] = []
    caught: dict[int, bool] = {}
    for row in group.rows:
        view = load_story(
            session, row.cluster_id, row.topic_id, names=names, caught_up=row.caught_up
        )
        if view is not None:
            views.append(view)
            caught[row.cluster_id] = caught.get(row.cluster_id, True) and row.caught_up
    views.sort(key=lambda v: (v.date, v.cluster_id), reverse=True)
    items = group_items(views)
    return (
        [i for i in items if not caught[i.story.cluster_id]],
        [i for i in items if caught[i.story.cluster_id]],
    )


def render_group(session: Session, group: Group, now: datetime) -> Rendered | None:
    """Render an email group; None when its stories vanished (clusters deleted)."""
    fresh, caught = story_views(session, group)
    if not fresh and not caught:
        return None
    if group.kind == "digest":
        return render_digest(group.subscriber, fresh, caught, day=now)
    return render_instant(group.subscriber, (fresh or caught)[0])


def compose(session: Session, group: Group, now: datetime, mail_from: str) -> EmailMessage | None:
    """The MIME message of an email group."""
    rendered = render_group(session, group, now)
    if rendered is None:
        return None
    sub = group.subscriber
    headers = {"X-Newsmon-Subscription": sub.id}
    if group.kind == "instant":
        headers["X-Newsmon-Story"] = str(group.rows[0].cluster_id)
    return build_message(
        rendered,
        to_addr=sub.email or "",
        to_name=sub.name,
        mail_from=mail_from,
        message_id=group.message_id,
        date=now,
        extra_headers=headers,
    )


def mark_sent(url: str | None, ids: list[int], now: datetime) -> None:
    """Record delivery at once, in its own transaction (this bounds the duplicate window)."""
    with session_scope(url) as session:
        session.execute(
            update(Alert)
            .where(Alert.id.in_(ids))
            .values(status="sent", sent_at=now, claim_token=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )


def mark_failed(url: str | None, ids: list[int], error: str) -> int:
    """attempts+1, the error kept, claim released; returns how many rows gave up (``failed``)."""
    gave_up = 0
    with session_scope(url) as session:
        for row in session.scalars(select(Alert).where(Alert.id.in_(ids))):
            row.attempts += 1
            row.last_error = error[:ERROR_CHARS]
            row.claim_token = None
            row.claimed_until = None
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                gave_up += 1
    return gave_up


def release(url: str | None, ids: list[int]) -> None:
    """Give back claimed rows that were not tried (no attempt counted)."""
    if not ids:
        return
    with session_scope(url) as session:
        session.execute(
            update(Alert)
            .where(Alert.id.in_(ids), Alert.status == "pending")
            .values(claim_token=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )


def claim_groups(url: str | None, subs: SubscriberSet, channel: str, now: datetime) -> list[Group]:
    """Claim every due row of a channel and group it into messages (committed on return)."""
    with session_scope(url) as session:
        rows, _ = due_rows(session, subs, channel, now)
        claimed = claim(session, [r.id for r in rows], now)
        groups = group_rows(claimed, subs, now)
        session.flush()
        session.expunge_all()
    return groups


def send_emails(
    subs: SubscriberSet,
    *,
    now: datetime | None = None,
    url: str | None = None,
    mailer_factory: Callable[[], Mailer] | None = None,
) -> SendReport:
    """Deliver every due email alert (instant now, digests after their hour)."""
    now = now or utcnow()
    report = SendReport()
    with session_scope(url) as session:
        due, report.skipped = due_rows(session, subs, "email", now)
    if not due:
        return report
    # Resolve the server before claiming: a missing configuration must not strand leases.
    mailer = mailer_factory() if mailer_factory else SmtpMailer(resolve_config())
    groups = claim_groups(url, subs, "email", now)
    pending = list(groups)
    try:
        while pending:
            group = pending.pop(0)
            ids = [r.id for r in group.rows]
            with session_scope(url) as session:
                msg = compose(session, group, now, mailer.mail_from)
            if msg is None:
                mark_sent(url, ids, now)  # the story was deleted: nothing left to tell
                continue
            try:
                mailer.send(msg)
            except MessageRejected as exc:
                report.messages_failed += 1
                report.alerts_failed += mark_failed(url, ids, str(exc))
                report.errors.append(str(exc))
                continue
            except SmtpUnavailable as exc:
                report.messages_failed += 1
                report.alerts_failed += mark_failed(url, ids, str(exc))
                report.errors.append(str(exc))
                rest = [r.id for g in pending for r in g.rows]
                release(url, rest)
                report.released += len(rest)
                pending = []
                log.warning(
                    "SMTP unavailable; %d alerts stay pending: %s", len(rest) + len(ids), exc
                )
                break
            mark_sent(url, ids, now)
            report.messages_sent += 1
            report.alerts_sent += len(ids)
            report.subjects.append(str(msg["Subject"]))
    finally:
        mailer.close()
        # An unexpected error (a template bug, the database gone) gives back what was not tried;
        # if even that fails, the leases expire by themselves.
        leftover = [r.id for g in pending for r in g.rows]
        if leftover:
            try:
                release(url, leftover)
            except SQLAlchemyError as exc:
                log.error("could not release %d claimed alerts: %s", len(leftover), exc)
    return report
