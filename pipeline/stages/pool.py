"""The process stage's worker pool: forked from a warm parent, started even inside a daemon."""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager


def _init_worker() -> None:
    """Workers leave Ctrl-C to the parent, which stops feeding and commits what is done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start_method() -> str:
    """fork where available: workers inherit the imported extraction stack instead of importing it
    again (seconds per worker); the parent forks before it starts any thread of its own."""
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


@contextmanager
def children_allowed() -> Iterator[None]:
    """Let a daemonic process start the pool's workers (an Airflow task on a Celery worker).

    Celery's prefork workers are daemonic and Airflow forks each task from one, so the flag
    reaches this process and multiprocessing refuses to start children (a daemon's children
    could outlive it). The pool is shut down and joined before the stage returns, and its
    workers exit when this process's end of their pipes closes, so none outlives the task.
    """
    me = multiprocessing.current_process()
    daemonic = bool(me.daemon)
    if daemonic:
        # The public setter refuses a started process; this is the flag it would set.
        me._config["daemon"] = False  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if daemonic:
            me._config["daemon"] = True  # type: ignore[attr-defined]


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` extraction processes that leave Ctrl-C to the parent."""
    ctx = multiprocessing.get_context(_start_method())
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker)
