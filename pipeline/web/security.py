"""Who may use the view and how a form proves it came from the view.

* **Gate**: standalone, a token (``NEWSMON_WEB_TOKEN``) as ``Authorization: Bearer`` or the
  cookie the login form sets; required off loopback. Inside Airflow the plugin passes a gate that
  asks Airflow for the logged-in user instead.
* **CSRF**: a random value in an HttpOnly, SameSite=Strict cookie; each form carries its signed
  copy, and a POST whose copy does not match its cookie is refused (double-submit cookie).
* **Headers**: a Content-Security-Policy without inline scripts, no sniffing, framing only by the
  same origin (the Airflow UI shows the view in a frame).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from pipeline.errors import ConfigError

CSRF_COOKIE = "newsmon_csrf"
TOKEN_COOKIE = "newsmon_token"
CSRF_FIELD = "csrf"
CSRF_SALT = "newsmon.csrf.v1"
# Scripts and styles only from this server, forms only to it, frames only by the same origin.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'self'; base-uri 'none'; object-src 'none'"
)
# FastAPI's API documentation page is Swagger UI: an inline script and its assets from a CDN.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data: https://fastapi.tiangolo.com; "
    "style-src 'self' https://cdn.jsdelivr.net; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "frame-ancestors 'self'; base-uri 'none'; object-src 'none'"
)

# A gate returns who is asking (for the judgement's note), or raises HTTPException 401/403.
Gate = Callable[[Request], Awaitable[str | None]]


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str) -> None:
    """ConfigError when the view would be served beyond this machine without a token."""
    if not token and not is_loopback(host):
        raise ConfigError(
            f"serving on {host} (not loopback) needs NEWSMON_WEB_TOKEN: anyone who can reach "
            "the port could read the archive and record judgements; set a long random token, "
            "or serve on 127.0.0.1"
        )


def base_path(request: Request) -> str:
    """Where the app is mounted ("" standalone, "/newsmon" inside Airflow)."""
    return str(request.scope.get("root_path") or "").rstrip("/")


def token_gate(token: str) -> Gate:
    """The standalone gate: the token as a bearer credential or cookie (none needed if unset)."""

    async def gate(request: Request) -> str | None:
        if not token:
            return None
        auth = request.headers.get("authorization", "")
        given = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        given = given or request.cookies.get(TOKEN_COOKIE, "")
        if given and hmac.compare_digest(given.encode(), token.encode()):
            return "token"
        raise HTTPException(status_code=401, detail="log in with the NEWSMON_WEB_TOKEN token")

    return gate


def token_matches(given: str, token: str) -> bool:
    """Constant-time comparison of a submitted token."""
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


class Csrf:
    """Double-submit CSRF tokens signed with the app's key."""

    def __init__(self, key: str) -> None:
        self._signer = URLSafeSerializer(key, salt=CSRF_SALT)

    def token_for(self, request: Request) -> str:
        """The form token matching this browser's CSRF cookie."""
        return str(self._signer.dumps(request.state.csrf_nonce))

    def check(self, request: Request, submitted: str | None) -> None:
        """HTTPException 403 unless ``submitted`` is the signed copy of the request's cookie."""
        nonce = request.cookies.get(CSRF_COOKIE, "")
        try:
            expected: Any = self._signer.loads(submitted or "")
        except BadSignature:
            expected = None
        if not nonce or not isinstance(expected, str) or not hmac.compare_digest(expected, nonce):
            raise HTTPException(
                status_code=403,
                detail="the form's security token is missing or stale; reload the page and retry",
            )


class Protect(BaseHTTPMiddleware):
    """Gives each browser a CSRF cookie and adds the security headers to every response."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        """Run the request with ``request.state.csrf_nonce`` set; add cookie and headers."""
        nonce = request.cookies.get(CSRF_COOKIE)
        fresh = not nonce
        request.state.csrf_nonce = nonce or secrets.token_urlsafe(32)
        response = await call_next(request)
        if fresh:
            response.set_cookie(
                CSRF_COOKIE,
                request.state.csrf_nonce,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path=base_path(request) or "/",
            )
        docs = request.url.path.endswith("/api/docs")
        response.headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
