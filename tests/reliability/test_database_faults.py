"""The database unavailable at start, lost mid-run, locked by concurrent writers."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

from pipeline.config.settings import get_settings
from pipeline.stages.ingest import ingest_paths
from pipeline.store import db
from pipeline.store.db import session_scope
from pipeline.store.models import Document, Page
from tests.conftest import FIXTURES
from tests.reliability.helpers import (
    NEWSMON,
    consistency_problems,
    count,
    invoke,
    run_cli,
    start,
    wait_until,
    write_pages,
)

DEMO = FIXTURES / "demo"
SECRET = "pw-" + "9d1f7c"  # built at run time: no password-like literal in the repository


def _bad_url(kind: str, tmp_path: Path) -> str:
    """A database URL that cannot be used, of the given kind."""
    if kind == "postgres-down":
        return f"postgresql://newsmon:{SECRET}@127.0.0.1:9/newsmon"  # port 9: nothing listens
    if kind == "sqlite-not-a-database":
        bad = tmp_path / "corrupt.db"
        bad.write_bytes(b"this is not an SQLite file, whatever its name says\n" * 100)
        return f"sqlite:///{bad}"
    if kind == "sqlite-unwritable-dir":
        blocker = tmp_path / "a-file"
        blocker.write_text("x", encoding="utf-8")
        return f"sqlite:///{blocker / 'sub' / 'newsmon.db'}"  # a file where a folder must be
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["postgres-down", "sqlite-not-a-database", "sqlite-unwritable-dir"]
)
@pytest.mark.parametrize(
    "command", [["ingest", str(DEMO)], ["search", "corridor"], ["db", "upgrade"]]
)
def test_database_unavailable_at_start_is_one_clear_error(
    kind: str,
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NEWSMON_DATABASE_URL", _bad_url(kind, tmp_path))
    get_settings.cache_clear()
    code, out, err = invoke(command, capsys)
    assert code == 2, (out, err)
    assert err.strip().startswith("error: ") and "database" in err
    assert "Traceback" not in err + out
    assert SECRET not in err + out  # the URL is shown with its password masked


@pytest.mark.slow
@pytest.mark.postgres
def test_database_lost_mid_run_fails_cleanly_then_next_run_catches_up(
    pg_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "pages"
    write_pages(folder, 60, seed=11)
    admin_url = pg_url.rsplit("/", 1)[0] + "/postgres"
    name = pg_url.rsplit("/", 1)[1]
    proc = start([*NEWSMON, "ingest", str(folder)])
    wait_until(lambda: count(pg_url, Document) >= 8, timeout=120, proc=proc)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            _out, err = proc.communicate(timeout=120)
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    # The run fails at once and cleanly: exit 2 with one line saying what happened.
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("error: ")]
    assert "database" in line
    db.reset_engines()
    stored = count(pg_url, Document)
    assert 8 <= stored < 60
    assert consistency_problems(pg_url, pages_done=False) == []
    rerun = run_cli("ingest", str(folder))
    assert rerun.returncode == 0, rerun.stderr
    assert count(pg_url, Document) == 60 and count(pg_url, Page) == 60
    assert consistency_problems(pg_url) == []


def test_sqlite_locked_by_another_writer_is_retried(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer holding the lock longer than the busy timeout: with_retries waits it out."""
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 50)
    db.reset_engines()
    path = db_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    released = threading.Event()

    def release_later() -> None:
        time.sleep(0.8)
        holder.execute("COMMIT")
        released.set()

    threading.Thread(target=release_later, daemon=True).start()
    report = ingest_paths([DEMO])
    assert released.is_set()
    assert report.outcomes.get("new", 0) + report.outcomes.get("duplicate", 0) == 7
    holder.close()


def test_without_retries_the_same_lock_fails(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control for the test above: the lock really outlasts the busy timeout."""
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 50)
    db.reset_engines()
    path = db_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(OperationalError, match="locked"), session_scope() as session:
            session.add(Page(url_hash="x" * 64, url="https://x.test/", raw_size=0))
    finally:
        holder.execute("COMMIT")
        holder.close()


@pytest.mark.slow
def test_concurrent_sqlite_writers_store_each_page_once(db_url: str, tmp_path: Path) -> None:
    """Three ingests at once over overlapping pages: all succeed, every page stored once."""
    folder = tmp_path / "all"
    write_pages(folder, 45, seed=21)
    files = sorted(folder.iterdir())
    parts = [files[0:25], files[10:35], files[20:45]]  # each overlaps the next
    dirs = []
    for i, part in enumerate(parts):
        d = tmp_path / f"part{i}"
        d.mkdir()
        for f in part:
            (d / f.name).write_bytes(f.read_bytes())
        dirs.append(d)
    procs = [start([*NEWSMON, "ingest", str(d)]) for d in dirs]
    results = [(p, *p.communicate(timeout=300)) for p in procs]
    for p, _out, err in results:
        assert p.returncode == 0, err
    assert count(db_url, Document) == 45 and count(db_url, Page) == 45
    assert consistency_problems(db_url) == []


def test_a_retried_transaction_counts_its_outcome_once(db_url: str) -> None:
    """The first attempt fails after counting; the retry must not count the page again."""
    import sqlite3 as driver

    from pipeline.store.db import with_retries
    from pipeline.store.runs import RunTally, run_counts, start_run

    with session_scope() as session:
        run_id = start_run(session, "ingest").id
    tally = RunTally(run_id)
    attempts = []

    def one() -> None:
        with tally.attempt(), session_scope() as session:
            tally.add(None, "new")
            attempts.append(1)
            if len(attempts) == 1:
                raise OperationalError(
                    "INSERT ...", {}, driver.OperationalError("database is locked")
                )
            tally.flush(session)

    with_retries(one, delay=0.01)
    assert len(attempts) == 2
    with session_scope() as session:
        assert run_counts(session, run_id) == {(0, "new"): 1}
    assert tally.by_outcome() == {"new": 1}
