"""The scale-out configuration for real: Airflow with the CeleryExecutor on PostgreSQL and Redis.

Starts the scheduler, dag-processor, api-server and one Celery worker as subprocesses (what
docker-compose.yml runs as containers), with the machine's PostgreSQL as Airflow's metadata DB,
the Celery result backend and newsmon's database, and the machine's Redis as the broker. Then:

1. triggers ``news_monitor`` over the replica sites and waits for it: the stored result equals
   what ``newsmon demo`` stores from the same replica;
2. runs ``airflow backfill create`` over three past days: exactly those days' windows are crawled
   and every document the backfill adds was published inside them.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.airflow.env import (
    airflow_cmd,
    airflow_env,
    bin_dir,
    celery_env,
    postgres_metadata_urls,
)
from pipeline.config.settings import get_settings
from pipeline.devtools.demo import MailSink
from pipeline.store import db
from tests.conftest import PG_ADMIN_URL, missing_service

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(3600)]

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
COMPONENTS = {
    "api-server": ["api-server"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "worker": ["celery", "worker", "--concurrency", "2"],
}
COMPARED_KEYS = ("documents", "stories", "matches")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_pytest() -> None:
    """In the child before exec: SIGTERM when pytest dies, even killed (teardown never runs then),
    so an interrupted run leaves no Airflow component or Celery worker behind (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check: Callable[[], Any], *, timeout: float, what: str, logs: Path) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming the logs to read."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(2)
    tails = []
    for log in sorted(logs.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-25:]
        tails.append(f"--- {log.name}\n" + "\n".join(lines))
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n" + "\n".join(tails))


