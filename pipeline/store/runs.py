"""Runs and their per-source outcome counters (the ``runs`` and ``run_counts`` tables)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from pipeline.errors import Outcome
from pipeline.store.models import Run, RunCount, utcnow

NO_SOURCE = 0


@dataclass
class RunTally:
    """Counts outcomes in memory; ``flush`` adds them to ``run_counts`` (caller's transaction)."""

    run_id: int
    pending: Counter[tuple[int, str]] = field(default_factory=Counter)
    totals: Counter[tuple[int, str]] = field(default_factory=Counter)

    def add(self, source_id: int | None, outcome: Outcome | str, n: int = 1) -> None:
        """Count ``n`` items of a source ending with ``outcome``."""
        key = (source_id or NO_SOURCE, str(outcome))
        self.pending[key] += n
        self.totals[key] += n

    def flush(self, session: Session) -> None:
        """Upsert pending counts (adding to what is stored) and clear them."""
        for (source_id, outcome), n in self.pending.items():
            add_count(session, self.run_id, source_id, outcome, n)
        self.pending.clear()

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """Forget the counts of a transaction that failed, so that its retry counts once."""
        pending, totals = self.pending.copy(), self.totals.copy()
        try:
            yield
        except BaseException:
            self.pending, self.totals = pending, totals
            raise

    def by_outcome(self) -> Counter[str]:
        """Totals per outcome over all sources."""
        out: Counter[str] = Counter()
        for (_, outcome), n in self.totals.items():
            out[outcome] += n
        return out


def add_count(session: Session, run_id: int, source_id: int, outcome: str, n: int) -> None:
    """Atomically add ``n`` to one counter row (insert or increment)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(RunCount).values(run_id=run_id, source_id=source_id, outcome=outcome, count=n)
    stmt = stmt.on_conflict_do_update(
        index_elements=["run_id", "source_id", "outcome"],
        set_={"count": RunCount.count + n},
    )
    session.execute(stmt)


def start_run(session: Session, kind: str, params: dict[str, Any] | None = None) -> Run:
    """Insert a run row in its own committed state so counters can reference it."""
    run = Run(kind=kind, params=params or {}, status="running", started_at=utcnow())
    session.add(run)
    session.flush()
    return run


def finish_run(session: Session, run_id: int, status: str = "ok", error: str | None = None) -> None:
    """Mark a run finished."""
    run = session.get(Run, run_id)
    if run is None:
        return
    run.status = status
    run.error = error
    run.finished_at = utcnow()


def run_counts(session: Session, run_id: int) -> dict[tuple[int, str], int]:
    """Counters of one run keyed by (source_id, outcome)."""
    rows = session.execute(
        select(RunCount.source_id, RunCount.outcome, RunCount.count).where(
            RunCount.run_id == run_id
        )
    )
    return {(int(r[0]), str(r[1])): int(r[2]) for r in rows}
