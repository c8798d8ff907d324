"""Run this project's DAGs under Apache Airflow 3: AIRFLOW_HOME under var/, env, migration, launch.

Everything Airflow needs to find this project is an environment variable built here, so the same
settings serve ``newsmon airflow`` (:mod:`pipeline.airflow.launcher`), ``newsmon demo``
(``dag.test()`` in a subprocess) and the Celery integration test (scheduler, dag-processor,
api-server and worker as separate processes). Airflow reads its configuration when it is first
imported, so Airflow itself always runs in a child process that starts with this environment;
this module never imports it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.config.settings import PROJECT_ROOT, Settings, get_settings
from pipeline.errors import NewsmonError

DAGS_FOLDER = PROJECT_ROOT / "dags"
DEFAULT_PORT = 8080
# Loopback unless the operator asks otherwise: the UI would otherwise be open to the network.
DEFAULT_HOST = "127.0.0.1"
# The login ``newsmon airflow`` creates; SimpleAuthManager writes its generated password here.
ADMIN_USER = "admin"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
# Components that sign or check the API's JWTs must share these secrets (Airflow 3 config
# reference, [api_auth] jwt_secret and [api] secret_key); generated once per AIRFLOW_HOME.
SECRETS_FILE = ".newsmon-secrets.json"
MIGRATED_STAMP = ".newsmon-migrated"


class AirflowError(NewsmonError):
    """Airflow could not be prepared or a DAG run did not succeed; message says where to look."""


def airflow_home(settings: Settings | None = None) -> Path:
    """``AIRFLOW_HOME`` for this checkout: ``<var>/airflow``."""
    return (settings or get_settings()).var_dir / "airflow"


def bin_dir() -> Path:
    """The virtualenv's bin directory (where the ``airflow`` and ``celery`` scripts live)."""
    return Path(sys.executable).parent


