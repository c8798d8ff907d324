"""Process-tree helpers for the Airflow launcher: find, signal and reap one launch's processes.

A launch's processes are found two ways, since each alone misses some: as descendants of the
supervisor (a process that clears its environment is still one), and by a tag in their
environment, which every child inherits (a process whose parent died, or whose supervisor was
killed, is still found).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

import psutil

from pipeline.airflow.env import AirflowError

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux), so they are reaped here; False where unsupported.

    Not essential: an orphan is still found by its tag, only reaped by init instead.
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)


def check_port_free(host: str, port: int) -> None:
    """Fail with a clear error when ``host:port`` cannot be listened on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As the server will: a port in TIME_WAIT after a stop is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise AirflowError(
                f"cannot listen on {host}:{port} ({exc.strerror}): another Airflow running? "
                f"`newsmon airflow --stop` stops the one started here; or choose --port"
            ) from None


def _tag_of(proc: psutil.Process, name: str) -> str | None:
    """The value of environment variable ``name`` in ``proc`` (None if unreadable or unset)."""
    try:
        value = proc.environ().get(name)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    return str(value) if value is not None else None


def launch_members(name: str, tag: str, *, root: int | None) -> list[psutil.Process]:
    """Live processes that descend from ``root`` or carry ``name=tag`` in their environment."""
    found: dict[int, psutil.Process] = {}
    if root is not None:
        with contextlib.suppress(psutil.NoSuchProcess):
            found.update((p.pid, p) for p in psutil.Process(root).children(recursive=True))
    for proc in psutil.process_iter():
        if proc.pid not in found and proc.pid != root and _tag_of(proc, name) == tag:
            found[proc.pid] = proc
    live = []
    for proc in found.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            if proc.status() != psutil.STATUS_ZOMBIE:
                live.append(proc)
    return live


def describe(proc: psutil.Process) -> str:
    """``pid (command line)``, short, for messages."""
    try:
        cmd = " ".join(proc.cmdline()) or proc.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        cmd = "?"
    return f"{proc.pid} ({cmd[:60]})"


def _signal(procs: list[psutil.Process], sig: signal.Signals, pgid: int | None) -> None:
    """``sig`` to the group ``pgid`` and to every process in ``procs`` outside it."""
    outside = []
    in_group = False
    for proc in procs:
        try:
            if pgid is not None and os.getpgid(proc.pid) == pgid:
                in_group = True
            else:
                outside.append(proc)
        except ProcessLookupError:
            continue
    if in_group and pgid is not None:
        # Only while a member is in it: a group id is reused once its last process is gone.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
    for proc in outside:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(sig)


def _wait_gone(
    find: Callable[[], list[psutil.Process]],
    timeout: float,
    *,
    hurry: Callable[[], bool],
    tick: Callable[[], None],
) -> list[psutil.Process]:
    """Wait up to ``timeout`` for ``find`` to come back empty; what is still there."""
    deadline = time.monotonic() + timeout
    while True:
        tick()
        left = find()
        if not left or time.monotonic() >= deadline or hurry():
            return left
        time.sleep(0.2)


def terminate(
    find: Callable[[], list[psutil.Process]],
    *,
    pgid: int | None,
    grace: float,
    kill_wait: float,
    hurry: Callable[[], bool] = lambda: False,
    tick: Callable[[], None] = lambda: None,
) -> tuple[list[str], list[str]]:
    """SIGTERM, then after ``grace`` (or when ``hurry()``) SIGKILL, every process ``find`` finds.

    ``tick`` runs on every poll (the supervisor reaps its children there). Returns what had to
    be killed and what was still there after that, each as ``pid (command)``.
    """
    procs = find()
    if not procs:
        return [], []
    _signal(procs, signal.SIGTERM, pgid)
    left = _wait_gone(find, grace, hurry=hurry, tick=tick)
    if not left:
        return [], []
    killed = [describe(p) for p in left]
    _signal(left, signal.SIGKILL, pgid)
    # Find again: a process may have started one more child in the meantime.
    _signal(_wait_gone(find, 0.0, hurry=hurry, tick=tick), signal.SIGKILL, pgid)
    remaining = _wait_gone(find, kill_wait, hurry=lambda: False, tick=tick)
    return killed, [describe(p) for p in remaining]
