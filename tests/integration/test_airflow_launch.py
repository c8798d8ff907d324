"""`newsmon airflow` for real: it starts Airflow's components and stops every one of them.

Each test starts ``newsmon airflow`` on a free port, waits until the api-server's health
endpoint reports every component healthy, records the process tree, stops it one way
(SIGTERM to the launcher, Ctrl-C to its terminal's process group, ``newsmon airflow --stop``
from a second process) and then finds, within 30 s, no recorded process alive, no process in
the components' group or carrying the launch's tag, and the port free.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from pipeline.airflow.env import bin_dir
from pipeline.airflow.launcher import HEALTH_PATH, TAG, Running, read_running

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

STOPPED_WITHIN = 30.0
READY_WITHIN = 300.0
COMPONENTS = ("api_server", "scheduler", "dag-processor", "triggerer", "LocalExecutor")


def free_port() -> int:
    """A port nothing listens on (loopback)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_free(port: int) -> bool:
    """True when a server could listen on 127.0.0.1:port (as uvicorn would: SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def healthy(port: int) -> bool:
    """The api-server answers and reports every component healthy."""
    try:
        url = f"http://127.0.0.1:{port}{HEALTH_PATH}"
        with urllib.request.urlopen(url, timeout=2) as resp:
            report = json.loads(resp.read())
    except (OSError, ValueError):
        return False
    parts = [v for v in report.values() if isinstance(v, dict)]
    return bool(parts) and all(p.get("status") == "healthy" for p in parts)


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One var dir for the module: Airflow's metadata DB is migrated on the first start only."""
    return tmp_path_factory.mktemp("airflow-launch") / "var"


def newsmon_env(var_dir: Path) -> dict[str, str]:
    """The environment of a user's shell: no test settings, this var dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "AIRFLOW"))}
    env["NEWSMON_VAR_DIR"] = str(var_dir)
    return env


def alive(proc: psutil.Process) -> bool:
    """Running and not a zombie (a zombie holds no port and runs nothing)."""
    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def leftovers(running: Running, recorded: list[psutil.Process]) -> list[str]:
    """Processes of the launch still alive: recorded, in its group, or carrying its tag."""
    found = {p.pid: p for p in recorded if alive(p)}
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == running.pgid or proc.environ().get(TAG) == running.tag:
                found[proc.pid] = proc
        except (ProcessLookupError, psutil.Error):
            continue
    return [f"{p.pid} {' '.join(p.cmdline())[:80]}" for p in found.values() if alive(p)]


@dataclass
class Launch:
    """One ``newsmon airflow`` started by a test."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    running: Running
    recorded: list[psutil.Process]

    def output(self) -> str:
        """What the launcher printed."""
        return self.log.read_text(errors="replace")


@pytest.fixture
def launch(var_dir: Path, tmp_path: Path) -> Iterator[Callable[[], Launch]]:
    """Start ``newsmon airflow`` in a session of its own (as a terminal would); clean up after."""
    started: list[Launch] = []

    def start() -> Launch:
        port = free_port()
        log = tmp_path / f"newsmon-airflow-{port}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(bin_dir() / "newsmon"), "airflow", "--port", str(port)],
                env=newsmon_env(var_dir),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + READY_WITHIN
        while not healthy(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                logs = "\n".join(
                    f"--- {f.name}\n{f.read_text(errors='replace')[-3000:]}"
                    for f in sorted((var_dir / "airflow" / "launcher").glob("*.log"))
                )
                pytest.fail(f"not healthy (exit {proc.poll()}):\n{log.read_text()}\n{logs}")
            time.sleep(1)
        # The launcher polls health on its own clock: give it time to say it is ready.
        said = time.monotonic() + 30
        while "Airflow is ready" not in log.read_text(errors="replace"):
            if time.monotonic() > said:
                pytest.fail(f"healthy, but the launcher never said so:\n{log.read_text()}")
            time.sleep(0.5)
        running = read_running(var_dir / "airflow")
        assert running is not None and running.pid == proc.pid
        recorded = psutil.Process(proc.pid).children(recursive=True)
        launched = Launch(proc, port, log, running, recorded)
        started.append(launched)
        return launched

    yield start
    for launched in started:  # a failed test must not leave Airflow running
        if launched.proc.poll() is None:
            launched.proc.kill()
        for proc in launched.recorded:
            if alive(proc):
                proc.kill()
        launched.proc.wait(timeout=10)


def check_started(launched: Launch) -> None:
    """Every component runs, in one process group, listening on loopback only."""
    commands = [" ".join(p.cmdline()) for p in launched.recorded]
    for name in COMPONENTS:
        assert any(name in c for c in commands), (name, commands)
    # A 2-core machine with SQLite gets 2 LocalExecutor workers (`airflow standalone`: 32).
    workers = [c for c in commands if "LocalExecutor" in c]
    assert 1 <= len(workers) <= 2, workers
    groups = {os.getpgid(p.pid) for p in launched.recorded}
    assert groups == {launched.running.pgid} != {os.getpgid(launched.proc.pid)}
    listening = {
        (c.laddr.ip, c.laddr.port)
        for p in launched.recorded
        for c in p.net_connections("tcp")
        if c.status == psutil.CONN_LISTEN
    }
    assert listening == {("127.0.0.1", launched.port)}


def check_stopped(launched: Launch, since: float) -> float:
    """Within 30 s of ``since``: the launcher exited 0, nothing of it is left, the port is free."""
    deadline = since + STOPPED_WITHIN
    while time.monotonic() < deadline:
        if (
            launched.proc.poll() is not None
            and not leftovers(launched.running, launched.recorded)
            and port_free(launched.port)
        ):
            break
        time.sleep(0.5)
    took = time.monotonic() - since
    assert launched.proc.poll() == 0, launched.output()
    assert leftovers(launched.running, launched.recorded) == []
    assert port_free(launched.port)
    assert took < STOPPED_WITHIN, launched.output()
    assert "Airflow stopped" in launched.output()
    print(f"stopped in {took:.1f} s")  # shown with -s: the margin left under 30 s
    return took


def test_sigterm_stops_every_component_and_frees_the_port(
    launch: Callable[[], Launch], var_dir: Path
) -> None:
    launched = launch()
    check_started(launched)
    assert f"http://127.0.0.1:{launched.port}/" in launched.output()
    since = time.monotonic()
    launched.proc.send_signal(signal.SIGTERM)
    check_stopped(launched, since)
    assert read_running(var_dir / "airflow") is None  # the PID file went with it


def test_ctrl_c_stops_every_component(launch: Callable[[], Launch]) -> None:
    launched = launch()
    check_started(launched)
    since = time.monotonic()
    # Ctrl-C: the terminal sends SIGINT to its foreground process group, the launcher's.
    os.killpg(launched.proc.pid, signal.SIGINT)
    check_stopped(launched, since)


def test_stop_from_another_terminal(launch: Callable[[], Launch], var_dir: Path) -> None:
    launched = launch()
    check_started(launched)
    since = time.monotonic()
    stop = subprocess.run(
        [str(bin_dir() / "newsmon"), "airflow", "--stop"],
        env=newsmon_env(var_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stop.returncode == 0, stop.stderr
    assert f"stopping newsmon airflow (pid {launched.proc.pid}" in stop.stderr
    check_stopped(launched, since)
    # Nothing left to stop: says so and succeeds.
    again = subprocess.run(
        [str(bin_dir() / "newsmon"), "airflow", "--stop"],
        env=newsmon_env(var_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0 and "no newsmon airflow is running" in again.stderr
