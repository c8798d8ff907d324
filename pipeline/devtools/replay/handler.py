"""HTTP framing for the replica: per-site listener, validators (ETag, 304), request records."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jinja2 import TemplateError

from pipeline.devtools.replay.dates import http_date
from pipeline.devtools.replay.faults import serve_fault
from pipeline.devtools.replay.render import Rendered, SiteRuntime

if TYPE_CHECKING:
    from pipeline.devtools.replay.server import ReplayServer


@dataclass(frozen=True)
class RequestRecord:
    """One request the replica answered."""

    site: str
    method: str
    path: str  # path plus ?query, as sent
    status: int  # 0 when no response was sent (slow fault interrupted)
    if_none_match: str | None
    if_modified_since: str | None
    user_agent: str | None
    at: datetime


class SiteServer(ThreadingHTTPServer):
    """A listener bound to one site's address."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], replay: ReplayServer, runtime: SiteRuntime) -> None:
        self.replay, self.runtime = replay, runtime
        super().__init__(addr, _Handler)


def _etag(body: bytes) -> str:
    """A strong validator derived from the bytes served."""
    return '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:20] + '"'


def _not_modified(h: BaseHTTPRequestHandler, etag: str, last: datetime | None) -> bool:
    """RFC 9110: If-None-Match wins; else If-Modified-Since against Last-Modified."""
    inm = h.headers.get("If-None-Match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag in tags
    ims = h.headers.get("If-Modified-Since")
    if ims and last is not None:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False  # an unparsable date is ignored, as the RFC says
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return last.replace(microsecond=0) <= since
    return False


class _Handler(BaseHTTPRequestHandler):
    """GET/HEAD for one site."""

    server: SiteServer
    _recorded = False
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the client's
    # delayed ACK adds ~40 ms to every keep-alive response (measured: 28 req/s instead of ~1000).
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"  # keep-alive, as crawlers use it
    timeout = 10  # idle keep-alive connections close after this many seconds

    def version_string(self) -> str:
        """The Server header."""
        return "replica/1.0"

    def do_GET(self) -> None:
        """Serve a page."""
        self._serve(head=False)

    def do_HEAD(self) -> None:
        """Serve headers only."""
        self._serve(head=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence stderr logging; requests go to the replica's own log."""

    def send_response(self, code: int, message: str | None = None) -> None:
        """Record the request before anything reaches the client, so a client that has its
        answer always finds the request in the log (no race with the test's assertions)."""
        if not self._recorded:
            self._recorded = True
            self.server.replay._record(self.server.runtime.site.name, self, code)
        super().send_response(code, message)

    def _serve(self, head: bool) -> None:
        """Route, answer and record one request."""
        replay, runtime = self.server.replay, self.server.runtime
        self._recorded = False
        parts = urlsplit(self.path)
        path = parts.path or "/"
        status = 0
        try:
            r = runtime.respond(path, parts.query)
            if r.fault:
                status = serve_fault(
                    self,
                    r.fault,
                    path=path,
                    query=parts.query,
                    head=head,
                    stopping=replay._stopping,
                    slow_seconds=replay.slow_seconds,
                    oversized_bytes=replay.oversized_bytes,
                    offsite_url=replay.offsite_url(path),
                )
            else:
                status = self._send(r, head)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client hung up (e.g. it refused an oversized page)
        except TemplateError as exc:
            # A broken fixture: answer 500 and keep the error for tests (replay.errors).
            replay.errors.append(f"{runtime.site.name}{self.path}: {exc!r}")
            status = 500
            self.send_error(500, "replica template error")
        finally:
            if not self._recorded:  # nothing was sent (an interrupted slow fault)
                self._recorded = True
                replay._record(runtime.site.name, self, status)

    def _send(self, r: Rendered, head: bool) -> int:
        """Frame a rendered response, turning it into a 304 when the client's copy is current."""
        etag = _etag(r.body)
        status = r.status
        if status == 200 and _not_modified(self, etag, r.last_modified):
            status = 304
        self.send_response(status)
        if status != 304:
            self.send_header("Content-Type", r.content_type)
            self.send_header("Content-Length", str(len(r.body)))
        else:
            self.send_header("Content-Length", "0")  # keep-alive framing for an empty 304
        if status in (200, 304):
            self.send_header("ETag", etag)
            if r.last_modified is not None:
                self.send_header("Last-Modified", http_date(r.last_modified))
            self.send_header("Cache-Control", "no-cache")
        if r.location:
            self.send_header("Location", r.location)
        self.end_headers()
        if not head and status != 304:
            self.wfile.write(r.body)
        return status
