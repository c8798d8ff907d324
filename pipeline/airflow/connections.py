"""Airflow connections newsmon reads: ``smtp_default``, the mail server when no NEWSMON_SMTP_URL.

The alerting library takes its mail server from whoever calls it (``mailer_factory``); the DAG's
``alert`` task and ``newsmon alerts send`` pass :func:`smtp_mailer`, which keeps
``NEWSMON_SMTP_URL`` first and falls back to this connection. Airflow is imported only when the
connection is actually read, so a configured URL never pays for importing it.
"""

from __future__ import annotations

from pipeline.alerts.smtp import (
    AIRFLOW_CONN_ID,
    SmtpConfig,
    SmtpMailer,
    from_connection,
    resolve_config,
)
from pipeline.errors import ConfigError


def smtp_config(conn_id: str = AIRFLOW_CONN_ID) -> SmtpConfig:
    """The connection ``conn_id`` through the Task SDK (``AIRFLOW_CONN_*`` works outside tasks)."""
    try:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:
        raise ConfigError(
            "no SMTP server configured: set NEWSMON_SMTP_URL (Airflow is not installed)"
        ) from None
    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise ConfigError(
            f"no SMTP server configured: set NEWSMON_SMTP_URL or define the Airflow connection "
            f"{conn_id} (e.g. AIRFLOW_CONN_{conn_id.upper()}=smtp://host:25?disable_ssl=true)"
        ) from None
    return from_connection(conn, conn_id)


def smtp_mailer() -> SmtpMailer:
    """A mailer for ``NEWSMON_SMTP_URL``, else for Airflow's ``smtp_default`` connection."""
    return SmtpMailer(resolve_config(fallback=smtp_config))
