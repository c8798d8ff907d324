"""The Sources page: each source's last crawl, its outcomes in recent runs, failing ones first."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.store.crawlstate import SOURCE_KEY, StateView, list_states
from pipeline.store.models import Document, Run, RunCount, Source
from pipeline.store.stories import source_label

# Runs whose counts the page adds up (the newest ones, any kind).
RECENT_RUNS = 20
# Order of the states on the page: what needs a look comes first.
STATES = ("failing", "silent", "never crawled", "ok")


@dataclass
class SourceRow:
    """One source as the page shows it."""

    name: str
    label: str
    type: str
    languages: list[str]
    state: str
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    new_documents: int = 0  # first seen within the silence window
    last_document: datetime | None = None
    outcomes: dict[str, int] = field(default_factory=dict)


def _state(whole: StateView | None, new_docs: int, crawled_ever: bool) -> str:
    """failing, silent, never crawled or ok."""
    if whole is not None:
        failed = whole.last_error or (
            whole.last_attempt_at is not None
            and (whole.last_success_at is None or whole.last_attempt_at > whole.last_success_at)
        )
        if failed:
            return "failing"
    if not crawled_ever:
        return "never crawled" if new_docs == 0 else "ok"
    return "silent" if new_docs == 0 else "ok"


def source_rows(session: Session, now: datetime, silence_days: int) -> list[SourceRow]:
    """Every source, failing first, then silent ones, then the rest by name."""
    since = now - timedelta(days=silence_days)
    states: dict[str, StateView] = {}
    crawled: set[str] = set()
    for st in list_states(session):
        crawled.add(st.source)
        if st.key == SOURCE_KEY:
            states[st.source] = st
    docs = {
        int(sid or 0): (int(n), last)
        for sid, n, last in session.execute(
            select(
                Document.source_id,
                func.count(Document.id).filter(Document.first_seen_at >= since),
                func.max(Document.first_seen_at),
            )
            .where(Document.source_id.is_not(None))
            .group_by(Document.source_id)
        )
    }
    runs = select(Run.id).order_by(Run.id.desc()).limit(RECENT_RUNS).scalar_subquery()
    outcomes: dict[int, dict[str, int]] = defaultdict(dict)
    for sid, outcome, n in session.execute(
        select(RunCount.source_id, RunCount.outcome, func.sum(RunCount.count))
        .where(RunCount.run_id.in_(runs))
        .group_by(RunCount.source_id, RunCount.outcome)
    ):
        if n:
            outcomes[int(sid)][str(outcome)] = int(n)
    rows = []
    for src in session.scalars(select(Source).order_by(Source.name)):
        new, last = docs.get(src.id, (0, None))
        whole = states.get(src.name)
        row = SourceRow(
            src.name,
            source_label(src),
            src.type,
            [str(x) for x in src.languages or []],
            _state(whole, new, src.name in crawled),
            new_documents=new,
            last_document=last,
            outcomes=dict(sorted(outcomes[src.id].items())),
        )
        if whole is not None:
            row.last_success, row.last_attempt = whole.last_success_at, whole.last_attempt_at
            row.last_status, row.last_error = whole.last_status, whole.last_error
        rows.append(row)
    rows.sort(key=lambda r: (STATES.index(r.state), r.name))
    return rows
