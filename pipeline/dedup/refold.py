"""Re-fold stored documents into stories with the current rules (``newsmon dedup --refold``).

When the dedup rules improve (cross-language versions, boilerplate-aware containment), the
archive still holds the stories the old rules made. A re-fold takes the documents first seen
since a date, together with every other member of their stories (so no story is left half
re-folded), takes them out of their stories and assigns them again with :func:`assign` in
arrival order, exactly as if they were arriving now: each sees only the stories of what
arrived before it.

Story numbers survive where they can: a story after the re-fold takes back the number of the
story its origin (else most of its members) belonged to, so an unchanged story keeps its number
and its update time, and running the re-fold twice changes nothing. Merges (a story made of
members of several earlier ones) and splits are reported and recorded with the run. The alert
ledger is told in the same transaction (``pipeline.alerts.merges.keep_alerted``): a story that
holds documents of a story someone was alerted of counts as alerted to them, so a re-fold alerts
nobody again.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from pipeline.dedup.assign import assign
from pipeline.errors import Outcome
from pipeline.store.db import serialize_writers, session_scope
from pipeline.store.models import Cluster, Document, LshBand, Run, XlBand, utcnow
from pipeline.store.runs import RunTally, finish_run, start_run

log = logging.getLogger(__name__)

# Documents handled between two flushes that also empty the session's identity map: a re-fold
# of the whole archive must not hold every text in memory at once.
CHUNK = 500
# Merges and splits kept in the run's params (the counts are always complete).
MAX_RECORDED = 200


@dataclass
class RefoldReport:
    """What a re-fold did: documents re-assigned, stories before and after, merges and splits."""

    since: str | None = None
    documents: int = 0
    stories_before: int = 0
    stories_after: int = 0
    unchanged: int = 0  # stories whose members are exactly what they were
    # story after -> the earlier stories whose members it now holds (two or more)
    merged: dict[int, list[int]] = field(default_factory=dict)
    # earlier story -> the stories after that hold its members (two or more)
    split: dict[int, list[int]] = field(default_factory=dict)
    alerts_kept: int = 0  # ledger rows added so that re-folded stories stay alerted
    alerts_merged: int = 0  # open rows that would have repeated an alerted story
    run_id: int | None = None
    # (source, outcome) -> documents: ``new`` started a story, ``duplicate`` joined one.
    outcomes: Counter[tuple[int | None, str]] = field(default_factory=Counter, repr=False)
    # The earlier stories' members (for the alert ledger); not part of the summary.
    old_stories: list[frozenset[int]] = field(default_factory=list, repr=False)

    @property
    def changed(self) -> bool:
        """Whether any story's members changed."""
        return self.unchanged != self.stories_before or self.stories_after != self.stories_before

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (merges and splits capped at MAX_RECORDED)."""
        return {
            "since": self.since,
            "documents": self.documents,
            "stories_before": self.stories_before,
            "stories_after": self.stories_after,
            "unchanged": self.unchanged,
            "merges": len(self.merged),
            "splits": len(self.split),
            "merged": {str(k): v for k, v in list(self.merged.items())[:MAX_RECORDED]},
            "split": {str(k): v for k, v in list(self.split.items())[:MAX_RECORDED]},
            "alerts_kept": self.alerts_kept,
            "alerts_merged": self.alerts_merged,
            "run_id": self.run_id,
        }


def _selected(session: Session, since: datetime | None) -> list[tuple[int, int | None]]:
    """(document, story) of the documents to re-fold, in arrival order.

    The documents first seen since ``since`` and every other member of their stories.
    """
    columns = (Document.id, Document.cluster_id, Document.first_seen_at)
    recent = select(*columns)
    if since is not None:
        recent = recent.where(Document.first_seen_at >= since)
    rows = {doc_id: (cid, seen) for doc_id, cid, seen in session.execute(recent)}
    if since is not None:
        touched = sorted({cid for cid, _ in rows.values() if cid is not None})
        for part in _chunks(touched):
            for doc_id, cid, seen in session.execute(
                select(*columns).where(Document.cluster_id.in_(part))
            ):
                rows[doc_id] = (cid, seen)
    ordered = sorted(rows.items(), key=lambda item: (item[1][1], item[0]))
    return [(doc_id, cid) for doc_id, (cid, _) in ordered]


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    """``ids`` in slices of CHUNK (bounded IN lists)."""
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _detach_all(session: Session, ids: list[int]) -> None:
    """Take the documents out of their stories and drop their band rows (they are re-written)."""
    lsh = cast(Table, LshBand.__table__)
    xl = cast(Table, XlBand.__table__)
    for part in _chunks(ids):
        session.execute(lsh.delete().where(lsh.c.document_id.in_(part)))
        session.execute(xl.delete().where(xl.c.document_id.in_(part)))
        session.execute(
            update(Document)
            .where(Document.id.in_(part))
            .values(cluster_id=None, duplicate_of_id=None, similarity=None)
            .execution_options(synchronize_session=False)
        )
    session.expire_all()


def _renumber(
    session: Session,
    old_of: dict[int, int | None],
    old_members: dict[int, frozenset[int]],
    old_updated: dict[int, datetime],
    new_ids: set[int],
) -> dict[int, int]:
    """Give each new story the number of the earlier story it continues; returns new -> final.

    A story continues the earlier story of its origin, else the one most of its members came
    from (lowest number on a tie); each earlier number is given once. An unchanged story gets
    its update time back too.
    """
    final: dict[int, int] = {}
    taken: set[int] = set()
    for new_id in sorted(new_ids):
        cluster = session.get(Cluster, new_id)
        if cluster is None:
            continue
        members = set(session.scalars(select(Document.id).where(Document.cluster_id == new_id)))
        counts = Counter(old_of[d] for d in members if old_of.get(d) is not None)
        origin_old = old_of.get(cluster.origin_document_id or -1)
        ranked = sorted(counts, key=lambda cid: (cid != origin_old, -counts[cid], cid))
        target = next((cid for cid in ranked if cid is not None and cid not in taken), None)
        if target is None:
            final[new_id] = new_id
            continue
        taken.add(target)
        old = session.get(Cluster, target)
        assert old is not None  # emptied, not deleted, until the end of the re-fold
        session.execute(
            update(Document)
            .where(Document.cluster_id == new_id)
            .values(cluster_id=target)
            .execution_options(synchronize_session=False)
        )
        old.origin_document_id = cluster.origin_document_id
        old.size = cluster.size
        old.first_seen_at = cluster.first_seen_at
        same = old_members.get(target) == frozenset(members)
        old.updated_at = old_updated[target] if same else cluster.updated_at
        session.delete(cluster)
        session.flush()
        final[new_id] = target
    session.expire_all()
    return final


def refold_session(session: Session, *, since: datetime | None = None) -> RefoldReport:
    """Re-fold in the caller's transaction (see the module docstring); the ledger is not told."""
    serialize_writers(session)
    report = RefoldReport(since=since.isoformat() if since else None)
    chosen = _selected(session, since)
    if not chosen:
        return report
    old_of: dict[int, int | None] = dict(chosen)
    grouped: dict[int, set[int]] = defaultdict(set)
    for doc_id, cid in chosen:
        if cid is not None:
            grouped[cid].add(doc_id)
    old_members = {cid: frozenset(docs) for cid, docs in grouped.items()}
    old_updated = {
        c.id: c.updated_at
        for part in _chunks(sorted(old_members))
        for c in session.scalars(select(Cluster).where(Cluster.id.in_(part)))
    }
    report.old_stories = list(old_members.values())
    report.stories_before = len(old_members)
    ids = [doc_id for doc_id, _ in chosen]
    _detach_all(session, ids)
    for n, doc_id in enumerate(ids, start=1):
        doc = session.get(Document, doc_id)
        if doc is not None:
            res = assign(session, doc)
            report.documents += 1
            outcome = Outcome.NEW if res.duplicate_of is None else Outcome.DUPLICATE
            report.outcomes[(doc.source_id, str(outcome))] += 1
        if n % CHUNK == 0:
            session.flush()
            session.expunge_all()
    session.flush()
    new_of = _current_stories(session, ids)
    created = {cid for cid in new_of.values() if cid not in old_members}
    final = _renumber(session, old_of, old_members, old_updated, created)
    new_of = {d: final.get(cid, cid) for d, cid in new_of.items()}
    # Earlier stories no document continues: gone.
    kept = set(new_of.values())
    for part in _chunks(sorted(set(old_members) - kept)):
        for cluster in session.scalars(select(Cluster).where(Cluster.id.in_(part))):
            session.delete(cluster)
    session.flush()
    _compare(report, old_of, old_members, new_of)
    return report


