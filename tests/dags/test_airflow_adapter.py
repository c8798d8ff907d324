"""The Airflow adapter (pipeline.airflow): task error translation and `newsmon airflow`."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pipeline.airflow import launcher
from pipeline.errors import (
    ConfigError,
    CrawlFailed,
    DatabaseUnavailable,
    InputError,
    NewsmonError,
    SeedError,
)


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
    assert said == []  # an Airflow command's own output is all the user sees


def test_launch_without_args_starts_standalone_with_a_login_hint(
    launched: list[tuple[str, Any]],
) -> None:
    said: list[str] = []
    with pytest.raises(Exec):
        launcher.launch([], port=8124, say=said.append)
    path, argv, env = launched[-1][1]
    assert argv == [path, "standalone"]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://localhost:8124/execution/"
    banner = "\n".join(said)
    assert f"AIRFLOW_HOME={env['AIRFLOW_HOME']}" in banner
    assert "http://localhost:8124/" in banner
    assert str(Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated") in banner
