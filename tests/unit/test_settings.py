"""Settings: typed NEWSMON_* variables, defaults from the project root, loud typos."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config.settings import PROJECT_ROOT, load_settings
from pipeline.errors import ConfigError


def test_defaults_resolve_from_project_root_not_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings({})
    assert s.seeds_dir == PROJECT_ROOT / "seeds"
    assert s.var_dir == PROJECT_ROOT / "var"
    assert s.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'newsmon.db'}"
    assert s.timezone == "UTC"
    assert s.daily_hour == 6


def test_database_default_follows_var_dir(tmp_path: Path) -> None:
    s = load_settings({"NEWSMON_VAR_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'newsmon.db'}"


def test_typed_values() -> None:
    s = load_settings(
        {
            "NEWSMON_FIRST_RUN_DAYS": "3",
            "NEWSMON_DOWNLOAD_DELAY": "0.5",
            "NEWSMON_TIMEZONE": "Asia/Yerevan",
            "NEWSMON_DAILY_HOUR": "0",
        }
    )
    assert s.first_run_days == 3
    assert s.daily_hour == 0
    assert s.download_delay == 0.5
    assert str(s.tz) == "Asia/Yerevan"


def test_typo_fails_loudly_with_a_hint() -> None:
    with pytest.raises(
        ConfigError, match=r"NEWSMON_DATABSE_URL.*did you mean NEWSMON_DATABASE_URL"
    ):
        load_settings({"NEWSMON_DATABSE_URL": "sqlite://"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NEWSMON_FIRST_RUN_DAYS": "seven"}, "expected an integer"),
        ({"NEWSMON_TIMEZONE": "Mars/Olympus"}, "not an IANA zone"),
        ({"NEWSMON_MODE": "prod"}, "expected production, test or demo"),
        ({"NEWSMON_DAILY_HOUR": "24"}, "NEWSMON_DAILY_HOUR=24: expected an hour 0-23"),
        ({"NEWSMON_DAILY_HOUR": "-1"}, "NEWSMON_DAILY_HOUR=-1: expected an hour 0-23"),
        ({"NEWSMON_DAILY_HOUR": "six"}, "NEWSMON_DAILY_HOUR='six': expected an integer"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env)
