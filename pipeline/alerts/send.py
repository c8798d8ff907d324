"""Claim due ledger rows, deliver them, record each outcome: at-least-once with a stable Message-ID.

1. Rows older than ``NEWSMON_ALERT_MAX_AGE_DAYS`` are given up (``failed``, reported to the
   operator by :mod:`pipeline.alerts.operator`); nothing younger is ever given up for a failure
   that may pass.
2. Claim (one transaction, committed): due ``pending`` and ``held`` rows (least tried first) get a
   claim token and a lease, and a Message-ID if they have none. A concurrent sender skips them; a
   crashed sender's lease expires and the rows become due again with the same Message-ID.
3. Deliver one message at a time. Before each, the sender renews its lease on the rest of its
   batch and checks it still holds the message's rows (it skips them otherwise), so a slow server
   never lets a second sender take over. After each accepted message its rows are marked ``sent``
   in their own transaction at once: the only duplicate window is a crash between the server's
   250 and that commit, one message, resent with the same Message-ID.
4. A 5xx to the recipient or the message: its rows are ``failed`` with the reply. A 4xx: ``held``
   with one try counted and a backoff. The server unreachable or misconfigured (AUTH, STARTTLS):
   the tried message is ``held`` with one try, the rest of the batch ``held`` without one, and the
   pass stops; the next run tries again, starting with the least-tried alert, so no alert is
   starved, and delivers everything held as soon as the server answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pipeline.alerts.claims import (
    LEASE,
    Clock,
    claim,
    expire,
    fail,
    hold,
    mark_sent,
    release,
    renew,
    unclaimed,
)
from pipeline.alerts.ledger import OPEN, caught_up_reasons, message_token
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
    SmtpMisconfigured,
    SmtpUnavailable,
    resolve_config,
)
from pipeline.alerts.stories import StoryView, story_view, subscribed_topics, topic_names
from pipeline.alerts.subscribers import Subscriber, SubscriberSet
from pipeline.config.settings import get_settings
from pipeline.store.db import session_scope
from pipeline.store.models import Alert, utcnow
from pipeline.store.stories import load_story as read_story

log = logging.getLogger(__name__)

__all__ = ["LEASE", "SendReport", "send_emails"]


@dataclass
class SendReport:
    """What one delivery pass did."""

    messages_sent: int = 0
    alerts_sent: int = 0
    held_delivered: int = 0  # of alerts_sent: rows that had been held by an earlier failure
    messages_failed: int = 0  # tries that failed, whatever the reason
    alerts_failed: int = 0  # rows refused for good this pass (5xx): ``failed``
    alerts_held: int = 0  # rows held this pass: tried and failed transiently, or not tried
    released: int = 0  # claimed but not tried because the receiver was away (held, no try)
    lost: int = 0  # rows whose claim another sender took over (not sent by this pass)
    skipped: int = 0  # rows of subscribers no longer in the file or without the channel
    unusable: str | None = None  # why the server could not be used; the pass stopped there
    misconfigured: bool = False  # ... because of our configuration (AUTH, STARTTLS, sender)
    expired: list[str] = field(default_factory=list)  # given up after the maximum age
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
    """Unclaimed open rows of a channel that are due; and how many belong to nobody now."""
    rows = session.scalars(
        select(Alert)
        .where(Alert.status.in_(OPEN), Alert.channel == channel, unclaimed(now))
        .order_by(Alert.attempts, Alert.id)
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
    """The group's stories, each once with all its subscribed topics: (new, caught up)."""
    names = topic_names(session)
    sub = group.subscriber
    views: list[StoryView] = []
    caught: dict[int, bool] = {}
    shown: set[tuple[int, str]] = set()
    for row in group.rows:
        story = read_story(session, row.cluster_id)
        if story is None:
            continue
        cid = story.cluster_id
        caught[cid] = caught.get(cid, True) and row.caught_up
        # Every subscribed topic the story matches now (a topic matched after planning too).
        for topic_id in subscribed_topics(story, sub.topics, sub.sources) or [row.topic_id]:
            if (cid, topic_id) in shown:
                continue  # two rows of stories merged since: the story is shown once
            shown.add((cid, topic_id))
            views.append(
                story_view(
                    story, topic_id, names=names, caught_up=row.caught_up, languages=sub.languages
                )
            )
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
        reasons = caught_up_reasons(session, group.rows) if caught else []
        return render_digest(group.subscriber, fresh, caught, day=now, reasons=reasons)
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


