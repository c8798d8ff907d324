"""The Airflow adapter (pipeline.airflow): task error translation and `newsmon airflow`."""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil
import pytest

from pipeline.airflow import launcher, procs
from pipeline.airflow.env import AirflowError, airflow_home
from pipeline.errors import (
    ConfigError,
    CrawlFailed,
    DatabaseUnavailable,
    InputError,
    NewsmonError,
    SeedError,
)
from tests.integration.test_alerts_smtp import free_port


@pytest.fixture
def tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``pipeline.airflow.tasks``, Airflow configured under a temp home if this imports it first."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    return importlib.import_module("pipeline.airflow.tasks")


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("NEWSMON_MODE='prod': expected production, test or demo"),
        InputError("unknown or disabled source(s) no-such-site"),
        SeedError("seeds/sources.yaml", 12, "crawl.method", "unknown method 'ftp'"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_permanent_errors_fail_the_task_without_retries(
    tasks: ModuleType, error: NewsmonError
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException) as caught, tasks.fail_fast():
        raise error
    # Airflow shows this message in the task log: newsmon's own, with what it was.
    assert str(caught.value) == f"{type(error).__name__}: {error}"
    assert caught.value.__cause__ is error


@pytest.mark.parametrize(
    "error",
    [CrawlFailed("crawl of tass failed (exit 1)"), DatabaseUnavailable("database is locked")],
    ids=lambda e: type(e).__name__,
)
def test_errors_a_retry_may_fix_are_left_to_the_retries(
    tasks: ModuleType, error: NewsmonError
) -> None:
    with pytest.raises(type(error)) as caught, tasks.fail_fast():
        raise error
    assert caught.value is error


def test_fail_fast_lets_a_result_through(tasks: ModuleType) -> None:
    with tasks.fail_fast():
        got = {"fetched": 3}
    assert got == {"fetched": 3}


def test_report_fails_the_run_naming_the_failed_steps(tasks: ModuleType) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    tasks.fail_if_steps_failed({"failed": []})
    with pytest.raises(AirflowFailException, match="failed steps: crawl:tass, alert"):
        tasks.fail_if_steps_failed({"failed": ["crawl:tass", "alert"]})


class Exec(Exception):
    """Raised instead of replacing the test process."""


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """What the launcher did, in order: migrations and the exec it would have made."""
    calls: list[tuple[str, Any]] = []

    def migrate(env: dict[str, str], *, force: bool = False) -> bool:
        calls.append(("migrate", env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))
        return True

    def execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        calls.append(("exec", (path, argv, env)))
        raise Exec

    monkeypatch.setattr(launcher, "migrate", migrate)
    monkeypatch.setattr(launcher.os, "execve", execve)
    return calls


def test_launch_with_args_runs_that_airflow_command_after_migrating(
    launched: list[tuple[str, Any]],
) -> None:
    said: list[str] = []
    with pytest.raises(Exec):
        launcher.launch(["dags", "unpause", "news_monitor"], port=8123, say=said.append)
    assert [c[0] for c in launched] == ["migrate", "exec"]
    path, argv, env = launched[1][1]
    assert argv == [path, "dags", "unpause", "news_monitor"] and path.endswith("/airflow")
    assert env["AIRFLOW__API__PORT"] == "8123"
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"  # loopback unless --host says otherwise
    assert said == []  # an Airflow command's own output is all the user sees


def test_launch_refuses_a_port_in_use_before_touching_anything(
    launched: list[tuple[str, Any]],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(AirflowError, match=rf"127\.0\.0\.1:{port}.*newsmon airflow --stop"):
            launcher.launch([], port=port, say=lambda _: None)
    assert launched == []  # no migration, no component started


def write_pid_file(home: Path, *, pid: int, created: float, tag: str = "t") -> None:
    """A PID file as a running launcher writes it."""
    home.mkdir(parents=True, exist_ok=True)
    record = launcher.Running(pid, created, pid, tag, "http://127.0.0.1:1")
    launcher.pid_file(home).write_text(json.dumps(asdict(record)))


def test_launch_refuses_to_start_twice(launched: list[tuple[str, Any]]) -> None:
    home = airflow_home()
    me = psutil.Process()
    write_pid_file(home, pid=me.pid, created=me.create_time())
    with pytest.raises(AirflowError, match=rf"already running here \(pid {me.pid}.*--stop"):
        launcher.launch([], port=free_port(), say=lambda _: None)
    assert launched == []


def test_a_stale_pid_file_does_not_count_as_running() -> None:
    home = airflow_home()
    me = psutil.Process()
    write_pid_file(home, pid=me.pid, created=me.create_time() - 3600)  # pid reused since
    running = launcher.read_running(home)
    assert running is not None and not running.alive()
    launcher.pid_file(home).write_text("{not json")
    with pytest.raises(AirflowError, match="not a newsmon airflow PID file"):
        launcher.read_running(home)


def test_stop_with_nothing_running_says_so() -> None:
    said: list[str] = []
    assert launcher.stop_running(say=said.append) == 0
    assert said == [f"no newsmon airflow is running here (no {launcher.pid_file(airflow_home())})"]


# A component that starts a task in a process group of its own (as Airflow's task runner does);
# the task ignores SIGTERM, like the LocalExecutor workers `airflow standalone` left behind.
TREE = """
import os, signal, subprocess, sys, time
if sys.argv[1] == "component":
    subprocess.Popen([sys.executable, "-c", sys.argv[2], "task", sys.argv[3]], process_group=0)
else:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    open(sys.argv[2], "w").close()
time.sleep(120)
"""


def start_tree(tmp_path: Path, tag: str) -> tuple[subprocess.Popen[bytes], Path]:
    """A tagged component (a group of its own) and its stubborn task; waits for the task."""
    ready = tmp_path / "task-ready"
    component = subprocess.Popen(
        [sys.executable, "-c", TREE, "component", TREE, str(ready)],
        env={**os.environ, launcher.TAG: tag},
        process_group=0,
    )
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert time.monotonic() < deadline, "the task did not start"
        time.sleep(0.05)
    return component, ready


def live(tag: str) -> list[psutil.Process]:
    """The tagged processes still alive."""
    return procs.launch_members(launcher.TAG, tag, root=None)


@pytest.fixture
def tag() -> Iterator[str]:
    """A launch tag of this test's own; what still carries it afterwards is killed."""
    value = f"test-{os.getpid()}-{time.monotonic_ns()}"
    yield value
    for proc in live(value):
        proc.kill()


def test_terminate_kills_what_ignores_sigterm_outside_the_group(tmp_path: Path, tag: str) -> None:
    component, _ = start_tree(tmp_path, tag)
    found = live(tag)
    assert len(found) == 2
    task = next(p for p in found if p.pid != component.pid)
    assert os.getpgid(task.pid) != os.getpgid(component.pid) == component.pid

    started = time.monotonic()
    killed, left = procs.terminate(
        lambda: live(tag), pgid=component.pid, grace=1.0, kill_wait=5.0, tick=component.poll
    )
    assert left == [] and live(tag) == []
    # The component obeyed SIGTERM; the task in its own group had to be killed.
    assert component.returncode == -signal.SIGTERM
    assert [k.split()[0] for k in killed] == [str(task.pid)]
    assert time.monotonic() - started < 5


def test_stop_cleans_up_after_a_launcher_that_was_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tag: str
) -> None:
    monkeypatch.setattr(launcher, "STOP_GRACE", 1.0)
    component, _ = start_tree(tmp_path, tag)
    home = airflow_home()
    # The launcher's own pid is gone (this process's pid, but started an hour "earlier").
    me = psutil.Process()
    write_pid_file(home, pid=me.pid, created=me.create_time() - 3600, tag=tag)
    said: list[str] = []
    assert launcher.stop_running(say=said.append) == 0
    component.wait(timeout=5)
    assert live(tag) == []
    assert not launcher.pid_file(home).exists()
    assert said[-1] == "stopped" and "killed after the grace period" in said[-2]
