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

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

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

# Run alert modes: "scheduled" uses each subscription's mode; backfill/reprocess default to digest
# ("caught up"); "none" records rows as suppressed; "instant" only when an operator asks for it.
RUN_MODES: tuple[str, ...] = ("scheduled", "backfill", "reprocess", "digest", "instant", "none")
# Rows still to be delivered.
OPEN = ("pending", "held")
# A story first planned in a scheduled run but published this long ago is catch-up material
# (a missed day, the first run's NEWSMON_FIRST_RUN_DAYS window, a backfill running alongside):
# it joins the next digest under "caught up" instead of arriving as an instant alert.
CAUGHT_UP_AFTER = timedelta(hours=48)


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


def _insert(session: Session) -> Any:
    """The dialect's INSERT with ON CONFLICT support."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


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
    mode = normalise_mode(run_mode)
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
                    values = _row_values(sub, mode, now, story_date, muted, caught_up_after)
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
    mode: str,
    now: datetime,
    story_date: datetime,
    muted: bool,
    caught_up_after: timedelta | None,
) -> dict[str, Any]:
    """Status, delivery and caught-up flag of a new row under a run alert mode."""
    if mode == "scheduled":
        old = caught_up_after is not None and story_date < now - caught_up_after
        delivery, caught_up = ("digest", True) if old else (sub.mode, False)
    elif mode == "instant":
        delivery, caught_up = "instant", False
    else:  # digest (backfill, reprocess) and none
        delivery, caught_up = "digest", True
    status = "muted" if muted else ("suppressed" if mode == "none" else "pending")
    return {"status": status, "delivery": delivery, "caught_up": caught_up, "run_mode": mode}


def _rank(row: Alert) -> tuple[bool, bool, bool, int]:
    """Which row of one story speaks for it: sent, then already tried, then instant, then oldest."""
    return (row.status != "sent", row.message_id is None, row.delivery != "instant", row.id)


def fold_merged(session: Session, now: datetime) -> int:
    """Mark ``merged`` the open rows whose story is now one with another row of the subscriber.

    Two stories alerted (or queued) for one subscriber may be merged by dedup; the merged story
    then has two rows on a channel. The one that was sent, else the best-placed open one, speaks
    for the story; the others would repeat it. A row another sender holds is left to it.
    """
    mine, theirs = aliased(Alert), aliased(Alert)
    doc, sibling = aliased(Document), aliased(Document)
    pairs = session.execute(
        select(mine, theirs)
        .join(doc, doc.id == mine.document_id)
        .join(sibling, sibling.cluster_id == doc.cluster_id)
        .join(
            theirs,
            and_(
                theirs.document_id == sibling.id,
                theirs.subscriber == mine.subscriber,
                theirs.channel == mine.channel,
                theirs.id != mine.id,
            ),
        )
        .where(
            mine.status.in_(OPEN),
            theirs.status.in_(("sent", *OPEN)),
            doc.cluster_id.is_not(None),
            or_(mine.claim_token.is_(None), mine.claimed_until.is_(None), mine.claimed_until < now),
        )
    ).all()
    folded: set[int] = set()
    for row, other in pairs:
        if row.id not in folded and _rank(other) < _rank(row):
            folded.add(row.id)
            row.status = "merged"
            row.claim_token = None
            row.claimed_until = None
    if folded:
        session.flush()
        log.info(
            "alerts %s: their stories were merged into stories already alerted", sorted(folded)
        )
    return len(folded)


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


def refresh_clusters(session: Session, ids: list[int]) -> None:
    """Point rows at their story's current cluster (it changes when dedup merges stories)."""
    if not ids:
        return
    current = (
        select(Document.cluster_id)
        .where(Document.id == Alert.document_id, Document.cluster_id.is_not(None))
        .scalar_subquery()
    )
    session.execute(
        update(Alert)
        .where(Alert.id.in_(ids), current.is_not(None))
        .values(cluster_id=current)
        .execution_options(synchronize_session=False)
    )
