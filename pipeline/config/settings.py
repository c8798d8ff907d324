"""Typed settings read from ``NEWSMON_*`` environment variables.

Every variable the project knows is a field of :class:`Settings`. An unknown
``NEWSMON_*`` variable (a typo such as ``NEWSMON_DATABSE_URL``) is an error, not
silently ignored, so a misconfigured deployment fails at start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from datetime import tzinfo
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.errors import ConfigError

PREFIX = "NEWSMON_"
# The project root: pipeline/ lives directly under it (editable install).
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _bool(raw: str, name: str) -> bool:
    """Parse a boolean environment value."""
    low = raw.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}={raw!r}: expected true/false")


def _int(raw: str, name: str) -> int:
    """Parse an integer environment value."""
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected an integer") from None


@dataclass(frozen=True)
class Settings:
    """All runtime configuration; see README "Configuration"."""

    seeds_dir: Path = PROJECT_ROOT / "seeds"
    var_dir: Path = PROJECT_ROOT / "var"
    # Derived data a process can rebuild (the language model, uncompressed); default <var>/cache.
    cache_dir: Path | None = None
    database_url: str = ""
    timezone: str = "UTC"
    # Sources file override (the replica server writes one pointing at loopback).
    sources_file: Path | None = None
    topics_file: Path | None = None
    subscribers_file: Path | None = None
    first_run_days: int = 7
    recheck_days: int = 3
    user_agent: str = "newsmon/0.1 (+https://github.com/newsmon/newsmon; news monitoring bot)"
    contact_url: str = "https://github.com/newsmon/newsmon"
    download_delay: float = 1.0
    download_maxsize: int = 10 * 1024 * 1024
    concurrency_per_domain: int = 2
    # "production" forbids loopback/private hosts; "test" and "demo" allow the replica.
    mode: str = "production"
    smtp_url: str = ""
    mail_from: str = "newsmon <newsmon@localhost>"
    operator_email: str = ""
    # Operator notices (mail outage start/end, undeliverable alerts) are also POSTed here as JSON.
    operator_webhook_url: str = ""
    source_silence_days: int = 3
    # An alert not delivered after this many days is given up and reported to the operator.
    alert_max_age_days: int = 14
    # Extraction processes of the process stage; 0 = one per CPU core.
    process_workers: int = 0
    # The hour (0-23, in ``timezone``) of the daily news_monitor run; read when the DAG is parsed.
    daily_hour: int = 6
    log_level: str = "INFO"
    # The analyst's view (``newsmon serve``, the Airflow plugin). With web_url set, alerts link
    # to their story pages; with secret_key too, they carry signed one-click "not relevant" links
    # valid for web_link_days. web_token is required to serve anywhere but on loopback.
    web_url: str = ""
    secret_key: str = ""
    web_token: str = ""
    web_link_days: int = 14
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def tz(self) -> tzinfo:
        """The zone in which "a day" is counted."""
        return ZoneInfo(self.timezone)

    @property
    def cache_path(self) -> Path:
        """Where rebuildable derived data is kept."""
        return self.cache_dir or self.var_dir / "cache"

    @property
    def sources_path(self) -> Path:
        """The sources seed file in force."""
        return self.sources_file or self.seeds_dir / "sources.yaml"

    @property
    def topics_path(self) -> Path:
        """The topics seed file in force."""
        return self.topics_file or self.seeds_dir / "topics.yaml"

    @property
    def subscribers_path(self) -> Path:
        """The subscribers seed file in force."""
        return self.subscribers_file or self.seeds_dir / "subscribers.yaml"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from the environment; unknown NEWSMON_* names fail loudly."""
    env = dict(os.environ if environ is None else environ)
    known = {f.name: f for f in fields(Settings) if f.name != "extra"}
    values: dict[str, object] = {}
    for key, raw in env.items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX) :].lower()
        if name not in known:
            close = [k.upper() for k in known if _similar(k, name)]
            hint = f" (did you mean {PREFIX}{close[0]}?)" if close else ""
            raise ConfigError(f"unknown setting {key}{hint}; see README 'Configuration'")
        ftype = str(known[name].type)
        if "Path" in ftype:
            values[name] = Path(raw).expanduser().resolve() if raw else None
        elif ftype == "int":
            values[name] = _int(raw, key)
        elif ftype == "float":
            try:
                values[name] = float(raw)
            except ValueError:
                raise ConfigError(f"{key}={raw!r}: expected a number") from None
        elif ftype == "bool":
            values[name] = _bool(raw, key)
        else:
            values[name] = raw
    settings = Settings(**values)  # type: ignore[arg-type]
    if settings.seeds_dir is None or settings.var_dir is None:
        raise ConfigError("NEWSMON_SEEDS_DIR and NEWSMON_VAR_DIR may not be empty")
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"NEWSMON_TIMEZONE={settings.timezone!r} is not an IANA zone (e.g. Asia/Yerevan)"
        ) from None
    if not 0 <= settings.daily_hour <= 23:
        raise ConfigError(
            f"NEWSMON_DAILY_HOUR={settings.daily_hour}: expected an hour 0-23 (in NEWSMON_TIMEZONE)"
        )
    if settings.alert_max_age_days < 1:
        raise ConfigError(
            f"NEWSMON_ALERT_MAX_AGE_DAYS={settings.alert_max_age_days}: expected at least 1 day"
        )
    if settings.web_link_days < 1:
        raise ConfigError(
            f"NEWSMON_WEB_LINK_DAYS={settings.web_link_days}: expected at least 1 day"
        )
    if settings.web_url and not settings.web_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"NEWSMON_WEB_URL={settings.web_url!r}: expected an http:// or https:// address"
        )
    if settings.mode not in {"production", "test", "demo"}:
        raise ConfigError(f"NEWSMON_MODE={settings.mode!r}: expected production, test or demo")
    if not settings.database_url:
        db = settings.var_dir / "newsmon.db"
        object.__setattr__(settings, "database_url", f"sqlite:///{db}")
    return settings


def _similar(a: str, b: str) -> bool:
    """True when two setting names differ by a small edit (typo hint)."""
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio() > 0.8


@cache
def get_settings() -> Settings:
    """Process-wide settings (tests call ``get_settings.cache_clear()`` after changing env)."""
    return load_settings()
