"""SMTP delivery with SSL/STARTTLS/auth. One code path, two places to read its settings from.

``NEWSMON_SMTP_URL`` wins when set::

    smtp://user:pass@mail.example.org:587?starttls=1     STARTTLS required
    smtp://mail.example.org:25                           STARTTLS when offered ("auto")
    smtp://127.0.0.1:1025?starttls=0                     plain (development sinks)
    smtps://user:pass@mail.example.org:465               implicit TLS
    query options: starttls=1|0|auto, verify=0 (self-signed lab servers), timeout=SECONDS

Otherwise the caller's fallback decides: under Airflow (the DAG's ``alert`` task, ``newsmon alerts
send``) that is the connection ``smtp_default``, read by ``pipeline.airflow.connections`` and mapped
here by :func:`from_connection` with the SMTP provider's meaning of its extras: ``disable_ssl``,
``disable_tls``, ``timeout``, ``from_email``, ``ssl_context: none``. Both become an
:class:`SmtpConfig`; sending is the same. This module never imports Airflow.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from types import TracebackType
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from pipeline.config.settings import Settings, get_settings
from pipeline.errors import ConfigError, SendError

log = logging.getLogger(__name__)

Security = Literal["ssl", "starttls", "auto", "none"]
AIRFLOW_CONN_ID = "smtp_default"
DEFAULT_TIMEOUT = 30.0
# 421 is "service not available, closing transmission channel" (RFC 5321 §4.2.2): the connection
# is gone, so the rest of the batch must wait for the next run.
CLOSING_CODES = {421}


def _text(reply: bytes | str) -> str:
    """An SMTP reply as text."""
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _reason(exc: Exception) -> str:
    """An exception's message; for an SMTP reply its code and text."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return str(exc)


class SmtpUnavailable(SendError):
    """The server cannot be reached or dropped the connection: stop the batch, retry next run."""


class SmtpMisconfigured(SmtpUnavailable):
    """The server answers but refuses our setup (AUTH, STARTTLS, our sender): fix, then retry."""


