"""SMTP settings: NEWSMON_SMTP_URL or the Airflow connection, mapped to one SmtpConfig."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline.airflow.connections import smtp_config, smtp_mailer
from pipeline.alerts.smtp import SmtpConfig, from_connection, from_url, resolve_config
from pipeline.config.settings import get_settings
from pipeline.errors import ConfigError


@pytest.mark.parametrize(
    ("url", "host", "port", "security", "user", "password", "verify"),
    [
        (
            "smtp://u%40x:p%3Aw@mail.example.org:587?starttls=1",
            "mail.example.org",
            587,
            "starttls",
            "u@x",
            "p:w",
            True,
        ),
        ("smtp://mail.example.org", "mail.example.org", 25, "auto", None, None, True),
        ("smtp://127.0.0.1:1025?starttls=0", "127.0.0.1", 1025, "none", None, None, True),
        ("smtps://u:p@mail.example.org?verify=0", "mail.example.org", 465, "ssl", "u", "p", False),
    ],
)
def test_smtp_url_forms(
    url: str,
    host: str,
    port: int,
    security: str,
    user: str | None,
    password: str | None,
    verify: bool,
) -> None:
    cfg = from_url(url)
    assert (cfg.host, cfg.port, cfg.security, cfg.username, cfg.password, cfg.verify) == (
        host,
        port,
        security,
        user,
        password,
        verify,
    )
    assert "p:w" not in repr(cfg)  # never print the password


@pytest.mark.parametrize(
    "url", ["http://mail.example.org", "smtp://", "smtp://h?tls=1", "smtp://h:notaport"]
)
def test_bad_smtp_urls(url: str) -> None:
    with pytest.raises(ConfigError, match="NEWSMON_SMTP_URL"):
        from_url(url)


@pytest.mark.parametrize(
    ("extra", "security", "port"),
    [
        ({}, "ssl", 465),  # the provider's default: SSL
        ({"disable_ssl": "true"}, "starttls", 25),
        ({"disable_ssl": True, "disable_tls": "true"}, "none", 25),
        ({"disable_ssl": "false", "disable_tls": "true"}, "ssl", 465),
    ],
)
def test_airflow_connection_mapping(extra: dict[str, object], security: str, port: int) -> None:
    conn = SimpleNamespace(
        host="smtp.example.org",
        port=None,
        login="bot",
        password="pw",
        extra_dejson={**extra, "from_email": "bot@example.org", "timeout": 5},
    )
    cfg = from_connection(conn)
    assert (cfg.security, cfg.port, cfg.username, cfg.mail_from, cfg.timeout) == (
        security,
        port,
        "bot",
        "bot@example.org",
        5.0,
    )
    assert cfg.origin == "Airflow connection smtp_default"


def test_smtp_url_wins_over_airflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_SMTP_URL", "smtp://127.0.0.1:2525?starttls=0")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", "smtp://elsewhere.example.org:25")
    get_settings.cache_clear()
    assert resolve_config(fallback=smtp_config).host == "127.0.0.1"
    assert smtp_mailer().config.origin == "NEWSMON_SMTP_URL"


def test_without_url_the_fallback_decides() -> None:
    asked: list[str] = []

    def fallback() -> SmtpConfig:
        asked.append("smtp_default")
        return SmtpConfig(host="mx.example.org", port=25, origin="test fallback")

    assert resolve_config(fallback=fallback).host == "mx.example.org"
    assert asked == ["smtp_default"]


def test_without_url_or_fallback_the_library_names_what_to_set() -> None:
    # The library alone never looks for Airflow: only its callers pass the Airflow fallback.
    with pytest.raises(ConfigError, match="set NEWSMON_SMTP_URL"):
        resolve_config()


def test_airflow_smtp_default_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        "smtp://bot:pw@mx.example.org:2525?disable_ssl=true&from_email=bot%40example.org",
    )
    mailer = smtp_mailer()
    cfg = mailer.config
    assert (cfg.host, cfg.port, cfg.security, cfg.username, cfg.password) == (
        "mx.example.org",
        2525,
        "starttls",
        "bot",
        "pw",
    )
    assert cfg.origin == "Airflow connection smtp_default"
    assert mailer.mail_from == "bot@example.org"


def test_missing_airflow_connection_names_both_ways_to_configure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    with pytest.raises(ConfigError, match=r"NEWSMON_SMTP_URL or .* AIRFLOW_CONN_SMTP_DEFAULT="):
        smtp_mailer()
