"""The demo's day folds each statement with its versions and reports, and nothing else.

The replica is crawled source by source and processed, as ``newsmon run-day`` does, with the
shipped sources (their ``organisation`` keys) pointed at it. The Russian Foreign Ministry's
statement must be one story with its Russian original, the copies (TASS, Armenpress, news.am)
and the reports in other languages that name the ministry as their source (APA in Azerbaijani
and English); the Kremlin's English and Russian readouts of one call must be one story; the
neighbours (the Armenian and Azerbaijani ministries' own accounts of one meeting, the Kremlin's
other readouts, the ministry's other statements) stay out of both.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from pipeline.config.settings import get_settings
from pipeline.devtools.demo import demo_configured
from pipeline.devtools.replay import start_replay
from pipeline.stages import orchestrate
from pipeline.store import db
from pipeline.store.models import Document

pytestmark = pytest.mark.slow

STATEMENT = {
    ("mid.ru", "2051874"),  # the statement, English
    ("mid.ru", "2051873"),  # the statement, Russian
    ("tass.ru", "25123456"),
    ("tass.com", "2201457"),
    ("armenpress.am", "en-1231457"),
    ("armenpress.am", "hy-1231456"),
    ("news.am", "eng-905512"),
    ("news.am", "arm-905511"),
    ("apa.az", "902311"),  # Azerbaijani report naming "Rusiya XİN"
    ("en.apa.az", "902315"),
}
CALL = {("kremlin.ru", "81234"), ("en.kremlin.ru", "81234")}


def _place(url: str) -> tuple[str, str]:
    """Host and path of a URL (the replica's hosts differ by address, not by path)."""
    parts = urlsplit(url)
    return parts.netloc, parts.path


def test_the_demo_statement_and_the_kremlin_readout_fold_and_their_neighbours_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{tmp_path / 'newsmon.db'}")
    get_settings.cache_clear()
    db.reset_engines()
    sites = {site for site, _ in STATEMENT | CALL} | {"mfa.am", "mfa.gov.az"}
    with start_replay(port=0) as replay:
        sources = replay.write_sources(tmp_path / "sources.yaml")
        where = {
            (site, art.id): _place(replay.article_url(site, art.id))
            for site in sites
            for art in replay.articles(site)
        }
        with demo_configured(sources):
            for name in orchestrate.source_names(None):
                orchestrate.crawl_source(name)
            orchestrate.process()
            with db.session_scope() as session:
                stories = {_place(d.url): d.cluster_id for d in session.scalars(select(Document))}

    def story(site: str, article_id: str) -> int | None:
        place = where[(site, article_id)]
        assert place in stories, f"{site} {article_id} was not stored"
        return stories[place]

    statement = {story(*key) for key in STATEMENT}
    assert len(statement) == 1, statement
    call = {story(*key) for key in CALL}
    assert len(call) == 1 and call != statement, call
    # Nothing else joined the two stories.
    members = sum(1 for cid in stories.values() if cid in statement | call)
    assert members == len(STATEMENT) + len(CALL)
    # The two ministries' own accounts of one meeting are two stories.
    assert story("mfa.am", "en-13421") != story("mfa.gov.az", "en-412")
    # The Kremlin's other readouts keep their own stories.
    others = {
        story(site, i) for site in ("en.kremlin.ru", "kremlin.ru") for i in ("81188", "81210")
    }
    assert not others & call