def _current_stories(session: Session, ids: list[int]) -> dict[int, int]:
    """Document -> its story now, for the re-folded documents."""
    found: dict[int, int] = {}
    for part in _chunks(ids):
        for doc_id, cid in session.execute(
            select(Document.id, Document.cluster_id).where(Document.id.in_(part))
        ):
            if cid is not None:
                found[doc_id] = cid
    return found


def _compare(
    report: RefoldReport,
    old_of: dict[int, int | None],
    old_members: dict[int, frozenset[int]],
    new_of: dict[int, int],
) -> None:
    """Count unchanged stories and list merges and splits, old partition against new."""
    new_members: dict[int, set[int]] = defaultdict(set)
    for doc_id, cid in new_of.items():
        new_members[cid].add(doc_id)
    report.stories_after = len(new_members)
    report.unchanged = sum(
        1 for cid, docs in new_members.items() if old_members.get(cid) == frozenset(docs)
    )
    for cid, docs in sorted(new_members.items()):
        sources = sorted({old for d in docs if (old := old_of.get(d)) is not None})
        if len(sources) > 1:
            report.merged[cid] = sources
    for old, before in sorted(old_members.items()):
        parts = sorted({new_of[d] for d in before if d in new_of})
        if len(parts) > 1:
            report.split[old] = parts


def refold(url: str | None = None, *, since: datetime | None = None) -> RefoldReport:
    """Re-fold the stored archive (since ``since``) as a recorded run; one transaction.

    Each re-assigned document is counted in the run as ``new`` (it starts a story) or
    ``duplicate`` (it joined one); the summary with merges and splits goes into the run's params.
    """
    from pipeline.alerts.merges import keep_alerted  # the ledger sits above dedup

    with session_scope(url) as session:
        run_id = start_run(session, "refold", {"since": since.isoformat() if since else None}).id
    tally = RunTally(run_id=run_id)
    try:
        with session_scope(url) as session:
            report = refold_session(session, since=since)
            report.run_id = run_id
            report.alerts_kept, report.alerts_merged = keep_alerted(
                session, report.old_stories, utcnow()
            )
            for (source_id, outcome), n in report.outcomes.items():
                tally.add(source_id, outcome, n)
            tally.flush(session)
    except Exception as exc:
        # Recorded as failed, then raised as it is (the re-fold's transaction rolled back).
        with session_scope(url) as session:
            finish_run(session, run_id, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    with session_scope(url) as session:
        run = session.get(Run, run_id)
        if run is not None:
            run.params = {**(run.params or {}), **report.as_dict()}
        finish_run(session, run_id, status="ok")
    log.info(
        "refold: %s", {k: v for k, v in report.as_dict().items() if k not in {"merged", "split"}}
    )
    return report
