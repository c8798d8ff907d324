"""Runs end: a run whose process died is marked ``died`` by the next run; ``newsmon runs``.

A run records host, PID and a heartbeat. When a run starts, the ``running`` runs of this host
whose process is gone (or whose PID a newer process reuses), and those of other hosts silent for
longer than the heartbeat limit, become ``died``; live ones are left alone.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta

import pytest

from pipeline.errors import Outcome
from pipeline.store.db import session_scope
from pipeline.store.models import Run, utcnow
from pipeline.store.runs import HEARTBEAT_LIMIT, RunTally, finish_run, start_run, this_host
from tests.reliability.helpers import child_env, invoke, kill_group, start

# A process that starts a run, says so, and works until it is killed.
CHILD = """
import sys, time
from pipeline.store.db import session_scope
from pipeline.store.runs import start_run
with session_scope() as session:
    run_id = start_run(session, "ingest", {"child": True}).id
print(run_id, flush=True)
time.sleep(600)
"""


def _run(run_id: int) -> Run:
    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None
        return run


@pytest.fixture(
    params=[
        pytest.param("db_url", id="sqlite"),
        pytest.param("pg_url", id="postgres", marks=pytest.mark.postgres),
    ]
)
def database(request: pytest.FixtureRequest) -> str:
    """The test runs on SQLite and on PostgreSQL (marked ``postgres``)."""
    return str(request.getfixturevalue(request.param))


def test_run_killed_with_sigkill_is_died_after_the_next_run_starts(database: str) -> None:
    proc = start([sys.executable, "-c", CHILD], env=child_env())
    assert proc.stdout is not None
    run_id = int(proc.stdout.readline())
    killed = _run(run_id)
    assert killed.status == "running"
    assert killed.pid == proc.pid and killed.host == this_host()
    kill_group(proc)
    assert proc.returncode == -9
    assert _run(run_id).status == "running"  # nothing can mark it at the moment of the kill

    with session_scope() as session:
        next_id = start_run(session, "process").id
    died = _run(run_id)
    assert died.status == "died"
    assert f"process {proc.pid}" in (died.error or "")
    assert died.finished_at is not None
    assert _run(next_id).status == "running"  # the new run itself is alive


def test_live_runs_are_left_running(db_url: str) -> None:
    """Controls: a live process on this host, however quiet; another host heard from lately."""
    long_ago = utcnow() - 2 * HEARTBEAT_LIMIT
    with session_scope() as session:
        mine = start_run(session, "crawl")
        mine.heartbeat_at = long_ago  # quiet, but its process (this one) is alive
        other = Run(
            kind="crawl",
            status="running",
            params={},
            started_at=long_ago,
            heartbeat_at=utcnow() - HEARTBEAT_LIMIT / 2,
            host="worker-2.example",
            pid=4242,
        )
        session.add(other)
        session.flush()
        ids = (mine.id, other.id)
    with session_scope() as session:
        start_run(session, "process")
    assert [_run(i).status for i in ids] == ["running", "running"]


def test_silent_run_of_another_host_and_reused_pid_are_died(db_url: str) -> None:
    now = utcnow()
    with session_scope() as session:
        silent = Run(
            kind="crawl",
            status="running",
            params={},
            started_at=now - 2 * HEARTBEAT_LIMIT,
            heartbeat_at=now - HEARTBEAT_LIMIT - timedelta(minutes=5),
            host="worker-2.example",
            pid=4242,
        )
        # This test's own PID, but recorded by a run that started before this process did:
        # the PID was reused, the run's process is gone.
        reused = Run(
            kind="ingest",
            status="running",
            params={},
            started_at=now - timedelta(days=30),
            host=this_host(),
            pid=os.getpid(),
        )
        legacy = Run(  # from before runs recorded a host: judged by its age
            kind="alerts", status="running", params={}, started_at=now - 2 * HEARTBEAT_LIMIT
        )
        session.add_all([silent, reused, legacy])
        session.flush()
        ids = (silent.id, reused.id, legacy.id)
    with session_scope() as session:
        start_run(session, "process")
    runs = [_run(i) for i in ids]
    assert [r.status for r in runs] == ["died", "died", "died"]
    assert "worker-2.example" in (runs[0].error or "") and "no sign of life" in (
        runs[0].error or ""
    )


def test_flush_beats_the_heart_and_finish_wins_over_died(db_url: str) -> None:
    with session_scope() as session:
        run_id = start_run(session, "process").id
        session.get(Run, run_id).status = "died"  # type: ignore[union-attr]
    before = _run(run_id).heartbeat_at
    assert before is not None
    tally = RunTally(run_id, last_beat=time.monotonic() - 3600)
    tally.add(None, Outcome.NEW)
    time.sleep(0.01)
    with session_scope() as session:
        tally.flush(session)
    beat = _run(run_id).heartbeat_at
    assert beat is not None and beat > before
    with session_scope() as session:  # judged dead, yet it finished: its status is the truth
        finish_run(session, run_id, status="ok")
    assert _run(run_id).status == "ok"


def test_runs_command_lists_recent_runs(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with session_scope() as session:
        crawl_id = start_run(session, "crawl").id
        tally = RunTally(crawl_id)
        tally.add(None, Outcome.RECORDED, 5)
        tally.add(None, Outcome.HTTP_ERROR, 2)
        tally.flush(session)
        finish_run(session, crawl_id, status="partial")
        process_id = start_run(session, "process").id

    code, out, err = invoke(["runs", "--json"], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["id"], r["kind"], r["status"]) for r in rows] == [
        (process_id, "process", "running"),
        (crawl_id, "crawl", "partial"),
    ]
    assert rows[1]["counts"] == {"http_error": 2, "recorded": 5}
    assert rows[1]["finished_at"] is not None and rows[0]["finished_at"] is None
    assert rows[0]["host"] == this_host() and rows[0]["pid"] == os.getpid()

    code, out, _ = invoke(["runs", "--kind", "crawl", "--limit", "1"], capsys)
    assert code == 0
    assert "crawl" in out and "partial" in out and "recorded 5" in out
    assert "process" not in out

    code, out, _ = invoke(["runs", "--kind", "prune"], capsys)
    assert code == 0 and "no runs of kind 'prune' (kinds recorded: crawl, process)" in out

    code, _, err = invoke(["runs", "--kind", "Crawl; DROP"], capsys)
    assert code == 2 and "--kind" in err
