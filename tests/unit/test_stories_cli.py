"""``newsmon stories``: publication time first, fetch time second, origin first, "story N"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from pipeline.cli import _register, app
from pipeline.cli.common import out
from pipeline.config.settings import get_settings
from pipeline.store.db import session_scope
from pipeline.store.models import utcnow
from tests.alerts_data import copy_of, story

_register()


@pytest.fixture
def narrow(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """UTC times and an 80-column console made afresh for this test."""
    monkeypatch.setenv("NEWSMON_TIMEZONE", "UTC")
    monkeypatch.setenv("COLUMNS", "80")
    get_settings.cache_clear()
    out.__dict__.pop("rich", None)
    yield
    out.__dict__.pop("rich", None)


def test_outlets_by_publication_with_fetch_time_second(db_url: str, narrow: None) -> None:
    noon = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    with session_scope(db_url) as s:
        cluster, origin = story(s, n=1, published=noon)
        origin.first_seen_at = noon + timedelta(hours=2, minutes=54)
        # The agency was fetched a minute before the ministry, but published after it.
        agency = copy_of(s, cluster, origin, source_name="armenpress")
        agency.published_at = noon + timedelta(minutes=30)
        agency.first_seen_at = noon + timedelta(hours=2, minutes=53)
        wire = copy_of(s, cluster, origin, source_name="tass")
        wire.published_at = noon + timedelta(minutes=10)
        wire.first_seen_at = noon + timedelta(hours=3)
        undated = copy_of(s, cluster, origin, source_name="ria")
        undated.published_at = None
        undated.first_seen_at = noon + timedelta(hours=1)
        s.flush()
        story_id = cluster.id
    result = CliRunner().invoke(app, ["stories"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), result.stdout
    assert lines[2] == f"story {story_id} Statement 1 on regional transport"
    # One line per outlet: the origin first, the others by publication time, an undated one by
    # its fetch time; published first, fetched second (only the time on the publication's day).
    day = f"{noon:%d %b}"
    assert [" ".join(line.split()) for line in lines[3:]] == [
        f"mfa-am en published {day} 12:00 fetched 14:54",
        f"tass en published {day} 12:10 fetched 15:00",
        f"armenpress en published {day} 12:30 fetched 14:53",
        f"ria en published undated fetched {day} 13:00",
    ]
    assert "the first outlet of each is its origin" in lines[0]
    as_json = CliRunner().invoke(app, ["stories", "--json"])
    members = [m["source"] for m in json.loads(as_json.stdout)["members"]]
    assert members == ["mfa-am", "tass", "armenpress", "ria"]


def test_no_story_says_why(db_url: str, narrow: None) -> None:
    result = CliRunner().invoke(app, ["stories", "--topic", "peace-treaty"])
    assert result.exit_code == 0
    assert "No stories with --topic peace-treaty" in result.stdout
    assert "newsmon demo" in result.stdout
