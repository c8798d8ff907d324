"""Retention: drop stored raw HTML older than N days, keep everything derived from it.

``pages.raw`` (the zlib-compressed page kept so that extraction can be re-run) is by far the
largest column. Pruning sets it to NULL on pages fetched more than N days ago; ``raw_size`` and
every other column stay, and documents, stories (clusters), LSH bands, matches, runs and the
alert ledger are not touched. Pages not yet processed keep their HTML whatever their age: the
process stage still needs it. A pruned page that is fetched again is simply stored again
(``record_fetch`` sees new bytes), processed, and found unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from pipeline.errors import InputError
from pipeline.store.db import get_engine, session_scope, with_retries
from pipeline.store.models import Alert, Cluster, Document, Match, Page, utcnow
from pipeline.store.runs import finish_run, start_run

# Pages cleared per transaction: short transactions, so crawls and processing run alongside.
BATCH = 500


@dataclass
class PruneReport:
    """What a prune did (or, with ``dry_run``, would do)."""

    cutoff: datetime
    pages: int = 0  # pages whose raw HTML was dropped
    compressed_bytes: int = 0  # stored (compressed) bytes freed
    raw_bytes: int = 0  # the pages' original sizes (raw_size), for reference
    kept: dict[str, int] = field(default_factory=dict)  # rows of what is kept, by table
    run_id: int | None = None
    dry_run: bool = False


def _kept_counts() -> dict[str, int]:
    """Row counts of what pruning keeps (printed so the operator sees nothing else went)."""
    with session_scope() as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in (
                ("documents", Document),
                ("stories", Cluster),
                ("matches", Match),
                ("alerts", Alert),
                ("pages", Page),
            )
        }


def prune_raw(
    older_than_days: int,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    batch: int = BATCH,
) -> PruneReport:
    """Drop ``pages.raw`` of processed pages fetched more than ``older_than_days`` days ago."""
    if older_than_days < 0:
        raise InputError(f"--raw-older-than {older_than_days}: expected 0 or more days")
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    report = PruneReport(cutoff=cutoff, dry_run=dry_run)
    old = (
        Page.raw.is_not(None),
        Page.fetched_at < cutoff,
        Page.processed_at.is_not(None),
    )
    if dry_run:
        with session_scope() as session:
            row = session.execute(
                select(
                    func.count(Page.id),
                    func.coalesce(func.sum(func.length(Page.raw)), 0),
                    func.coalesce(func.sum(Page.raw_size), 0),
                ).where(*old)
            ).one()
        report.pages, report.compressed_bytes, report.raw_bytes = (int(v) for v in row)
        report.kept = _kept_counts()
        return report

    def begin() -> int:
        with session_scope() as session:
            return start_run(session, "prune", {"raw_older_than_days": older_than_days}).id

    report.run_id = with_retries(begin)
    last_id = 0
    while True:

        def one_batch(after: int = last_id) -> tuple[int, int, int, int]:
            with session_scope() as session:
                rows = session.execute(
                    select(Page.id, func.length(Page.raw), Page.raw_size)
                    .where(*old, Page.id > after)
                    .order_by(Page.id)
                    .limit(batch)
                ).all()
                if not rows:
                    return 0, 0, 0, after
                ids = [r[0] for r in rows]
                session.execute(
                    update(Page)
                    .where(Page.id.in_(ids), Page.processed_at.is_not(None))
                    .values(raw=None)
                    .execution_options(synchronize_session=False)
                )
                return len(ids), sum(r[1] or 0 for r in rows), sum(r[2] or 0 for r in rows), ids[-1]

        n, packed, size, last_id = with_retries(one_batch)
        if n == 0:
            break
        report.pages += n
        report.compressed_bytes += packed
        report.raw_bytes += size
    run_id = report.run_id

    def finish() -> None:
        with session_scope() as session:
            finish_run(session, run_id)

    with_retries(finish)
    report.kept = _kept_counts()
    return report


def vacuum() -> None:
    """Give the freed space back to the file system (SQLite VACUUM, PostgreSQL VACUUM pages)."""
    engine = get_engine()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("VACUUM (ANALYZE) pages")
        else:
            conn.exec_driver_sql("VACUUM")
