"""The alert ledger: one row per (subscriber, story, channel), and planning which to create.

A story is a cluster: a statement, its copies and its versions in other languages. It reaches a
subscriber when any of its documents has a ``matches`` row for one of the subscribed topics (from
one of the subscribed sources, if any) and, when the subscriber names ``languages``, when any of
its versions is in one of them. Planning inserts one ``pending`` row per new (subscriber, story,
channel) with ``INSERT ... ON CONFLICT DO NOTHING`` against the unique key, so a rerun, a
republished copy or a translation (same cluster), an updated page (same document) or a topic the
story comes to match later adds nothing: the message lists every subscribed topic the story
matches when it is sent. ``topic_id`` keeps the topic that brought the story first. Email and
webhook deliveries are sibling rows in the same table (``channel``) so each has its own status,
attempts and error: a failing webhook never blocks or repeats an email.

Cluster ids are not stable: deduplication merges two stories when a copy or a version links
them (deleting one cluster), moves an updated page to a new cluster, ``newsmon dedup --refold``
re-folds the archive, and SQLite may reuse a deleted id. So a row names its story by the story's
origin *document* when it was planned (``document_id``, part of the unique key) and keeps
``cluster_id`` only as the story's current id. A story counts as alerted to a subscriber when any
of its documents is the ``document_id`` of one of their rows: merged stories, a later official
origin and a page that moved all stay alerted. When two stories that each have a row for the
same subscriber are merged, the open row of the merged story that would repeat it is marked
``merged`` (:func:`fold_merged`): a story already sent is not sent again.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from pipeline.alerts.merges import OPEN, fold_merged, keep_alerted, refresh_clusters
from pipeline.alerts.merges import dialect_insert as _insert
from pipeline.alerts.subscribers import ALL_TOPICS, Subscriber, SubscriberSet
from pipeline.store.db import serialize_writers
from pipeline.store.models import (
    Alert,
    AlertMute,
    Cluster,
    Document,
    Match,
    Source,
    Topic,
    utcnow,
)

log = logging.getLogger(__name__)

# Re-exported: planners, senders and the re-fold reach the merge rules through the ledger.
__all__ = [
    "CAUGHT_UP_AFTER",
    "OPEN",
    "RUN_MODES",
    "PlanReport",
    "candidates",
    "fold_merged",
    "keep_alerted",
    "message_token",
    "mute_cluster",
    "normalise_mode",
    "plan_alerts",
    "refresh_clusters",
    "story_alerted",
    "story_in_languages",
    "story_muted",
]

# Run alert modes: "scheduled" uses each subscription's mode; backfill/reprocess default to digest
# ("caught up"); "none" records rows as suppressed; "instant" only when an operator asks for it.
RUN_MODES: tuple[str, ...] = ("scheduled", "backfill", "reprocess", "digest", "instant", "none")
# A story first planned in a scheduled run but published this long ago is catch-up material
# (a missed day, the first run's NEWSMON_FIRST_RUN_DAYS window, a backfill running alongside):
# it joins the next digest under "caught up" instead of arriving as an instant alert.
CAUGHT_UP_AFTER = timedelta(hours=48)
# Why stories were caught up, as the digest's "Caught up" section says it (see caught_up_reasons).
CAUGHT_UP_REASONS: dict[str, str] = {
    "first-run": (
        "Found by this subscription's first run, which looks back over the past days: "
        f"published more than {CAUGHT_UP_AFTER.total_seconds() / 3600:.0f} hours earlier."
    ),
    "late": (
        f"Published more than {CAUGHT_UP_AFTER.total_seconds() / 3600:.0f} hours before newsmon "
        "found them (a source that was unreachable, or listed them late)."
    ),
    "backfill": "Found by a backfill of past days.",
    "reprocess": "Matched after a topic changed (topics reprocess).",
    "earlier": "Found by a backfill or after a topic changed.",
}


@dataclass
class PlanReport:
    """What one planning pass did."""

    created: int = 0
    already: int = 0  # rows that existed (a rerun, a copy of an alerted story): counted, not logged
    suppressed: int = 0
    muted: int = 0
    caught_up: int = 0
    merged: int = 0  # open rows whose story was merged into one already alerted to the subscriber

    def as_dict(self) -> dict[str, int]:
        """Plain counters for logs and XCom."""
        return dict(self.__dict__)


def normalise_mode(mode: str) -> str:
    """Validate a run alert mode; backfill and reprocess mean digest."""
    if mode not in RUN_MODES:
        raise ValueError(f"alert mode {mode!r}: expected one of {', '.join(RUN_MODES)}")
    return "digest" if mode in {"backfill", "reprocess"} else mode


def _topics_for(session: Session, sub: Subscriber) -> list[str]:
    """The topic ids a subscription covers (``*`` = every topic with matches)."""
    if ALL_TOPICS in sub.topics:
        return sorted(session.scalars(select(Topic.id)).all())
    return list(sub.topics)


def story_alerted(sub_id: str, channel: str) -> Any:
    """SQL: the outer ``Cluster`` already has a row for (subscriber, channel), whatever topic."""
    member = aliased(Document)
    return (
        select(Alert.id)
        .join(member, member.id == Alert.document_id)
        .where(
            Alert.subscriber == sub_id,
            Alert.channel == channel,
            member.cluster_id == Cluster.id,
        )
        .exists()
    )


def story_in_languages(languages: list[str]) -> Any:
    """SQL: one of the outer ``Cluster``'s versions is in one of ``languages`` ("ru" or "ru-RU")."""
    member = aliased(Document)
    codes = [code.casefold() for code in languages]
    fits = or_(
        member.language.in_(codes),
        *(member.language.like(f"{code}-%") for code in codes),
        *(member.language.like(f"{code}_%") for code in codes),
    )
    return select(member.id).where(member.cluster_id == Cluster.id, fits).exists()


