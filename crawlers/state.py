"""The crawl process's database reads and writes, apart from recording pages.

The spiders never open sessions: :mod:`crawlers.extensions` loads and saves source rows and
crawl state through these functions, and the spiders' "already stored?" and re-check queries
run here on top of the store layer (:mod:`pipeline.store.pages`). Each function is one short
transaction, retried on a locked SQLite database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.config.sources import SourceConfig, SourcesFile
from pipeline.store.crawlstate import states_for, upsert_state
from pipeline.store.db import session_scope, with_retries
from pipeline.store.pages import NO_WINDOW, Window, known_urls, recheck_candidates
from pipeline.store.sources import sync_sources

# What the spiders read of a stored crawl_state row (plain values, no live ORM rows).
StoredState = dict[str, dict[str, Any]]


@dataclass
class KeyState:
    """What one discovery URL did in this run (written to ``crawl_state`` on close)."""

    method: str
    etag: str | None = None
    last_modified: str | None = None
    high_water: datetime | None = None
    last_success_at: datetime | None = None
    status: int | None = None
    error: str | None = None
    ok: bool = False
    failed: bool = False  # some page of this key failed: not a success even if others worked
    newest: datetime | None = None
    validators: dict[str, str] = field(default_factory=dict)
    touched: bool = False


def load_source_state(cfg: SourceConfig) -> tuple[int, StoredState]:
    """Upsert the source row and read its crawl state."""

    def load() -> tuple[int, StoredState]:
        with session_scope() as session:
            row = sync_sources(session, SourcesFile(sources=[cfg]))[cfg.name]
            states = {
                key: {
                    "etag": s.etag,
                    "last_modified": s.last_modified,
                    "high_water": s.high_water,
                    "last_success_at": s.last_success_at,
                }
                for key, s in states_for(session, row.id).items()
            }
            return row.id, states

    return with_retries(load)


def key_values(
    st: KeyState,
    old: Mapping[str, Any],
    *,
    started: datetime,
    reason: str,
    explicit_until: bool,
) -> dict[str, Any]:
    """The ``crawl_state`` columns to write for one touched key at the end of a run."""
    ok = st.ok and not st.failed
    values: dict[str, Any] = {
        "last_attempt_at": started,
        "last_status": st.status,
        "last_error": None if ok else (st.error or f"spider closed: {reason}"),
    }
    if ok:
        if st.etag or st.last_modified:
            values["etag"] = st.etag
            values["last_modified"] = st.last_modified
        hwm = old.get("high_water")
        if st.newest and (hwm is None or st.newest > hwm):
            values["high_water"] = st.newest
        # A window ending in the past does not cover what came after it.
        if not explicit_until:
            values["last_success_at"] = started
    return values


def save_key_states(
    source_id: int,
    keys: Mapping[str, KeyState],
    stored: StoredState,
    *,
    started: datetime,
    reason: str,
    explicit_until: bool,
) -> int:
    """Write the state of every key touched in this run; returns how many rows were written."""
    touched = {k: st for k, st in keys.items() if st.touched}

    def save() -> None:
        with session_scope() as session:
            for key, st in touched.items():
                values = key_values(
                    st,
                    stored.get(key, {}),
                    started=started,
                    reason=reason,
                    explicit_until=explicit_until,
                )
                upsert_state(session, source_id, key, st.method, **values)

    with_retries(save)
    return len(touched)


def known_pages(urls: Iterable[str], window: Window = NO_WINDOW) -> dict[str, datetime | None]:
    """URLs already stored -> when their page was fetched (see ``known_urls``)."""
    wanted = list(urls)

    def query() -> dict[str, datetime | None]:
        with session_scope() as session:
            return known_urls(session, wanted, window=window)

    return with_retries(query)


def pages_to_recheck(
    source_id: int, *, published_since: datetime, fetched_before: datetime, limit: int
) -> list[tuple[str, str | None, str | None]]:
    """(url, etag, last_modified) of the source's recent documents to fetch conditionally."""

    def query() -> list[tuple[str, str | None, str | None]]:
        with session_scope() as session:
            return recheck_candidates(
                session,
                source_id,
                published_since=published_since,
                fetched_before=fetched_before,
                limit=limit,
            )

    return with_retries(query)