def claim_groups(
    url: str | None,
    subs: SubscriberSet,
    channel: str,
    now: datetime,
    lease: timedelta = LEASE,
    *,
    due_only: bool = True,
) -> list[Group]:
    """Claim every due row of a channel and group it into messages (committed on return)."""
    with session_scope(url) as session:
        rows, _ = due_rows(session, subs, channel, now, due_only=due_only)
        claimed = claim(session, [r.id for r in rows], now, lease)
        groups = group_rows(claimed, subs, now)
        session.flush()
        session.expunge_all()
    return groups


def max_age() -> timedelta:
    """How long an alert stays wanted (NEWSMON_ALERT_MAX_AGE_DAYS)."""
    return timedelta(days=get_settings().alert_max_age_days)


def still_ours(url: str | None, group: Group, until: datetime, report: SendReport) -> bool:
    """Renew the lease on what this pass still holds; False (counted) if the group was taken."""
    ids = [r.id for r in group.rows]
    token = group.rows[0].claim_token or ""
    if renew(url, token, ids, until):
        return True
    report.lost += len(ids)
    log.warning("alerts %s: claim taken over by another sender; not sent by this one", ids)
    return False


def send_emails(
    subs: SubscriberSet,
    *,
    now: datetime | None = None,
    url: str | None = None,
    mailer_factory: Callable[[], Mailer] | None = None,
    lease: timedelta = LEASE,
    digests_now: bool = False,
) -> SendReport:
    """Deliver every due email alert (instant now, digests after their hour).

    ``digests_now``: the digests go out now, before their hour (the offline demo ends its day so).
    """
    now = now or utcnow()
    clock = Clock(now)
    report = SendReport()
    report.expired = expire(url, "email", now, max_age())
    with session_scope(url) as session:
        due, report.skipped = due_rows(session, subs, "email", now, due_only=not digests_now)
    if not due:
        return report
    # Resolve the server before claiming: a missing configuration must not strand leases.
    mailer = mailer_factory() if mailer_factory else SmtpMailer(resolve_config())
    groups = claim_groups(url, subs, "email", now, lease, due_only=not digests_now)
    pending = list(groups)
    try:
        while pending:
            group = pending.pop(0)
            ids = [r.id for r in group.rows]
            if not still_ours(url, group, clock.now() + lease, report):
                continue
            with session_scope(url) as session:
                msg = compose(session, group, now, mailer.mail_from)
            if msg is None:
                mark_sent(url, ids, clock.now())  # the story was deleted: nothing left to tell
                continue
            try:
                mailer.send(msg)
            except MessageRejected as exc:
                report.messages_failed += 1
                report.errors.append(str(exc))
                if exc.permanent:
                    fail(url, ids, str(exc))
                    report.alerts_failed += len(ids)
                else:
                    hold(url, ids, str(exc), clock.now(), tried=True)
                    report.alerts_held += len(ids)
                continue
            except SmtpUnavailable as exc:
                report.messages_failed += 1
                report.errors.append(str(exc))
                report.unusable = str(exc)
                report.misconfigured = isinstance(exc, SmtpMisconfigured)
                hold(url, ids, str(exc), clock.now(), tried=True, wait=False)
                rest = [r.id for g in pending for r in g.rows]
                pending = []
                hold(url, rest, f"not tried: {exc}", clock.now(), tried=False)
                report.released += len(rest)
                report.alerts_held += len(ids) + len(rest)
                log.warning(
                    "SMTP %s; %d alerts held for the next run: %s",
                    "misconfigured" if report.misconfigured else "unavailable",
                    len(rest) + len(ids),
                    exc,
                )
                break
            mark_sent(url, ids, clock.now())
            report.messages_sent += 1
            report.alerts_sent += len(ids)
            report.held_delivered += sum(r.status == "held" for r in group.rows)
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
