"""``newsmon airflow``: Airflow's components under one supervisor that stops all of them.

``airflow standalone`` does not stop reliably: its LocalExecutor workers outlive a SIGTERM and
keep the port, and a Ctrl-C leaves it waiting on zombies. So this process is the supervisor. It
starts the api-server, scheduler, dag-processor and triggerer in one process group of their own
(the terminal's Ctrl-C reaches only the supervisor, which then stops them), marks their
environment with a launch tag that everything they start inherits, and on Ctrl-C, SIGTERM, a
hang-up or ``newsmon airflow --stop`` sends SIGTERM to the group and to every other tagged or
descendant process (a task runs in a process group of its own), then SIGKILL to whatever is
left after a grace period. ``newsmon airflow ARGS...`` instead becomes that ``airflow`` command
(``os.execve``), so its output and exit status are Airflow's own.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import NoReturn

import psutil

from pipeline.airflow.env import (
    ADMIN_USER,
    DEFAULT_HOST,
    DEFAULT_PORT,
    PASSWORDS_FILE,
    AirflowError,
    airflow_cmd,
    airflow_env,
    airflow_home,
    client_host,
    migrate,
)
from pipeline.airflow.procs import become_subreaper, check_port_free, launch_members, terminate

# What ``airflow standalone`` runs, as separate commands. Task logs are read from
# AIRFLOW_HOME/logs on this machine, so the log servers are skipped: they would listen on every
# interface (their address is not configurable) on fixed ports.
COMPONENTS: dict[str, tuple[str, ...]] = {
    "api-server": ("api-server",),
    "scheduler": ("scheduler", "--skip-serve-logs"),
    "dag-processor": ("dag-processor",),
    "triggerer": ("triggerer", "--skip-serve-logs"),
}
# SIGTERM, then SIGKILL after STOP_GRACE, then KILL_WAIT for the kernel: within 30 s in all.
STOP_GRACE = 20.0
KILL_WAIT = 5.0
# First start on a small machine: four Python processes importing Airflow at once.
READY_WARNING = 240.0
PID_FILE = "newsmon-airflow.pid"
LOG_DIR = "launcher"
HEALTH_PATH = "/api/v2/monitor/health"
# Not NEWSMON_*: newsmon refuses unknown NEWSMON_ settings, and the tasks run newsmon.
TAG = "LAUNCHED_BY_NEWSMON"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

Say = Callable[[str], None]


def login_hint(env: Mapping[str, str]) -> str:
    """Where the generated admin password is, for the startup banner."""
    return f"user {ADMIN_USER}, password in {Path(env['AIRFLOW_HOME']) / PASSWORDS_FILE}"


@dataclass(frozen=True)
class Running:
    """What the PID file says about a running ``newsmon airflow``."""

    pid: int
    created: float  # the supervisor's start time: a reused pid has another
    pgid: int
    tag: str
    url: str

    def alive(self) -> bool:
        """True while the supervisor this file was written by still runs."""
        try:
            proc = psutil.Process(self.pid)
            return bool(
                abs(proc.create_time() - self.created) < 1 and proc.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.NoSuchProcess:
            return False


def pid_file(home: Path) -> Path:
    """The PID file of the ``newsmon airflow`` running with this AIRFLOW_HOME."""
    return home / PID_FILE


def read_running(home: Path) -> Running | None:
    """The PID file's contents, or None when there is none."""
    path = pid_file(home)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Running(
            int(data["pid"]),
            float(data["created"]),
            int(data["pgid"]),
            str(data["tag"]),
            str(data["url"]),
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise AirflowError(
            f"{path}: not a newsmon airflow PID file ({exc}); delete it if none is running"
        ) from None


class Supervisor:
    """Airflow's components as children of this process, started and stopped together."""

    def __init__(self, env: Mapping[str, str], *, logs: Path, say: Say) -> None:
        self.tag = secrets.token_hex(8)
        self.env = {**env, TAG: self.tag}
        self.logs, self.say = logs, say
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.pgid = 0
        self.signals = 0  # stop requests received (the second one skips the grace period)

    @contextmanager
    def stop_signals(self) -> Iterator[None]:
        """Ctrl-C, SIGTERM and a hang-up ask the main loop to stop (instead of raising)."""

        def requested(signum: int, frame: FrameType | None) -> None:
            self.signals += 1

        previous = {sig: signal.signal(sig, requested) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def start(self) -> None:
        """Start every component in one new process group (led by the first one)."""
        become_subreaper()
        self.logs.mkdir(parents=True, exist_ok=True)
        for name, args in COMPONENTS.items():
            with (self.logs / f"{name}.log").open("wb") as log:
                proc = subprocess.Popen(
                    airflow_cmd(*args),
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    process_group=self.pgid,  # 0 for the first: a group of its own
                )
            self.pgid = self.pgid or proc.pid
            self.procs[name] = proc

    def reap(self) -> None:
        """Collect exited children (components and adopted orphans) so none stays a zombie."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for proc in self.procs.values():
                if proc.pid == pid:
                    proc.returncode = os.waitstatus_to_exitcode(status)

    def exited(self) -> dict[str, int]:
        """Components that exited, with their exit status (negative: killed by that signal)."""
        return {n: p.returncode for n, p in self.procs.items() if p.returncode is not None}

    def members(self) -> list[psutil.Process]:
        """Every live process of this launch."""
        return launch_members(TAG, self.tag, root=os.getpid())

    def stop(self) -> bool:
        """Stop every process of this launch; False when some could not be stopped."""
        asked = self.signals
        killed, left = terminate(
            self.members,
            pgid=self.pgid,
            grace=STOP_GRACE,
            kill_wait=KILL_WAIT,
            hurry=lambda: self.signals > asked,
            tick=self.reap,
        )
        if killed:
            self.say(f"killed after the grace period: {', '.join(killed)}")
        if left:
            self.say(f"could not stop: {', '.join(left)}")
        return not left

    def run(self, url: str, *, on_ready: Callable[[], None]) -> int:
        """Watch the components until asked to stop or one dies; then stop them all."""
        ready, started, warned = False, time.monotonic(), False
        try:
            while not self.signals:
                self.reap()
                dead = self.exited()
                if dead:
                    for name, code in dead.items():
                        self._report_death(name, code)
                    return 1
                if not ready and healthy(url):
                    ready = True
                    on_ready()
                elif not ready and not warned and time.monotonic() - started > READY_WARNING:
                    warned = True
                    self.say(f"not healthy after {READY_WARNING:.0f} s; see {self.logs}/*.log")
                time.sleep(1.0 if ready else 0.5)
            return 0
        finally:
            self.say("stopping Airflow ...")
            began = time.monotonic()
            if self.stop():
                self.say(f"Airflow stopped ({time.monotonic() - began:.1f} s)")

    def _report_death(self, name: str, code: int) -> None:
        """Say which component died and show the end of its log."""
        log = self.logs / f"{name}.log"
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
        self.say(f"{name} exited with status {code}; the end of {log}:")
        self.say("\n".join(tail))


def healthy(url: str) -> bool:
    """True when the api-server answers and reports every component healthy."""
    try:
        with urllib.request.urlopen(url + HEALTH_PATH, timeout=2) as resp:
            report = json.loads(resp.read())
    except (OSError, ValueError):  # not listening yet, or starting up (URLError is an OSError)
        return False
    states = [part.get("status") for part in report.values() if isinstance(part, dict)]
    return bool(states) and all(state == "healthy" for state in states)


def _generated_password(home: Path) -> str | None:
    """The admin password SimpleAuthManager generated, if it did."""
    try:
        data = json.loads((home / PASSWORDS_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    value = data.get(ADMIN_USER) if isinstance(data, dict) else None
    return str(value) if value else None


def serve(env: Mapping[str, str], *, say: Say = print) -> int:
    """Run Airflow's components until Ctrl-C, SIGTERM or ``--stop``; the exit status."""
    home = Path(env["AIRFLOW_HOME"])
    host, port = env["AIRFLOW__API__HOST"], int(env["AIRFLOW__API__PORT"])
    running = read_running(home)
    if running is not None and running.alive():
        raise AirflowError(
            f"newsmon airflow is already running here (pid {running.pid}, {running.url}); "
            f"stop it with `newsmon airflow --stop`"
        )
    check_port_free(host, port)
    url = f"http://{client_host(host)}:{port}"
    say(f"AIRFLOW_HOME={home}")
    say("preparing the metadata database (first start: ~10 s) ...")
    migrate(env)
    first_login = _generated_password(home) is None
    sup = Supervisor(env, logs=home / LOG_DIR, say=say)

    def on_ready() -> None:
        say(f"Airflow is ready on {url}/ — {login_hint(env)}")
        password = _generated_password(home) if first_login else None
        if password:
            say(f"first start: the password of {ADMIN_USER} is {password}")
        say("unpause news_monitor in the UI (or `newsmon airflow dags unpause news_monitor`)")

    with sup.stop_signals():
        try:
            sup.start()
        except OSError as exc:
            sup.stop()
            raise AirflowError(f"could not start Airflow: {exc}") from exc
        me = psutil.Process()
        record = Running(os.getpid(), me.create_time(), sup.pgid, sup.tag, url)
        pid_file(home).write_text(json.dumps(asdict(record)), encoding="utf-8")
        parallelism = env.get("AIRFLOW__CORE__PARALLELISM", "?")
        say(
            f"starting {', '.join(COMPONENTS)} on {host}:{port} "
            f"(parallelism {parallelism}; logs in {sup.logs}/)"
        )
        say("stop with Ctrl-C here, or `newsmon airflow --stop` from another terminal")
        try:
            return sup.run(url, on_ready=on_ready)
        finally:
            current = read_running(home)
            if current is not None and current.tag == sup.tag:
                pid_file(home).unlink(missing_ok=True)


def stop_running(*, home: Path | None = None, say: Say = print) -> int:
    """Stop the ``newsmon airflow`` started from this checkout; 0 when nothing is left running."""
    home = home or airflow_home()
    running = read_running(home)
    if running is None:
        say(f"no newsmon airflow is running here (no {pid_file(home)})")
        return 0
    if running.alive():
        say(f"stopping newsmon airflow (pid {running.pid}, {running.url}) ...")
        os.kill(running.pid, signal.SIGTERM)
        # Polled rather than psutil's wait(): an exited supervisor stays a zombie until its
        # parent (a shell, make) reaps it, and that counts as stopped.
        deadline = time.monotonic() + STOP_GRACE + KILL_WAIT + 5
        while running.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        if running.alive():
            say(f"the supervisor (pid {running.pid}) did not stop in time; killing it")
            os.kill(running.pid, signal.SIGKILL)
    # A supervisor that was itself killed leaves its components running: stop them here.
    killed, left = terminate(
        lambda: launch_members(TAG, running.tag, root=None),
        pgid=running.pgid,
        grace=STOP_GRACE,
        kill_wait=KILL_WAIT,
    )
    if killed:
        say(f"killed after the grace period: {', '.join(killed)}")
    pid_file(home).unlink(missing_ok=True)
    if left:
        say(f"could not stop: {', '.join(left)}")
        return 1
    say("stopped")
    return 0


def _exec(env: Mapping[str, str], args: Sequence[str]) -> NoReturn:
    """Replace this process with the ``airflow`` CLI of this virtualenv."""
    argv = airflow_cmd(*args)
    os.execve(argv[0], argv, dict(env))


def launch(
    args: Sequence[str] = (),
    *,
    port: int = DEFAULT_PORT,
    host: str = DEFAULT_HOST,
    say: Say = print,
) -> int:
    """Run ``airflow ARGS`` (e.g. ``dags unpause news_monitor``), or with no args the whole of
    Airflow (UI and API on ``host:port``, scheduler, dag-processor, triggerer) until stopped.
    """
    env = airflow_env(port=port, host=host)
    if args:
        migrate(env)
        _exec(env, args)
    return serve(env, say=say)
