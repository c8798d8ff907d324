"""Shared fixtures: isolated settings, a fresh SQLite database, a PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config.settings import get_settings
from pipeline.store import db

# Test-only settings live outside the NEWSMON_ namespace: newsmon refuses unknown NEWSMON_* names,
# so exporting one for the tests would break every other command in that shell.
# NEWSMON_TEST_PG_ADMIN is the former name, still read.
PG_ADMIN_URL = (
    os.environ.get("TEST_PG_ADMIN_URL")
    or os.environ.get("NEWSMON_TEST_PG_ADMIN")
    or "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


def missing_service(what: str) -> None:
    """Skip with a visible reason, or fail under CI where every service must exist."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI (CI=true) but is not available")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session")
def _shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the whole session: the uncompressed language model is written once,
    not by every test's (and every test subprocess's) fresh var dir."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _shared_cache: Path
) -> Iterator[None]:
    """Each test gets its own var dir and SQLite database unless it asks for another."""
    for key in list(os.environ):
        if key.startswith("NEWSMON_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("NEWSMON_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("NEWSMON_CACHE_DIR", str(_shared_cache))
    monkeypatch.setenv("NEWSMON_MODE", "test")
    get_settings.cache_clear()
    db.reset_engines()
    yield
    get_settings.cache_clear()
    db.reset_engines()


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite database with the schema applied, set as NEWSMON_DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'test.db'}"
    monkeypatch.setenv("NEWSMON_DATABASE_URL", url)
    get_settings.cache_clear()
    db.ensure_schema(url)
    return url


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A database made for this test session on the local PostgreSQL server, dropped at the end."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:
        missing_service(f"PostgreSQL at {PG_ADMIN_URL} ({exc.__class__.__name__})")
        raise AssertionError("unreachable") from exc
    name = f"newsmon_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        db.reset_engines()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_url(pg_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The session's PostgreSQL database, emptied and migrated for this test."""
    import psycopg

    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    db.reset_engines()
    monkeypatch.setenv("NEWSMON_DATABASE_URL", pg_server)
    get_settings.cache_clear()
    db.ensure_schema(pg_server)
    yield pg_server
    db.reset_engines()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_url(request: pytest.FixtureRequest) -> str:
    """Run a test on SQLite and on PostgreSQL."""
    name = "db_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))