def story_muted() -> Any:
    """SQL: one of the outer ``Cluster``'s documents was muted."""
    member = aliased(Document)
    return (
        select(AlertMute.document_id)
        .join(member, member.id == AlertMute.document_id)
        .where(member.cluster_id == Cluster.id)
        .exists()
    )


def candidates(
    session: Session, sub: Subscriber, topic_id: str, channel: str
) -> list[tuple[int, int, datetime, bool]]:
    """Stories matching the topic that the subscriber has no row of yet, on this channel.

    Returns (cluster, origin document, story date, muted) per story.
    """
    origin = aliased(Document)
    story_date = origin.published_at
    matching = (
        select(Document.cluster_id)
        .join(Match, Match.document_id == Document.id)
        .where(Match.topic_id == topic_id, Document.cluster_id.is_not(None))
    )
    if sub.sources:
        matching = matching.join(Source, Source.id == Document.source_id).where(
            Source.name.in_(sub.sources)
        )
    q = (
        select(
            Cluster.id,
            origin.id,
            origin.published_at,
            Cluster.first_seen_at,
            story_muted().label("muted"),
        )
        .join(origin, origin.id == Cluster.origin_document_id)
        .where(
            Cluster.id.in_(matching),
            ~story_alerted(sub.id, channel),
            # "since": stories published before it are never alerted (undated: first seen).
            or_(
                story_date >= sub.since,
                and_(story_date.is_(None), Cluster.first_seen_at >= sub.since),
            ),
        )
        .order_by(Cluster.id)
    )
    if sub.languages:
        # Any version in their languages brings the story (the email leads with that version).
        q = q.where(story_in_languages(list(sub.languages)))
    return [
        (cid, doc_id, published or first_seen, bool(muted))
        for cid, doc_id, published, first_seen, muted in session.execute(q)
    ]


def message_token(*parts: object) -> str:
    """A short stable hash for Message-IDs (unique across databases in practice)."""
    raw = "\x1f".join(str(p) for p in parts).encode()
    return hashlib.sha256(raw).hexdigest()[:12]


