"""The environment newsmon gives Airflow (pipeline.airflow.env), without starting Airflow."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from pipeline.airflow import env as af
from pipeline.config.settings import get_settings


def test_airflow_home_sits_under_var_with_project_dags_and_absolute_sqlite(tmp_path: Path) -> None:
    env = af.airflow_env(port=8123, base={})
    home = get_settings().var_dir / "airflow"
    assert env["AIRFLOW_HOME"] == str(home)
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(af.DAGS_FOLDER)
    assert (af.DAGS_FOLDER / "news_monitor.py").exists()
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{home / 'airflow.db'}"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    # Workers report to the api-server: the URL must follow its address.
    assert env["AIRFLOW__API__PORT"] == "8123"
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8123/execution/"
    assert env["PATH"].split(":")[0] == str(af.bin_dir())
    assert env["NEWSMON_DATABASE_URL"] == get_settings().database_url


def test_operator_settings_win_but_project_wiring_does_not(tmp_path: Path) -> None:
    base = {
        "AIRFLOW__CORE__LOAD_EXAMPLES": "True",
        "AIRFLOW__CORE__DAGS_FOLDER": "/elsewhere",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg://u@h/airflow",
    }
    env = af.airflow_env(base=base)
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "True"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg://u@h/airflow"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(af.DAGS_FOLDER)


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8080/execution/"),
        ("10.1.2.3", "http://10.1.2.3:8080/execution/"),
        ("::", "http://[::1]:8080/execution/"),
    ],
)
def test_listening_address_and_the_url_workers_report_to(host: str, url: str) -> None:
    env = af.airflow_env(host=host, base={"AIRFLOW__API__HOST": "192.0.2.1"})
    assert env["AIRFLOW__API__HOST"] == host  # --host wins, like --port
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == url
    assert env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST"] == host


def test_parallelism_follows_the_cores_and_sqlite() -> None:
    # `airflow standalone` ran 32 LocalExecutor workers on 2 cores; SQLite takes one writer.
    assert af.sizing(2, sqlite=True)["AIRFLOW__CORE__PARALLELISM"] == "2"
    assert af.sizing(1, sqlite=True)["AIRFLOW__CORE__PARALLELISM"] == "1"
    assert af.sizing(64, sqlite=True)["AIRFLOW__CORE__PARALLELISM"] == "2"
    assert af.sizing(2, sqlite=False)["AIRFLOW__CORE__PARALLELISM"] == "4"
    assert af.sizing(64, sqlite=False)["AIRFLOW__CORE__PARALLELISM"] == "16"
    for sizes in (af.sizing(2, sqlite=True), af.sizing(8, sqlite=False)):
        per_dag = sizes["AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG"]
        assert per_dag == sizes["AIRFLOW__CORE__PARALLELISM"]


def test_default_sqlite_setup_is_sized_small_unless_the_operator_says_otherwise() -> None:
    env = af.airflow_env(base={})
    assert int(env["AIRFLOW__CORE__PARALLELISM"]) <= 2
    assert env["AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES"] == "1"
    mine = af.airflow_env(base={"AIRFLOW__CORE__PARALLELISM": "8"})
    assert mine["AIRFLOW__CORE__PARALLELISM"] == "8"


def test_shared_secrets_are_private_and_stable(tmp_path: Path) -> None:
    first = af.airflow_env(home=tmp_path / "home", base={})
    second = af.airflow_env(home=tmp_path / "home", base={})
    other = af.airflow_env(home=tmp_path / "other", base={})
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
        assert first[key] == second[key] != other[key]
        assert len(first[key]) >= 32
    mode = (tmp_path / "home" / af.SECRETS_FILE).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_smtp_connection_for_a_plain_local_server() -> None:
    conn = json.loads(af.smtp_conn_json("127.0.0.1", 2525))
    assert conn["conn_type"] == "smtp" and conn["port"] == 2525
    # Without disable_ssl the SMTP provider opens SMTP_SSL, which a plain sink refuses.
    assert conn["extra"]["disable_ssl"] is True and conn["extra"]["disable_tls"] is True
    assert "password" not in conn


def test_celery_settings_and_postgres_urls() -> None:
    sync, async_ = af.postgres_metadata_urls("postgresql://postgres@127.0.0.1:5432/airflow")
    assert sync == async_ == "postgresql+psycopg://postgres@127.0.0.1:5432/airflow"
    env = af.celery_env(
        {"A": "1"}, broker_url="redis://r:6379/0", result_backend=f"db+{sync}",
        async_metadata_url=async_,
    )  # fmt: skip
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://r:6379/0"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] == async_
    assert env["A"] == "1"
    with pytest.raises(af.AirflowError, match="postgresql"):
        af.postgres_metadata_urls("sqlite:///x.db")


def test_migrate_runs_once_per_airflow_version_and_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    class Done:
        returncode, stdout, stderr = 0, "", ""

    def fake_run(argv: list[str], **_: object) -> Done:
        calls.append(argv)
        db = Path(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"][len("sqlite:///") :])
        db.touch()
        return Done()

    monkeypatch.setattr(af.subprocess, "run", fake_run)
    env = af.airflow_env(home=tmp_path / "home", base={})
    assert af.migrate(env) is True
    assert af.migrate(env) is False  # stamp matches: the ~9 s migration is skipped
    assert calls == [af.airflow_cmd("db", "migrate")]
    Path(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"][len("sqlite:///") :]).unlink()
    assert af.migrate(env) is True  # database deleted: migrate again


def test_failed_migration_names_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Failed:
        returncode, stdout, stderr = 1, "", "sqlalchemy.exc.OperationalError: unable to open"

    monkeypatch.setattr(af.subprocess, "run", lambda *a, **k: Failed())
    env = af.airflow_env(home=tmp_path / "home", base={})
    with pytest.raises(
        af.AirflowError, match=r"(?s)airflow db migrate.*home/airflow.db.*unable to open"
    ):
        af.migrate(env)
