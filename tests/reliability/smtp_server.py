"""A misbehaving mail server on loopback (aiosmtpd) for the delivery tests.

One port for the whole test; the server can be down (nothing listening: connection refused),
answer normally, or misbehave on cue: 451 or 550 replies, a connection dropped mid-DATA, AUTH
rejected, slow replies.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.integration.test_alerts_smtp import free_port


class Behaviour:
    """aiosmtpd handler: accepts mail unless told otherwise; keeps what it accepted."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.rcpt_reply: dict[str, str] = {}  # address -> reply to its RCPT (e.g. 550 ...)
        self.data_reply: str | None = None  # e.g. "451 try again later" for every DATA
        self.drop_on: int | None = None  # close the connection at this DATA (1-based)
        self.delay = 0.0  # seconds before each reply to MAIL, RCPT and DATA
        self.data_calls = 0

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        await asyncio.sleep(self.delay)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        await asyncio.sleep(self.delay)
        if address in self.rcpt_reply:
            return self.rcpt_reply[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        self.data_calls += 1
        if self.drop_on is not None and self.data_calls == self.drop_on:
            server.transport.close()
            return "421 going away"
        if self.data_reply:
            return self.data_reply
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"

    def ids(self, to: str | None = None) -> list[str]:
        """Message-IDs received (optionally only those to one address), in order."""
        return [str(m["Message-ID"]) for m in self.messages if to is None or to in str(m["To"])]

    def repeats(self) -> dict[str, int]:
        """Message-IDs received more than once."""
        return {k: n for k, n in Counter(self.ids()).items() if n > 1}


def reject_all(*_: Any) -> AuthResult:
    """An authenticator that refuses every login (a wrong password)."""
    return AuthResult(success=False, handled=False)


class MailServer:
    """A port that is down until :meth:`up`; the handler keeps its state across restarts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.handler = Behaviour()
        self._controller: Controller | None = None

    def up(self, *, auth: bool = False) -> None:
        """Start answering (``auth``: offer AUTH without TLS and reject every login)."""
        self.down()
        extra: dict[str, Any] = (
            {"authenticator": reject_all, "auth_require_tls": False} if auth else {}
        )
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **extra)
        self._controller.start()

    def down(self) -> None:
        """Stop answering: connections are refused."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def url(self, *, query: str = "starttls=0&timeout=5", userinfo: str = "") -> str:
        """The NEWSMON_SMTP_URL of this server."""
        at = f"{userinfo}@" if userinfo else ""
        return f"smtp://{at}127.0.0.1:{self.port}?{query}"