def plan_alerts(
    session: Session,
    subscribers: SubscriberSet,
    *,
    run_mode: str = "scheduled",
    now: datetime | None = None,
    caught_up_after: timedelta | None = CAUGHT_UP_AFTER,
) -> PlanReport:
    """Create pending (or suppressed/muted) ledger rows for new matching stories; idempotent.

    Topics are taken in the subscription's order, so a row's ``topic_id`` is the first subscribed
    topic the story matched. ``caught_up_after=None`` turns off the scheduled-run rule that sends
    old stories to the digest.
    """
    normalise_mode(run_mode)  # rejects an unknown mode before anything is read
    now = now or utcnow()
    report = PlanReport()
    # Planners (a daily run, a backfill) and the store stage take turns: a story's origin must
    # not change, nor another planner's rows stay invisible, between reading and inserting.
    serialize_writers(session)
    insert = _insert(session)
    for sub in subscribers:
        for topic_id in _topics_for(session, sub):
            for channel in sub.channels:
                found = candidates(session, sub, topic_id, channel)
                for cluster_id, document_id, story_date, muted in found:
                    values = _row_values(sub, run_mode, now, story_date, muted, caught_up_after)
                    stmt = (
                        insert(Alert)
                        .values(
                            subscriber=sub.id,
                            topic_id=topic_id,
                            cluster_id=cluster_id,
                            document_id=document_id,
                            channel=channel,
                            planned_at=now,
                            attempts=0,
                            **values,
                        )
                        .on_conflict_do_nothing(
                            index_elements=["subscriber", "document_id", "channel"]
                        )
                    )
                    if session.execute(stmt).rowcount == 0:  # type: ignore[attr-defined]
                        # A concurrent run planned it first: counted, not an error.
                        report.already += 1
                        continue
                    report.created += 1
                    report.suppressed += values["status"] == "suppressed"
                    report.muted += values["status"] == "muted"
                    report.caught_up += bool(values["caught_up"])
    session.flush()
    report.merged = fold_merged(session, now)
    log.info("alerts planned (%s): %s", run_mode, report.as_dict())
    return report


def _row_values(
    sub: Subscriber,
    run_mode: str,
    now: datetime,
    story_date: datetime,
    muted: bool,
    caught_up_after: timedelta | None,
) -> dict[str, Any]:
    """Status, delivery and caught-up flag of a new row under a run alert mode.

    ``run_mode`` is kept as given (backfill and reprocess apart): it is why a row was caught up.
    """
    mode = normalise_mode(run_mode)
    if mode == "scheduled":
        old = caught_up_after is not None and story_date < now - caught_up_after
        delivery, caught_up = ("digest", True) if old else (sub.mode, False)
    elif mode == "instant":
        delivery, caught_up = "instant", False
    elif run_mode == "digest":  # asked for the digest: new stories, only later
        delivery, caught_up = "digest", False
    else:  # backfill, reprocess (catching up) and none
        delivery, caught_up = "digest", True
    status = "muted" if muted else ("suppressed" if mode == "none" else "pending")
    return {"status": status, "delivery": delivery, "caught_up": caught_up, "run_mode": run_mode}


def caught_up_reasons(session: Session, rows: list[Alert]) -> list[str]:
    """Why the caught-up rows among ``rows`` were caught up: keys of :data:`CAUGHT_UP_REASONS`.

    A scheduled run catches up stories published more than ``CAUGHT_UP_AFTER`` before it found
    them: on the subscription's first alert run (no earlier row) that is the look-back of a first
    run, afterwards a story found late. Rows planned before the run mode was kept say "digest".
    """
    reasons: set[str] = set()
    for row in rows:
        if not row.caught_up:
            continue
        if row.run_mode in ("backfill", "reprocess"):
            reasons.add(row.run_mode)
        elif row.run_mode == "scheduled":
            earlier = session.scalar(
                select(Alert.id)
                .where(Alert.subscriber == row.subscriber, Alert.planned_at < row.planned_at)
                .limit(1)
            )
            reasons.add("late" if earlier is not None else "first-run")
        else:
            reasons.add("earlier")
    return [key for key in CAUGHT_UP_REASONS if key in reasons]


def mute_cluster(session: Session, cluster_id: int, *, reason: str = "") -> int:
    """Silence a story for everyone: record the mute, mute its open rows; returns how many."""
    cluster = session.get(Cluster, cluster_id)
    if cluster is None or cluster.origin_document_id is None:
        raise LookupError(f"no story (cluster) with id {cluster_id}; see `newsmon stories`")
    stmt = (
        _insert(session)(AlertMute)
        .values(
            document_id=cluster.origin_document_id,
            cluster_id=cluster_id,
            reason=reason,
            muted_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["document_id"])
    )
    session.execute(stmt)
    members = select(Document.id).where(Document.cluster_id == cluster_id)
    rows = session.scalars(
        select(Alert).where(Alert.document_id.in_(members), Alert.status.in_(("pending", "held")))
    ).all()
    for row in rows:
        row.status = "muted"
        row.claim_token = None
        row.claimed_until = None
    session.flush()
    return len(rows)
