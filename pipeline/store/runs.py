"""Runs and their per-source outcome counters (the ``runs`` and ``run_counts`` tables).

A run records the host and process that run it and a heartbeat (refreshed when its counters are
flushed), so that a run whose process was killed does not stay ``running`` forever: whenever a
run starts, the ``running`` runs of this host whose process is gone, and those of other hosts
whose heartbeat is older than :data:`HEARTBEAT_LIMIT`, are marked ``died``. A run wrongly judged
dead (a host that stayed silent that long) gets its real status back when it finishes.
"""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from pipeline.errors import Outcome
from pipeline.store.models import Run, RunCount, utcnow

NO_SOURCE = 0
# A run silent for this long is dead wherever it ran (the other host may be gone too).
HEARTBEAT_LIMIT = timedelta(hours=6)
# Heartbeats are written at most this often (seconds): flush runs once per item.
HEARTBEAT_EVERY_S = 60.0
# Inode of the first PID namespace (PROC_PID_INIT_INO): the machine's own, not a container's.
_INIT_PID_NAMESPACE = 0xEFFFFFFC
# The process-start clock of /proc/<pid>/stat counts in these ticks (USER_HZ).
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def this_host() -> str:
    """This machine's name; inside a container also its PID namespace, whose PIDs differ."""
    name = socket.gethostname()
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return name[:255]
    suffix = "" if namespace == _INIT_PID_NAMESPACE else f" (pid ns {namespace})"
    return name[: 255 - len(suffix)] + suffix


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds), from /proc; None where that is unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, StopIteration, ValueError):
        return None
    # Fields after the command name (which may hold spaces); starttime is field 22.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return float("inf")  # a zombie: dead, only not yet reaped by its parent
    return boot + int(fields[19]) / _CLOCK_TICKS


def process_alive(pid: int, since: datetime) -> bool:
    """True when process ``pid`` of this host exists and is not a newer one reusing the PID."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    started = _process_start(pid)
    # The run row is written after its process starts; the boot time is in whole seconds.
    return started is None or started <= since.timestamp() + 2


@dataclass
class RunTally:
    """Counts outcomes in memory; ``flush`` adds them to ``run_counts`` (caller's transaction)."""

    run_id: int
    pending: Counter[tuple[int, str]] = field(default_factory=Counter)
    totals: Counter[tuple[int, str]] = field(default_factory=Counter)
    last_beat: float = field(default_factory=time.monotonic)

    def add(self, source_id: int | None, outcome: Outcome | str, n: int = 1) -> None:
        """Count ``n`` items of a source ending with ``outcome``."""
        key = (source_id or NO_SOURCE, str(outcome))
        self.pending[key] += n
        self.totals[key] += n

    def flush(self, session: Session) -> None:
        """Upsert pending counts (adding to what is stored) and clear them; beat the heart."""
        for (source_id, outcome), n in self.pending.items():
            add_count(session, self.run_id, source_id, outcome, n)
        self.pending.clear()
        if time.monotonic() - self.last_beat >= HEARTBEAT_EVERY_S:
            heartbeat(session, self.run_id)
            self.last_beat = time.monotonic()

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


def heartbeat(session: Session, run_id: int) -> None:
    """Record that the run is alive now (caller's transaction)."""
    session.execute(update(Run).where(Run.id == run_id).values(heartbeat_at=utcnow()))


def mark_dead_runs(session: Session, now: datetime | None = None) -> list[int]:
    """Mark ``died`` the running runs whose process is gone; return their ids.

    Dead: on this host, a PID that no longer exists (or was reused by a newer process); on
    other hosts, no heartbeat (or start, for runs that never beat) for :data:`HEARTBEAT_LIMIT`.
    """
    now = now or utcnow()
    host = this_host()
    rows = session.execute(
        select(Run.id, Run.host, Run.pid, Run.started_at, Run.heartbeat_at).where(
            Run.status == "running"
        )
    ).all()
    died: dict[int, tuple[datetime, str]] = {}
    for run_id, run_host, pid, started, beat in rows:
        last = max(beat or started, started)
        if run_host == host and pid is not None:
            # This host's runs are judged by their process, however quiet a live one is.
            if not process_alive(pid, started):
                died[run_id] = (last, f"process {pid} on {host} ended without finishing the run")
        elif now - last > HEARTBEAT_LIMIT:
            where = f"process {pid} on {run_host}" if run_host else "its process"
            silent = timedelta(seconds=int((now - last).total_seconds()))
            died[run_id] = (
                last,
                f"{where} gave no sign of life for {silent} (limit {HEARTBEAT_LIMIT})",
            )
    for run_id, (last, why) in died.items():
        # The status guard: the run may have finished since it was read.
        session.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == "running")
            .values(
                status="died", finished_at=last, error=f"{why}; found at {now:%Y-%m-%d %H:%M} UTC"
            )
        )
    return sorted(died)


def start_run(session: Session, kind: str, params: dict[str, Any] | None = None) -> Run:
    """Insert a run row in its own committed state so counters can reference it.

    Runs that died without finishing are marked ``died`` first (:func:`mark_dead_runs`).
    """
    mark_dead_runs(session)
    now = utcnow()
    run = Run(
        kind=kind,
        params=params or {},
        status="running",
        started_at=now,
        heartbeat_at=now,
        host=this_host(),
        pid=os.getpid(),
    )
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


@dataclass(frozen=True)
class RunSummary:
    """One run as ``newsmon runs`` shows it: its row and its counts per outcome."""

    id: int
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    host: str | None
    pid: int | None
    error: str | None
    counts: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly copy (times as ISO-8601)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "host": self.host,
            "pid": self.pid,
            "error": self.error,
            "counts": self.counts,
        }


def recent_runs(session: Session, *, limit: int, kind: str | None = None) -> list[RunSummary]:
    """The newest ``limit`` runs (of ``kind``), newest first, with counts over all sources."""
    q = select(Run).order_by(Run.id.desc()).limit(limit)
    if kind is not None:
        q = q.where(Run.kind == kind)
    runs = session.scalars(q).all()
    counts: dict[int, dict[str, int]] = {r.id: {} for r in runs}
    if runs:
        rows = session.execute(
            select(RunCount.run_id, RunCount.outcome, func.sum(RunCount.count))
            .where(RunCount.run_id.in_(counts))
            .group_by(RunCount.run_id, RunCount.outcome)
            .order_by(RunCount.outcome)
        )
        for run_id, outcome, n in rows:
            if n:
                counts[int(run_id)][str(outcome)] = int(n)
    return [
        RunSummary(
            r.id,
            r.kind,
            r.status,
            r.started_at,
            r.finished_at,
            r.host,
            r.pid,
            r.error,
            counts[r.id],
        )
        for r in runs
    ]


def run_kinds(session: Session) -> list[str]:
    """The kinds of run recorded so far."""
    return sorted(session.scalars(select(Run.kind).distinct()))
