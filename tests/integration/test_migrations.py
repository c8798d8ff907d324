"""Migrations are the schema: they apply on SQLite and PostgreSQL and are idempotent."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, inspect, text

from pipeline.store import db
from pipeline.store.models import COMPARE_OPTIONS, Base

EXPECTED = {
    "sources",
    "pages",
    "documents",
    "clusters",
    "lsh_bands",
    "topics",
    "matches",
    "judgements",
    "xl_bands",
    "runs",
    "run_counts",
    "crawl_state",
    "alerts",
    "alert_mutes",
    "operator_alerts",
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


def _differences(url: str, metadata: MetaData) -> list[object]:
    """What Alembic autogenerate would change to make the database match ``metadata``."""
    with db.get_engine(url).connect() as conn:
        context = MigrationContext.configure(conn, opts=COMPARE_OPTIONS)
        return list(compare_metadata(context, metadata))


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_migrations_match_the_models(backend: str, request: pytest.FixtureRequest) -> None:
    # The fixtures migrate an empty database with db.upgrade (through ensure_schema).
    url = str(request.getfixturevalue("db_url" if backend == "sqlite" else "pg_url"))
    assert set(Base.metadata.tables) == EXPECTED  # every model lives in pipeline.store.models
    assert _differences(url, Base.metadata) == []
    # The comparison does see drift: a column the migrations lack is reported.
    drifted = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["alerts"].append_column(Column("drift", Integer))
    assert [d[0] for d in _differences(url, drifted)] == ["add_column"]


def test_migrations_have_one_head() -> None:
    script = ScriptDirectory(str(db.MIGRATIONS_DIR))
    assert len(script.get_heads()) == 1