def _secrets(home: Path) -> dict[str, str]:
    """Per-home random secrets, created on first use and kept private (mode 0600)."""
    path = home / SECRETS_FILE
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        if {"jwt_secret", "secret_key"} <= data.keys():
            return data
    home.mkdir(parents=True, exist_ok=True)
    data = {"jwt_secret": secrets.token_urlsafe(32), "secret_key": secrets.token_urlsafe(32)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    return data


def cores() -> int:
    """CPUs this process may run on (its affinity mask, which a container may narrow)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # macOS has no affinity mask


def sizing(n_cores: int, *, sqlite: bool) -> dict[str, str]:
    """Airflow's concurrency for a machine with ``n_cores`` CPUs.

    The LocalExecutor starts ``[core] parallelism`` worker processes at once (default 32, each
    a forked scheduler); SQLite takes one writer at a time, so with SQLite (Airflow's metadata
    or newsmon's own database) two tasks at most run together and the rest would only wait on
    its lock. On a server database the tasks (crawls: mostly network waits) get two per core.
    """
    parallelism = min(2, n_cores) if sqlite else max(2, min(2 * n_cores, 16))
    return {
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(parallelism),
        # A handful of DAG files: one parsing process is plenty on a small machine.
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1" if sqlite or n_cores < 4 else "2",
        "AIRFLOW__API__WORKERS": "1",
    }


def client_host(host: str) -> str:
    """The address other processes use to reach a server bound to ``host``."""
    if host in {"", "0.0.0.0"}:
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def smtp_conn_json(
    host: str,
    port: int,
    *,
    login: str | None = None,
    password: str | None = None,
    tls: bool = False,
) -> str:
    """An ``AIRFLOW_CONN_SMTP_DEFAULT`` value (JSON form) for a mail server.

    A plain local server (the demo's sink, Mailpit) needs ``disable_ssl`` and ``disable_tls``:
    the SMTP provider otherwise opens an SMTP_SSL connection.
    """
    extra = {"disable_ssl": True, "disable_tls": not tls, "from_email": get_settings().mail_from}
    conn: dict[str, object] = {"conn_type": "smtp", "host": host, "port": port, "extra": extra}
    if login:
        conn["login"] = login
    if password:
        conn["password"] = password
    return json.dumps(conn)


def airflow_env(
    *,
    port: int = DEFAULT_PORT,
    host: str = DEFAULT_HOST,
    home: Path | None = None,
    metadata_url: str | None = None,
    executor: str | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The full environment for an Airflow process running this project's DAGs.

    ``base`` (default: ``os.environ``) is copied first, so an operator's own ``AIRFLOW__*``
    settings win over the defaults below (concurrency included) except for the few this project
    depends on: the DAGs folder, metadata URL, the api-server's ``host`` and ``port`` and the
    execution API URL that follows them.
    """
    env = dict(os.environ if base is None else base)
    settings = get_settings()
    home = (home or airflow_home(settings)).resolve()
    home.mkdir(parents=True, exist_ok=True)
    keys = _secrets(home)
    url = (
        metadata_url
        or env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
        or (
            # dag.test() and the CLI need an absolute SQLite path (a relative one depends on cwd).
            f"sqlite:///{home / 'airflow.db'}"
        )
    )
    defaults = {
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": keys["secret_key"],
        # Same zone for the UI and the timetable's "day" (NEWSMON_TIMEZONE).
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": settings.timezone,
        # Off by default (the api-server's /api/v2/monitor/health reports the scheduler too);
        # when an operator turns it on, it listens where the api-server does, not on 0.0.0.0.
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": host,
    }
    sqlite = url.startswith("sqlite") or settings.database_url.startswith("sqlite")
    defaults.update(sizing(cores(), sqlite=sqlite))
    for key, value in defaults.items():
        env.setdefault(key, value)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
            "AIRFLOW__API__HOST": host,
            "AIRFLOW__API__PORT": str(port),
            # Workers report task state to this URL; it must follow the api-server's address.
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": (
                f"http://{client_host(host)}:{port}/execution/"
            ),
            # The DAG tasks call newsmon with the same settings as this process.
            "NEWSMON_VAR_DIR": str(settings.var_dir),
            "NEWSMON_DATABASE_URL": settings.database_url,
            "PATH": f"{bin_dir()}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    if executor:
        env["AIRFLOW__CORE__EXECUTOR"] = executor
    return env


def postgres_metadata_urls(url: str) -> tuple[str, str]:
    """Airflow's sync and async metadata URLs for a ``postgresql://`` URL, both on psycopg 3.

    Airflow derives the async URL as ``postgresql+asyncpg`` unless told otherwise; newsmon
    ships psycopg 3 only, whose SQLAlchemy dialect serves both (async picked automatically).
    """
    if not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        raise AirflowError(f"{url!r}: expected a postgresql:// URL")
    rest = url.split("://", 1)[1]
    return f"postgresql+psycopg://{rest}", f"postgresql+psycopg://{rest}"


def celery_env(
    env: Mapping[str, str],
    *,
    broker_url: str,
    result_backend: str,
    async_metadata_url: str | None = None,
) -> dict[str, str]:
    """``env`` switched to the CeleryExecutor (what docker-compose.yml configures)."""
    out = dict(env)
    out.update(
        {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
        }
    )
    if async_metadata_url:
        out["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = async_metadata_url
    return out


def airflow_cmd(*args: str) -> list[str]:
    """Argv for the ``airflow`` CLI of this virtualenv."""
    return [str(bin_dir() / "airflow"), *args]


def _installed_airflow_version() -> str:
    """The installed apache-airflow version (without importing Airflow)."""
    from importlib.metadata import version

    return version("apache-airflow")


def migrate(env: Mapping[str, str], *, force: bool = False) -> bool:
    """Create or upgrade the Airflow metadata DB; skipped when this version already migrated it.

    Returns True when ``airflow db migrate`` ran. (It takes ~9 s on SQLite, so the demo skips it
    when a stamp says this Airflow version already migrated this database.)
    """
    home = Path(env["AIRFLOW_HOME"])
    stamp = home / MIGRATED_STAMP
    key = f"{_installed_airflow_version()} {env['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN']}"
    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    db_missing = url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists()
    if not force and not db_missing and stamp.exists() and stamp.read_text() == key:
        return False
    proc = subprocess.run(
        airflow_cmd("db", "migrate"), env=dict(env), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise AirflowError(f"`airflow db migrate` failed for {url}:\n{tail}")
    stamp.write_text(key)
    return True


@dataclass
class DagTestResult:
    """Outcome of one ``dag.test()`` run in a child process."""

    dag_id: str
    state: str
    run_id: str | None
    returncode: int
    log_path: Path

    @property
    def ok(self) -> bool:
        """True when the DAG run succeeded."""
        return self.returncode == 0 and self.state == "success"


RESULT_PREFIX = "NEWSMON_DAG_TEST "


def run_dag_test(
    dag_id: str,
    env: Mapping[str, str],
    *,
    log_path: Path,
    conf: dict[str, object] | None = None,
    timeout: float = 1800,
) -> DagTestResult:
    """Run ``dag.test()`` for ``dag_id`` in a child process; its output goes to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "pipeline.airflow.env",
        "dag-test",
        dag_id,
        json.dumps(conf or {}),
    ]
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.run(
            argv,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
            cwd=PROJECT_ROOT,
        )
    state, run_id = "unknown", None
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line[len(RESULT_PREFIX) :])
            state, run_id = str(data["state"]), data.get("run_id")
    return DagTestResult(dag_id, state, run_id, proc.returncode, log_path)


def _dag_test_main(dag_id: str, conf_json: str) -> int:
    """Child-process entry: load the DAG from the dags folder and run ``dag.test()``."""
    from airflow.configuration import conf as airflow_conf
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=airflow_conf.get("core", "dags_folder"))
    if dagbag.import_errors:
        for path, err in dagbag.import_errors.items():
            print(f"import error in {path}:\n{err}", flush=True)
        return 3
    dag = dagbag.dags.get(dag_id)
    if dag is None:
        print(f"no DAG {dag_id!r} in {airflow_conf.get('core', 'dags_folder')}", flush=True)
        return 3
    run = dag.test(run_conf=json.loads(conf_json) or None)
    state = str(getattr(run, "state", "unknown"))
    print(
        RESULT_PREFIX + json.dumps({"state": state, "run_id": getattr(run, "run_id", None)}),
        flush=True,
    )
    return 0 if state == "success" else 1


def main(argv: list[str]) -> int:
    """``python -m pipeline.airflow.env dag-test DAG_ID [CONF_JSON]`` (used by run_dag_test)."""
    if len(argv) >= 2 and argv[0] == "dag-test":
        return _dag_test_main(argv[1], argv[2] if len(argv) > 2 else "{}")
    print("usage: python -m pipeline.airflow.env dag-test DAG_ID [CONF_JSON]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
