"""The analyst's view on a database the real pipeline built: pages, API, judgements, links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from pipeline.alerts.render import group_items, render_instant
from pipeline.alerts.stories import load_story
from pipeline.cli import _register, app
from pipeline.config.settings import get_settings
from pipeline.store import db
from pipeline.store.models import AlertMute, Document, Judgement
from pipeline.web.app import create_app
from pipeline.web.links import verify
from tests.alerts_data import subscribers
from tests.webdata import STATEMENT_URL, built_site_db, site_db, statement_story

__all__ = ["built_site_db", "site_db"]  # fixtures used by name
_register()
runner = CliRunner()
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def client(site_db: str) -> TestClient:
    """A client of the standalone app (loopback, no token)."""
    return TestClient(create_app(secret_key="test-key-for-forms"))


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = CSRF.search(html)
    assert found, "the page has no form token"
    return found.group(1)


def test_today_shows_the_statement_story_with_its_passage(site_db: str, client: TestClient) -> None:
    story, title = statement_story(site_db)
    page = client.get("/")
    assert page.status_code == 200
    assert f'href="/stories/{story}"' in page.text
    card = page.text.split(f'id="story-{story}"', 1)[1].split("</article>", 1)[0]
    assert title in card.replace("&#39;", "'")
    assert '<div class="passage">' in card and "<mark>" in card
    assert "Zangezur" in card or "Зангезур" in card


def test_today_filters_narrow_the_stories(site_db: str, client: TestClient) -> None:
    story, _ = statement_story(site_db)
    assert f"/stories/{story}" in client.get("/", params={"source": "mid-ru"}).text
    assert f"/stories/{story}" not in client.get("/", params={"source": "mfa-am"}).text
    assert f"/stories/{story}" not in client.get("/", params={"day": "2001-01-01"}).text
    assert client.get("/", params={"day": "yesterday"}).status_code == 400


def test_search_finds_every_script_and_vowel_shifted_spellings(client: TestClient) -> None:
    found = client.get("/api/search", params={"q": "Зангезур"}).json()["results"]
    languages = {r["language"] for r in found}
    assert {"en", "hy", "ru"} <= languages, languages
    # The Russian spelling with other vowels finds the English and Azerbaijani texts.
    nakh = client.get("/api/search", params={"q": "Нахичевань"}).json()["results"]
    assert {"en", "az"} <= {r["language"] for r in nakh}
    html = client.get("/search", params={"q": "Зангезур"}).text
    assert "<mark>" in html


def test_story_page_lists_versions_matches_and_alert_history(
    site_db: str, client: TestClient
) -> None:
    story, _ = statement_story(site_db)
    page = client.get(f"/stories/{story}").text
    assert STATEMENT_URL in page
    assert "tass.com" in page  # a copy, with a link to the original page
    assert "Versions and copies" in page and "caucasus-desk" in page  # alert history
    data = client.get(f"/api/stories/{story}").json()
    assert len(data["members"]) >= 3 and {"en", "ru"} <= set(data["languages"])
    assert data["alerts"] and data["alerts"][0]["channel"] == "email"
    assert all(p["hits"] for m in data["matches"] for p in m["passages"])


def test_not_relevant_is_recorded_and_counted_by_evaluate_stored(
    site_db: str, client: TestClient
) -> None:
    story, _ = statement_story(site_db)
    page = client.get(f"/stories/{story}").text
    sent = client.post(
        f"/stories/{story}/judge",
        data={"csrf": csrf_of(page), "topic": "zangezur-corridor", "verdict": "not-relevant"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert "Judgement recorded" in client.get(sent.headers["location"]).text
    with db.session_scope(site_db) as session:
        row = session.scalar(select(Judgement).where(Judgement.topic_id == "zangezur-corridor"))
        assert row is not None and row.relevant is False and row.cluster_id == story
    result = runner.invoke(app, ["topics", "evaluate", "--stored", "--topic", "zangezur-corridor"])
    assert result.exit_code == 0, result.output
    assert "zangezur-corridor" in result.output
    topics = {t["id"]: t for t in client.get("/api/topics").json()}
    assert topics["zangezur-corridor"]["not_relevant_matched"] == 1
    assert topics["zangezur-corridor"]["precision"] == 0.0


def test_mute_takes_the_story_off_today(site_db: str, client: TestClient) -> None:
    story, _ = statement_story(site_db)
    page = client.get(f"/stories/{story}").text
    form = page.split('class="mute"', 1)[1]
    sent = client.post(f"/stories/{story}/mute", data={"csrf": csrf_of(form)})
    assert sent.status_code == 200 and "Story muted" in sent.text
    with db.session_scope(site_db) as session:
        assert session.scalar(select(AlertMute.cluster_id)) == story
    assert f"/stories/{story}" not in client.get("/").text


def test_topics_sources_and_feeds(client: TestClient) -> None:
    assert "Zangezur" in client.get("/topics").text
    assert "Judged examples" in client.get("/topics/zangezur-corridor").text
    sources = client.get("/api/sources").json()
    assert {s["name"] for s in sources} >= {"mid-ru", "tass"}
    page = client.get("/sources").text
    # Ingested pages only: no crawl yet, so the sources that never gave a document come first.
    assert page.index("never crawled") < page.index("mid-ru")
    feed = client.get("/feeds/zangezur-corridor.xml")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert b"<feed" in feed.content
    assert client.get("/feeds/no-such-topic.xml").status_code == 404
    assert client.get("/api/openapi.json").json()["info"]["title"] == "newsmon"


def test_email_links_open_a_confirmation_and_record_on_post(
    site_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_WEB_URL", "https://newsmon.example.org/")
    monkeypatch.setenv("NEWSMON_SECRET_KEY", "k" * 40)
    get_settings.cache_clear()
    story, _ = statement_story(site_db)
    sub = subscribers({"id": "desk", "email": "desk@example.org", "topics": ["*"],
                       "mode": "instant"}).items[0]  # fmt: skip
    with db.session_scope(site_db) as session:
        view = load_story(session, story, "zangezur-corridor")
    assert view is not None
    message = render_instant(sub, group_items([view])[0])
    assert f"https://newsmon.example.org/stories/{story}" in message.html
    links = re.findall(r"https://newsmon\.example\.org(/oneclick/[^\s\"<]+)", message.text)
    assert links, message.text
    assert verify(links[0].rsplit("/", 1)[1]).story == story
    client = TestClient(create_app())
    page = client.get(links[0])
    assert page.status_code == 200 and "Nothing is recorded until you press" in page.text
    with db.session_scope(site_db) as session:
        assert session.scalar(select(Judgement)) is None  # a GET changes nothing
    done = client.post(links[0], data={"csrf": csrf_of(page.text)})
    assert done.status_code == 200 and "Recorded" in done.text
    with db.session_scope(site_db) as session:
        row = session.scalar(select(Judgement))
        assert row is not None and not row.relevant and "desk" in (row.note or "")


def test_db_reindex_brings_old_search_text_up_to_date(site_db: str, tmp_path: Path) -> None:
    with db.session_scope(site_db) as session:
        session.execute(update(Document).values(search_text="stale"))
    with db.session_scope(site_db) as session:
        assert not session.scalars(select(Document.id).where(Document.search_text != "stale")).all()
    result = runner.invoke(app, ["db", "reindex", "--batch", "7"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(app, ["search", "Nakhchivan", "--json"])
    assert again.exit_code == 0 and '"language": "az"' in again.output
    second = runner.invoke(app, ["db", "reindex"])
    assert ", 0 updated" in second.output