class Cluster:
    """Airflow components as subprocesses sharing one environment."""

    def __init__(self, env: dict[str, str], logs: Path, meta_dsn: str) -> None:
        self.env, self.logs, self.meta_dsn = env, logs, meta_dsn
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        """Start every component in its own process group (so teardown reaches its children)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        for name, args in COMPONENTS.items():
            with (self.logs / f"{name}.log").open("wb") as out:
                self.procs[name] = subprocess.Popen(
                    airflow_cmd(*args),
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_pytest,  # only a prctl call: safe between fork and exec
                )

    def stop(self) -> None:
        """SIGTERM each process group we started, then SIGKILL what is left."""
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def check_alive(self) -> None:
        """Fail at once when a component died."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = (self.logs / f"{name}.log").read_text(errors="replace")
                pytest.fail(f"{name} exited with {proc.returncode}:\n{log[-4000:]}")

    def airflow(self, *args: str) -> str:
        """Run an ``airflow`` CLI command against the cluster; its stdout."""
        proc = subprocess.run(
            airflow_cmd(*args), env=self.env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, f"airflow {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """Rows from the metadata database."""
        import psycopg

        with psycopg.connect(self.meta_dsn, autocommit=True) as conn:
            return list(conn.execute(sql, params).fetchall())

    def runs(self, dag_id: str) -> list[tuple[str, str, str, datetime | None, datetime | None]]:
        """(run_id, run_type, state, data_interval_start, data_interval_end) of a DAG's runs."""
        rows = self.query(
            "SELECT run_id, run_type, state, data_interval_start, data_interval_end "
            "FROM dag_run WHERE dag_id = %s ORDER BY id",
            dag_id,
        )
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def wait_runs_done(self, dag_id: str, run_type: str | None, count: int, timeout: float) -> list:
        """Wait until ``count`` runs (of a type) exist and none is queued or running."""

        def done() -> list | None:
            self.check_alive()
            runs = [r for r in self.runs(dag_id) if run_type is None or r[1] == run_type]
            if len(runs) >= count and all(r[2] in {"success", "failed"} for r in runs):
                return runs
            return None

        return wait_for(done, timeout=timeout, what=f"{count} {run_type} run(s)", logs=self.logs)


@pytest.fixture
def metadata_db() -> Iterator[str]:
    """A fresh PostgreSQL database for Airflow's metadata, dropped afterwards."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:
        missing_service(f"PostgreSQL at {PG_ADMIN_URL} ({exc.__class__.__name__})")
        raise AssertionError("unreachable") from exc
    name = f"newsmon_airflow_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def redis_url() -> str:
    """A Redis database of its own for the Celery broker (flushed first)."""
    try:
        import redis

        index = 8 + os.getpid() % 8
        client = redis.Redis.from_url(f"{REDIS_URL}/{index}", socket_connect_timeout=3)
        client.flushdb()
    except Exception as exc:
        missing_service(f"Redis at {REDIS_URL} ({exc.__class__.__name__})")
        raise AssertionError("unreachable") from exc
    return f"{REDIS_URL}/{index}"


def demo_result(tmp_path: Path) -> dict[str, Any]:
    """What ``newsmon demo --json`` stores from the replica (its own var dir and SQLite DB)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "AIRFLOW"))}
    env["NEWSMON_VAR_DIR"] = str(tmp_path / "demo-var")
    proc = subprocess.run(
        [str(bin_dir() / "newsmon"), "demo", "--json", "--replica-port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def stored_result() -> dict[str, Any]:
    """The demo's summary keys, computed on the configured (PostgreSQL) database."""
    from pipeline.stages.report import totals

    with db.session_scope() as session:
        return totals(session)


def day_start(day: date) -> datetime:
    """Midnight UTC of a day (the test schedules the DAG at hour 0, so intervals are days)."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def test_news_monitor_and_backfill_on_celery(
    tmp_path: Path, pg_url: str, metadata_db: str, redis_url: str
) -> None:
    expected = demo_result(tmp_path)
    from pipeline.config.sources import load_sources
    from pipeline.devtools.replay import start_replay
    from pipeline.store.models import Document, Run

    port = free_port()
    sync_url, async_url = postgres_metadata_urls(metadata_db)
    with start_replay(port=0) as replay, MailSink(tmp_path / "outbox") as sink:
        sources_file = replay.write_sources(tmp_path / "sources.yaml")
        env = airflow_env(port=port, home=tmp_path / "airflow", metadata_url=sync_url)
        env = celery_env(
            env,
            broker_url=redis_url,
            result_backend=f"db+{sync_url}",
            async_metadata_url=async_url,
        )
        env.update(
            {
                "NEWSMON_MODE": "test",
                "NEWSMON_SOURCES_FILE": str(sources_file),
                "NEWSMON_DATABASE_URL": pg_url,
                "NEWSMON_DAILY_HOUR": "0",
                "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(
                    {
                        "conn_type": "smtp",
                        "host": "127.0.0.1",
                        "port": sink.port,
                        "extra": {"disable_ssl": True, "disable_tls": True},
                    }
                ),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                # The worker's log server: a free port, not 8793 (a local `make airflow`).
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            }
        )
        env.pop("NEWSMON_SMTP_URL", None)
        subprocess.run(airflow_cmd("db", "migrate"), env=env, check=True, capture_output=True)
        cluster = Cluster(env, tmp_path / "logs", metadata_db)
        cluster.start()
        try:
            wait_for(
                lambda: (
                    cluster.check_alive()
                    or cluster.query("SELECT 1 FROM dag WHERE dag_id = 'news_monitor'")
                ),
                timeout=300,
                what="the dag-processor to store news_monitor",
                logs=cluster.logs,
            )
            # 1. the daily DAG, triggered by hand, then unpaused (the scheduler may add the
            # latest scheduled interval too; max_active_runs=1 runs them one after the other).
            cluster.airflow("dags", "trigger", "news_monitor")
            cluster.airflow("dags", "unpause", "news_monitor")
            runs = cluster.wait_runs_done("news_monitor", None, 1, timeout=1800)
            assert all(r[2] == "success" for r in runs), runs
            got = stored_result()
            assert {k: got[k] for k in COMPARED_KEYS} == {k: expected[k] for k in COMPARED_KEYS}
            # Documents folded into another's story: counted as documents minus stories, since
            # which copy carries duplicate_of_id depends on the order the copies arrived in.
            assert got["documents"] - got["stories"] == expected["documents"] - expected["stories"]
            assert (len(sink.received) > 0) == (expected["emails_sent"] > 0)

            # 2. a backfill over three past days: exactly their windows are crawled.
            get_settings.cache_clear()
            with db.session_scope() as session:
                before_run = max(r.id for r in session.query(Run))
                before_docs = {d.id for d in session.query(Document)}
            today = datetime.now(UTC).date()
            days = [today - timedelta(days=n) for n in (12, 11, 10)]
            # (The DAG stays unpaused: the scheduler does not run a paused DAG's backfill runs.
            # The next scheduled run is tomorrow's, so none starts in between.)
            dry = cluster.airflow(
                "backfill", "create", "--dag-id", "news_monitor",
                "--from-date", days[0].isoformat(), "--to-date", days[-1].isoformat(),
                "--dry-run",
            )  # fmt: skip
            # The dry run lists the logical dates: each run's data interval start, i.e. the day.
            assert all(d.isoformat() in dry for d in days), dry
            assert (days[-1] + timedelta(days=1)).isoformat() not in dry, dry
            cluster.airflow(
                "backfill", "create", "--dag-id", "news_monitor",
                "--from-date", days[0].isoformat(), "--to-date", days[-1].isoformat(),
                "--max-active-runs", "3", "--reprocess-behavior", "none",
            )  # fmt: skip
            backfills = cluster.wait_runs_done("news_monitor", "backfill", 3, timeout=2400)
            assert all(r[2] == "success" for r in backfills), backfills
            windows = {(day_start(d), day_start(d) + timedelta(days=1)) for d in days}
            assert {(r[3], r[4]) for r in backfills} == windows

            with db.session_scope() as session:
                crawls = [
                    r for r in session.query(Run).where(Run.id > before_run, Run.kind == "crawl")
                ]
                added = [d for d in session.query(Document) if d.id not in before_docs]
            crawled: dict[tuple[datetime, datetime], set[str]] = {}
            for r in crawls:
                window = (
                    datetime.fromisoformat(r.params["since"]),
                    datetime.fromisoformat(r.params["until"]),
                )
                crawled.setdefault(window, set()).update(r.params["sources"])
            sources = {s.name for s in load_sources(sources_file).sources if s.crawl.enabled}
            assert crawled == {w: sources for w in windows}, crawled
            assert added, "the backfill stored nothing from the replica's archives"
            lo, hi = day_start(days[0]), day_start(days[-1]) + timedelta(days=1)
            outside = [
                (d.url, d.published_at)
                for d in added
                if d.published_at is None or not lo <= d.published_at < hi
            ]
            assert not outside, outside
        finally:
            cluster.stop()
