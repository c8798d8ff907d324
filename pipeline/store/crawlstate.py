"""Per-source crawl state, kept in the database so it is visible and resettable.

One row per (source, key). The key is a discovery URL (a feed, sitemap or first listing
page) and holds that URL's conditional-GET validators (ETag / Last-Modified), its
high-water mark (the newest item date seen there) and when it last succeeded. The row
with key ``""`` is the source itself: when its last whole crawl succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from pipeline.store.models import CrawlState, Source, utcnow

SOURCE_KEY = ""  # the row describing the whole source


@dataclass(frozen=True)
class StateView:
    """A detached copy of one state row (safe to pass across processes and sessions)."""

    source: str
    key: str
    method: str
    etag: str | None
    last_modified: str | None
    high_water: datetime | None
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None


def upsert_state(session: Session, source_id: int, key: str, method: str, **values: Any) -> None:
    """Insert or update one state row; only the given columns change (idempotent)."""
    allowed = {
        "etag",
        "last_modified",
        "high_water",
        "last_success_at",
        "last_attempt_at",
        "last_status",
        "last_error",
    }
    unknown = set(values) - allowed
    if unknown:
        raise TypeError(f"unknown crawl_state columns: {sorted(unknown)}")
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    row = {"source_id": source_id, "key": key, "method": method, "updated_at": utcnow(), **values}
    stmt = insert(CrawlState).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=["source_id", "key"],
        set_={"method": method, "updated_at": row["updated_at"], **values},
    )
    session.execute(stmt)


def states_for(session: Session, source_id: int) -> dict[str, CrawlState]:
    """Every state row of one source, by key."""
    rows = session.scalars(select(CrawlState).where(CrawlState.source_id == source_id))
    return {r.key: r for r in rows}


def list_states(session: Session, name: str | None = None) -> list[StateView]:
    """State rows (of one source, or all), ordered by source and key."""
    q = select(Source.name, CrawlState).join(Source, Source.id == CrawlState.source_id)
    if name is not None:
        q = q.where(Source.name == name)
    out = []
    for src, st in session.execute(q.order_by(Source.name, CrawlState.key)):
        out.append(
            StateView(
                source=src,
                key=st.key,
                method=st.method,
                etag=st.etag,
                last_modified=st.last_modified,
                high_water=st.high_water,
                last_success_at=st.last_success_at,
                last_attempt_at=st.last_attempt_at,
                last_status=st.last_status,
                last_error=st.last_error,
            )
        )
    return out


def reset_state(session: Session, source_id: int) -> int:
    """Forget everything about a source's crawling; returns the rows deleted."""
    result = session.execute(delete(CrawlState).where(CrawlState.source_id == source_id))
    return int(getattr(result, "rowcount", 0) or 0)