class MessageRejected(SendError):
    """The server refused this one message; the connection is still usable.

    ``code`` is the SMTP reply: 5xx is final for this recipient, 4xx may pass on a retry.
    """

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code

    @property
    def permanent(self) -> bool:
        """A 5xx reply: sending the same message again cannot succeed."""
        return 500 <= self.code < 600


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send; ``origin`` says where it came from (never the password)."""

    host: str
    port: int
    security: Security = "auto"
    username: str | None = None
    password: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    verify: bool = True
    mail_from: str | None = None
    origin: str = "NEWSMON_SMTP_URL"

    def __repr__(self) -> str:
        return (
            f"SmtpConfig({self.host}:{self.port}, {self.security}, user={self.username!r}, "
            f"from {self.origin})"
        )


def _flag(raw: object) -> bool:
    """Booleans as written in URLs and connection extras ("1", "true", True)."""
    if isinstance(raw, bool):
        return raw
    return str(raw).strip().lower() in {"1", "true", "yes", "on"}


def from_url(url: str) -> SmtpConfig:
    """Parse ``NEWSMON_SMTP_URL``."""
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ConfigError(
            "NEWSMON_SMTP_URL must look like smtp://user:pass@host:587?starttls=1 or smtps://host:465"
        )
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls", "verify", "timeout"}
    if unknown:
        raise ConfigError(f"NEWSMON_SMTP_URL: unknown option(s) {', '.join(sorted(unknown))}")
    security: Security
    if parts.scheme == "smtps":
        security = "ssl"
    else:
        raw = query.get("starttls", "auto").lower()
        security = "auto" if raw == "auto" else ("starttls" if _flag(raw) else "none")
    try:
        timeout = float(query.get("timeout", DEFAULT_TIMEOUT))
        port = parts.port or (465 if security == "ssl" else 25)
    except ValueError as exc:
        raise ConfigError(f"NEWSMON_SMTP_URL: {exc}") from None
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
        verify=_flag(query.get("verify", "1")),
        origin="NEWSMON_SMTP_URL",
    )


def from_connection(conn: Any, conn_id: str = AIRFLOW_CONN_ID) -> SmtpConfig:
    """Map an Airflow SMTP connection (host, port, login, password, extras) to a config."""
    extra: dict[str, Any] = dict(conn.extra_dejson or {})
    # The provider's defaults: SSL unless disable_ssl, else STARTTLS unless disable_tls.
    if not _flag(extra.get("disable_ssl", False)):
        security: Security = "ssl"
    elif not _flag(extra.get("disable_tls", False)):
        security = "starttls"
    else:
        security = "none"
    if not conn.host:
        raise ConfigError(f"Airflow connection {conn_id} has no host")
    return SmtpConfig(
        host=str(conn.host),
        port=int(conn.port or (465 if security == "ssl" else 25)),
        security=security,
        username=conn.login or None,
        password=conn.password or None,
        timeout=float(extra.get("timeout", DEFAULT_TIMEOUT)),
        verify=str(extra.get("ssl_context", "default")).lower() != "none",
        mail_from=extra.get("from_email") or None,
        origin=f"Airflow connection {conn_id}",
    )


def resolve_config(
    settings: Settings | None = None, *, fallback: Callable[[], SmtpConfig] | None = None
) -> SmtpConfig:
    """``NEWSMON_SMTP_URL`` when set, else ``fallback()`` (under Airflow: ``smtp_default``)."""
    settings = settings or get_settings()
    if settings.smtp_url:
        return from_url(settings.smtp_url)
    if fallback is None:
        raise ConfigError(
            "no SMTP server configured: set NEWSMON_SMTP_URL (or, under Airflow, the connection "
            f"{AIRFLOW_CONN_ID})"
        )
    return fallback()


class Mailer(Protocol):
    """What the sender needs: send one message, close at the end."""

    mail_from: str

    def send(self, msg: EmailMessage) -> None:
        """Deliver one message or raise SmtpUnavailable / MessageRejected."""

    def close(self) -> None:
        """Release the connection."""


class SmtpMailer:
    """One SMTP session for a batch of messages, opened on first use."""

    def __init__(self, config: SmtpConfig, mail_from: str | None = None) -> None:
        self.config = config
        self.mail_from = mail_from or config.mail_from or get_settings().mail_from
        self._client: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpMailer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _where(self) -> str:
        """Host and port for error messages."""
        return f"{self.config.host}:{self.config.port} ({self.config.origin})"

    def _context(self) -> ssl.SSLContext:
        """TLS context; verification off only when configured (self-signed lab servers)."""
        ctx = ssl.create_default_context()
        if not self.config.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _connect(self) -> smtplib.SMTP:
        """Open, secure and authenticate a session."""
        cfg = self.config
        client: smtplib.SMTP
        if cfg.security == "ssl":
            client = smtplib.SMTP_SSL(
                cfg.host, cfg.port, timeout=cfg.timeout, context=self._context()
            )
        else:
            client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        try:
            client.ehlo()
            if cfg.security == "starttls" or (
                cfg.security == "auto" and client.has_extn("starttls")
            ):
                client.starttls(context=self._context())
                client.ehlo()
            if cfg.username:
                client.login(cfg.username, cfg.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def send(self, msg: EmailMessage) -> None:
        """Deliver one message; classify failures as connection-level or message-level."""
        sender = parseaddr(self.mail_from)[1] or self.mail_from
        rcpts = [addr for _, addr in getaddresses(msg.get_all("To", []))]
        try:
            if self._client is None:
                self._client = self._connect()
            self._client.send_message(msg, from_addr=sender, to_addrs=rcpts)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {code for code, _ in exc.recipients.values()}
            if codes & CLOSING_CODES:
                self._drop()
                raise SmtpUnavailable(f"{self._where()}: {exc.recipients}") from exc
            refused = "; ".join(
                f"{addr}: {code} {_text(reply)}" for addr, (code, reply) in exc.recipients.items()
            )
            raise MessageRejected(
                f"{self._where()}: recipient refused: {refused}", code=max(codes)
            ) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            reply = f"{self._where()}: {exc.smtp_code} {_text(exc.smtp_error)}"
            if exc.smtp_code in CLOSING_CODES:
                self._drop()
                raise SmtpUnavailable(reply) from exc
            if isinstance(exc, smtplib.SMTPSenderRefused) and exc.smtp_code >= 500:
                # Our own sender address refused: every message would be, whoever it is for.
                raise SmtpMisconfigured(f"{reply} (sender {sender} refused)") from exc
            raise MessageRejected(reply, code=exc.smtp_code) from exc
        except (
            smtplib.SMTPAuthenticationError,
            smtplib.SMTPNotSupportedError,
            ssl.SSLCertVerificationError,
        ) as exc:
            # AUTH rejected, STARTTLS or AUTH not offered, a certificate we do not trust: no retry
            # helps until the configuration (or the server) is fixed.
            self._drop()
            raise SmtpMisconfigured(
                f"{self._where()}: misconfigured: {exc.__class__.__name__}: {_reason(exc)}"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise SmtpUnavailable(f"{self._where()}: {exc.__class__.__name__}: {exc}") from exc

    def _drop(self) -> None:
        """Forget a broken session without waiting on it."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def close(self) -> None:
        """QUIT politely when the session is healthy."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError) as exc:
            log.debug("SMTP QUIT failed (messages were already accepted): %s", exc)
            client.close()
