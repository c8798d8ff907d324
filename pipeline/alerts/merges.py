"""When stories merge: the ledger rows that keep one alert per subscriber and story.

Deduplication merges two stories when a copy or a version links them, and ``newsmon dedup
--refold`` re-folds the archive. A row names its story by a document, so it follows that
document into whatever story holds it now (:func:`refresh_clusters`); a story holding two rows
of one subscriber keeps the one that speaks for it (:func:`fold_merged`); after a re-fold a
story holding documents of a story someone was alerted of stays alerted (:func:`keep_alerted`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from pipeline.store.models import Alert, Cluster, Document

log = logging.getLogger(__name__)

# Rows still to be delivered.
OPEN = ("pending", "held")


def dialect_insert(session: Session) -> Any:
    """The dialect's INSERT with ON CONFLICT support."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


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


def keep_alerted(
    session: Session, old_stories: Iterable[Collection[int]], now: datetime
) -> tuple[int, int]:
    """After a re-fold: a story holding documents of a story someone was alerted of stays alerted.

    ``old_stories`` are the re-folded stories' members before the re-fold. For every row that
    went out (or was settled: suppressed, muted, failed), each story now holding one of those
    documents gets a ``merged`` row for that subscriber and channel unless it has one already.
    Open rows are left to be sent (their story was never told), except those that would now
    repeat a story (:func:`fold_merged`). Returns (rows added, open rows marked merged).
    """
    insert = dialect_insert(session)
    added = 0
    touched: set[int] = set()
    for members in old_stories:
        ids = sorted(members)
        touched.update(ids)
        settled = session.scalars(
            select(Alert)
            .where(Alert.document_id.in_(ids), Alert.status.not_in(OPEN))
            .order_by(Alert.id)
        ).all()
        if not settled:
            continue
        now_in = select(Document.cluster_id).where(Document.id.in_(ids))
        for cluster in session.scalars(select(Cluster).where(Cluster.id.in_(now_in))):
            if cluster.origin_document_id is None:
                continue
            for row in settled:
                member = aliased(Document)
                has = session.scalar(
                    select(Alert.id)
                    .join(member, member.id == Alert.document_id)
                    .where(
                        member.cluster_id == cluster.id,
                        Alert.subscriber == row.subscriber,
                        Alert.channel == row.channel,
                    )
                    .limit(1)
                )
                if has is not None:
                    continue
                stmt = (
                    insert(Alert)
                    .values(
                        subscriber=row.subscriber,
                        topic_id=row.topic_id,
                        document_id=cluster.origin_document_id,
                        cluster_id=cluster.id,
                        channel=row.channel,
                        status="merged",
                        delivery=row.delivery,
                        caught_up=row.caught_up,
                        run_mode=row.run_mode,
                        planned_at=now,
                        attempts=0,
                        last_error=f"re-folded: part of a story already alerted (alert {row.id})",
                    )
                    .on_conflict_do_nothing(index_elements=["subscriber", "document_id", "channel"])
                )
                added += session.execute(stmt).rowcount  # type: ignore[attr-defined]
    if touched:
        rows = session.scalars(
            select(Alert.id).where(
                Alert.document_id.in_(
                    select(Document.id).where(
                        Document.cluster_id.in_(
                            select(Document.cluster_id).where(Document.id.in_(sorted(touched)))
                        )
                    )
                )
            )
        ).all()
        refresh_clusters(session, list(rows))
    session.flush()
    return added, fold_merged(session, now)
