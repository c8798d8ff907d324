"""Migrations are the schema: they apply on SQLite and PostgreSQL and are idempotent."""

from __future__ import annotations

from sqlalchemy import inspect, text

from pipeline.store import db

EXPECTED = {
    "sources",
    "pages",
    "documents",
    "clusters",
    "lsh_bands",
    "topics",
    "matches",
    "runs",
    "run_counts",
}


def test_upgrade_creates_schema_and_is_idempotent(any_db_url: str) -> None:
    db.upgrade(any_db_url)  # a second upgrade is a no-op
    engine = db.get_engine(any_db_url)
    names = set(inspect(engine).get_table_names())
    assert names >= EXPECTED
    uniques = {
        tuple(u["column_names"]) for u in inspect(engine).get_unique_constraints("documents")
    }
    indexes = {
        tuple(i["column_names"]): i["unique"] for i in inspect(engine).get_indexes("documents")
    }
    assert ("url_hash",) in uniques or indexes.get(("url_hash",)) is True
    assert ("content_hash",) in indexes and not indexes[("content_hash",)]  # indexed, not unique
    assert db.current_revision(any_db_url) is not None


def test_sqlite_pragmas(db_url: str) -> None:
    with db.get_engine(db_url).connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_unreachable_database_is_a_clear_error() -> None:
    import pytest

    from pipeline.errors import DatabaseUnavailable

    with pytest.raises(DatabaseUnavailable, match="NEWSMON_DATABASE_URL"):
        db.upgrade("postgresql://nobody@127.0.0.1:1/none")
