"""The application factory: templates, security, error pages and the routers.

``create_app()`` is what ``newsmon serve`` runs (with the token gate) and what the Airflow plugin
mounts at ``/newsmon`` (with a gate asking Airflow for the logged-in user). Pages are rendered on
the server and work without JavaScript; every state change is a POST with a CSRF token.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.orm import Session

from pipeline.alerts.render import TEMPLATES_DIR as ALERT_TEMPLATES
from pipeline.alerts.render import language_name, local_time, safe_url, terms_label
from pipeline.config.settings import get_settings
from pipeline.errors import InputError
from pipeline.store.db import session_scope
from pipeline.store.models import utcnow
from pipeline.web.security import Csrf, Gate, Protect, base_path, token_gate

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
# Read once: the stylesheet is served from memory, so no request path ever reaches the disk.
STYLESHEET = (HERE / "static" / "web.css").read_bytes()


def pct(value: float | None) -> str:
    """A share as a percentage ("—" when there is none)."""
    return "—" if value is None else f"{value * 100:.0f}%"


@cache
def environment() -> Environment:
    """The web templates, with the alert templates' partials importable (shared story parts)."""
    env = Environment(
        loader=ChoiceLoader(
            [FileSystemLoader(str(HERE / "templates")), FileSystemLoader(str(ALERT_TEMPLATES))]
        ),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        localtime=local_time, language=language_name, safe_url=safe_url, terms=terms_label, pct=pct
    )
    return env


class Web:
    """What the routes share: the gate, CSRF signer and the page renderer."""

    def __init__(self, gate: Gate, key: str) -> None:
        self.gate = gate
        self.csrf = Csrf(key)

    def page(self, request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        """Render a page template with the common context."""
        base = base_path(request)

        def link(path: str, **params: Any) -> str:
            """A URL inside the app, with the non-empty query parameters."""
            query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
            return base + path + (f"?{query}" if query else "")

        html = (
            environment()
            .get_template(name)
            .render(
                base=base,
                link=link,
                csrf=self.csrf.token_for(request),
                now=utcnow(),
                tz=get_settings().timezone,
                path=request.url.path,
                **ctx,
            )
        )
        return HTMLResponse(html, status_code=status)


def web(request: Request) -> Web:
    """The app's shared state."""
    found: Web = request.app.state.web
    return found


async def user(request: Request) -> str | None:
    """Who is asking (the gate raises 401/403 for nobody)."""
    return await web(request).gate(request)


def db_session() -> Iterator[Session]:
    """One transaction per request."""
    with session_scope() as session:
        yield session


def _wants_json(request: Request) -> bool:
    """API paths and clients that ask for JSON get JSON errors."""
    path = request.url.path[len(base_path(request)) :]
    return path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def create_app(gate: Gate | None = None, *, secret_key: str | None = None) -> FastAPI:
    """The analyst's view; ``gate`` decides who may use it (default: the NEWSMON_WEB_TOKEN gate)."""
    from pipeline.web import api, pages

    settings = get_settings()
    key = secret_key or settings.secret_key
    if not key:
        # Forms still work (their tokens only have to outlive this process); email links need
        # the configured key, so they are refused until it is set.
        log.info("NEWSMON_SECRET_KEY is not set: one-click email links are off")
        key = secrets.token_urlsafe(32)
    app = FastAPI(
        title="newsmon",
        summary="The day's stories on your topics, search across spellings, judgements.",
        version="1",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.web = Web(gate or token_gate(settings.web_token), key)
    app.add_middleware(Protect)
    private = [Depends(user)]
    app.include_router(pages.public)
    app.include_router(pages.router, dependencies=private)
    app.include_router(api.router, prefix="/api", dependencies=private)

    @app.get("/static/web.css", include_in_schema=False)
    def stylesheet() -> Response:
        return Response(
            STYLESHEET,
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        if exc.status_code == 401:
            return web(request).page(
                request, "login.html", status=401, next=request.url.path, error=None
            )
        return web(request).page(
            request, "message.html", status=exc.status_code, title="Not possible",
            message=str(exc.detail),
        )  # fmt: skip

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return web(request).page(
            request, "message.html", status=400, title="Check the request", message=str(exc)
        )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}"
            for e in exc.errors()
        )
        if _wants_json(request):
            return JSONResponse({"detail": problems}, status_code=422)
        return web(request).page(
            request, "message.html", status=422, title="Check the request", message=problems
        )

    return app


def as_of(moment: datetime | None) -> str | None:
    """ISO-8601 for JSON."""
    return moment.isoformat() if moment else None
