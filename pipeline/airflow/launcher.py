"""``newsmon airflow``: ``airflow standalone`` or any ``airflow`` command, in this project's setup.

The process is replaced by Airflow (``os.execve``), so Ctrl-C and the exit status are Airflow's
own. Before that the metadata database is migrated when this Airflow version has not done so yet.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from pipeline.airflow.env import (
    ADMIN_USER,
    DEFAULT_PORT,
    PASSWORDS_FILE,
    airflow_cmd,
    airflow_env,
    migrate,
)


def login_hint(env: Mapping[str, str]) -> str:
    """Where the generated admin password is, for the startup banner."""
    return f"user {ADMIN_USER}, password in {Path(env['AIRFLOW_HOME']) / PASSWORDS_FILE}"


def _exec(env: Mapping[str, str], args: Sequence[str]) -> NoReturn:
    """Replace this process with the ``airflow`` CLI of this virtualenv."""
    argv = airflow_cmd(*args)
    os.execve(argv[0], argv, dict(env))


def launch(
    args: Sequence[str] = (),
    *,
    port: int = DEFAULT_PORT,
    say: Callable[[str], None] = print,
) -> NoReturn:
    """Run ``airflow ARGS`` (e.g. ``dags unpause news_monitor``), or with no args the whole of
    Airflow (``airflow standalone``: UI and API on ``port``, scheduler, dag-processor, triggerer).
    """
    env = airflow_env(port=port)
    if args:
        migrate(env)
        _exec(env, args)
    say(f"AIRFLOW_HOME={env['AIRFLOW_HOME']}")
    say("preparing the metadata database (first start: ~10 s) ...")
    migrate(env)
    say(f"Airflow UI on http://localhost:{port}/ — {login_hint(env)}")
    say("unpause news_monitor in the UI (or `newsmon airflow dags unpause news_monitor`)")
    _exec(env, ["standalone"])
