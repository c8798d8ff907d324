"""A database like the demo's for the web view's tests, built by the real pipeline.

The replica sites' articles (``tests/fixtures/sites``) are rendered without sockets at their real
addresses (so ``newsmon ingest`` attributes them to the seeded sources), ingested (cleaned,
folded into stories, matched to topics) and the alerts planned for the seeded subscribers. Built
once per test session and copied for each test.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.alerts import load_subscribers
from pipeline.alerts.ledger import plan_alerts
from pipeline.config.settings import get_settings
from pipeline.devtools.replay.render import SiteRuntime, anchor_epoch
from pipeline.devtools.replay.server import SITES_DIR
from pipeline.devtools.replay.site import load_site
from pipeline.stages.ingest import ingest_paths
from pipeline.store import db
from pipeline.store.models import Cluster, Document, Source

SITES = (
    "mid.ru", "tass.com", "tass.ru", "armenpress.am", "news.am", "mfa.gov.az", "azertag.az",
    "en.apa.az", "mfa.am",
)  # fmt: skip
# The ministry statement of the demo: its English origin and the Armenian agency's version.
STATEMENT_URL = "mid.ru/en/foreign_policy/news/2051874"
ARMENIAN_URL = "armenpress.am/hy/"


def render_pages(out: Path) -> int:
    """Write every visible replica article of SITES as a saved page; returns how many."""
    out.mkdir(parents=True, exist_ok=True)
    anchor = datetime.now(UTC).date()
    written = 0
    for name in SITES:
        site = load_site(SITES_DIR / name)
        runtime = SiteRuntime(
            site, anchor, f"https://{site.manifest.hosts[0]}", lambda _s, p: p, anchor_epoch(anchor)
        )
        for article_id, art in runtime.articles.items():
            if art.visible:
                page = runtime.respond(art.path, "")
                (out / f"{name}-{article_id}.html").write_bytes(page.body)
                written += 1
    return written


def build(url: str, work: Path) -> None:
    """Ingest the rendered pages into ``url`` and plan the seeded subscribers' alerts."""
    render_pages(work / "pages")
    db.ensure_schema(url)
    report = ingest_paths([work / "pages"])
    assert report.outcomes.get("new", 0) > 20, report.outcomes
    with db.session_scope(url) as session:
        plan_alerts(session, load_subscribers())
    db.reset_engines()  # closes the connections: the WAL is checkpointed into the file


@pytest.fixture(scope="session")
def built_site_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The database file, built once per session."""
    work = tmp_path_factory.mktemp("webdb")
    path = work / "site.db"
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{path}")
        mp.setenv("NEWSMON_VAR_DIR", str(work / "var"))
        mp.setenv("NEWSMON_MODE", "test")
        get_settings.cache_clear()
        build(f"sqlite:///{path}", work)
    finally:
        mp.undo()
        get_settings.cache_clear()
        db.reset_engines()
    return path


@pytest.fixture
def site_db(built_site_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private copy of the built database, set as NEWSMON_DATABASE_URL."""
    path = tmp_path / "site.db"
    shutil.copyfile(built_site_db, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("NEWSMON_DATABASE_URL", url)
    get_settings.cache_clear()
    db.reset_engines()
    return url


def statement_story(url: str) -> tuple[int, str]:
    """The ministry statement's story id and its origin's title."""
    with db.session_scope(url) as session:
        doc = session.scalar(select(Document).where(Document.url.contains(STATEMENT_URL)))
        assert doc is not None and doc.cluster_id is not None
        cluster = session.get(Cluster, doc.cluster_id)
        assert cluster is not None and cluster.origin_document_id is not None
        origin = session.get(Document, cluster.origin_document_id)
        assert origin is not None
        source = session.get(Source, origin.source_id)
        assert source is not None and source.official, "the statement's origin is the ministry"
        return doc.cluster_id, origin.title
