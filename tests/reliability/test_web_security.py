"""The analyst's view under hostile input: escaped titles, forged links, CSRF, the access token."""

from __future__ import annotations

import re
import secrets
import time

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select, update
from typer.testing import CliRunner

from pipeline.cli import _register, app
from pipeline.config.settings import get_settings
from pipeline.store import db
from pipeline.store.models import Cluster, Document, Judgement, Source, Topic
from pipeline.web.app import create_app
from pipeline.web.links import SALT, sign
from tests.webdata import built_site_db, site_db, statement_story

__all__ = ["built_site_db", "site_db"]  # fixtures used by name
_register()
HOSTILE = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
KEY = "s" * 40


@pytest.fixture
def keyed(site_db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The site database with NEWSMON_SECRET_KEY set."""
    monkeypatch.setenv("NEWSMON_SECRET_KEY", KEY)
    get_settings.cache_clear()
    return site_db


def _hostile(url: str) -> int:
    """Put the hostile string in every title, topic name and source label; the story id."""
    story, _ = statement_story(url)
    with db.session_scope(url) as session:
        session.execute(update(Document).values(title=HOSTILE + " Зангезур"))
        session.execute(update(Topic).values(name=HOSTILE, description=HOSTILE))
        for src in session.scalars(select(Source)):
            src.config = {**(src.config or {}), "label": HOSTILE}
    return story


def test_a_script_title_is_escaped_on_every_page(keyed: str) -> None:
    story = _hostile(keyed)
    client = TestClient(create_app())
    token = sign(story, "zangezur-corridor", HOSTILE)
    pages = [
        "/", f"/stories/{story}", "/search?q=Зангезур", f"/search?q={HOSTILE}", "/topics",
        "/topics/zangezur-corridor", "/sources", f"/oneclick/{token}", "/login?next=" + HOSTILE,
        "/stories/999999", "/?day=" + HOSTILE,
    ]  # fmt: skip
    for path in pages:
        page = client.get(path)
        assert "<script>alert" not in page.text, path
        assert "<img src=x" not in page.text, path
        assert page.headers["content-security-policy"].startswith("default-src 'self'"), path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(f"/stories/{story}").text
    feed = client.get("/feeds/zangezur-corridor.xml").text
    assert "<script>" not in feed and "&lt;script&gt;" in feed


def test_a_forged_or_expired_link_is_refused(keyed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    story, _ = statement_story(keyed)
    client = TestClient(create_app())
    good = sign(story, "zangezur-corridor", "desk")
    forged = sign(story, "zangezur-corridor", "desk", secret=secrets.token_urlsafe(24))
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: 1_000_000_000.0)  # signed in 2001
        expired = URLSafeTimedSerializer(KEY, salt=SALT).dumps(
            {"s": story, "t": "zangezur-corridor", "u": "desk"}
        )
    for token, reason in ((forged, "not valid"), (tampered, "not valid"), (expired, "expired")):
        shown = client.get(f"/oneclick/{token}")
        assert shown.status_code == 403 and reason in shown.text
        page = client.get(f"/oneclick/{good}")
        form = CSRF.search(page.text)
        assert form is not None
        posted = client.post(f"/oneclick/{token}", data={"csrf": form.group(1)})
        assert posted.status_code == 403
    with db.session_scope(keyed) as session:
        assert session.scalar(select(Judgement)) is None
    assert client.get(f"/oneclick/{good}").status_code == 200


def test_a_post_without_the_csrf_token_is_refused(keyed: str) -> None:
    story, _ = statement_story(keyed)
    client = TestClient(create_app())
    page = client.get(f"/stories/{story}").text
    token = CSRF.search(page)
    assert token is not None
    attempts = [
        {"topic": "zangezur-corridor", "verdict": "not-relevant"},
        {"topic": "zangezur-corridor", "verdict": "not-relevant", "csrf": "forged"},
    ]
    for data in attempts:
        assert client.post(f"/stories/{story}/judge", data=data).status_code == 403
    assert client.post(f"/stories/{story}/mute", data={}).status_code == 403
    # A valid token of another browser does not fit this browser's cookie.
    other = TestClient(create_app())
    other.get("/")
    refused = other.post(f"/stories/{story}/mute", data={"csrf": token.group(1)})
    assert refused.status_code == 403
    link = sign(story, "zangezur-corridor", "desk")
    assert client.post(f"/oneclick/{link}", data={}).status_code == 403
    with db.session_scope(keyed) as session:
        assert session.scalar(select(Judgement)) is None
        cluster = session.get(Cluster, story)
        assert cluster is not None
    assert f"/stories/{story}" in client.get("/").text  # not muted


def test_serving_off_loopback_needs_the_token(site_db: str) -> None:
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code != 0
    assert "NEWSMON_WEB_TOKEN" in str(result.exception)


def test_with_a_token_every_page_and_api_asks_for_it(
    site_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "t0k" * 12
    monkeypatch.setenv("NEWSMON_WEB_TOKEN", secret)
    monkeypatch.setenv("NEWSMON_SECRET_KEY", KEY)
    get_settings.cache_clear()
    story, _ = statement_story(site_db)
    client = TestClient(create_app())
    for path in ("/", f"/stories/{story}", "/search?q=x", "/topics", "/sources", "/api/stories",
                 "/feeds/zangezur-corridor.xml"):  # fmt: skip
        assert client.get(path).status_code == 401, path
    assert "Log in" in client.get("/").text
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/api/stories", headers=wrong).status_code == 401
    right = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/stories", headers=right).status_code == 200
    # The one-click link is its own authorisation.
    assert client.get(f"/oneclick/{sign(story, 'zangezur-corridor', 'desk')}").status_code == 200
    login = client.get("/login").text
    csrf = CSRF.search(login)
    assert csrf is not None
    bad = client.post("/login", data={"csrf": csrf.group(1), "token": "guess", "next": "/"})
    assert bad.status_code == 401
    ok = client.post(
        "/login",
        data={"csrf": csrf.group(1), "token": secret, "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/"  # never an open redirect
    assert client.get("/").status_code == 200  # the cookie now carries the token
