"""The sources file that points the shipped sources at the replica."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from parsel import Selector

from pipeline.config.settings import PROJECT_ROOT
from pipeline.config.sources import ListingMethod, SourceConfig, load_sources
from pipeline.devtools.replay import ReplayServer, start_replay


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    with start_replay(port=0) as server:
        yield server


@pytest.fixture
def written(replay: ReplayServer, tmp_path: Path) -> Path:
    return replay.write_sources(tmp_path / "replay" / "sources.yaml", include_test_sources=True)


def fetch(url: str) -> tuple[int, bytes]:
    """GET without redirects."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def all_urls(src: SourceConfig) -> list[str]:
    """Every URL a source configures (page/archive templates filled in)."""
    urls = [src.homepage]
    for m in src.discovery:
        urls.append(m.url)
        page_url = getattr(m, "page_url", None)
        if page_url:
            urls.append(page_url.format(page=getattr(m, "first_page", 1) + 1))
        archive = getattr(m, "archive_url", None)
        if archive:
            urls.append(archive.format(date=date.today() - timedelta(days=2)))
    return urls


def article_urls(replay: ReplayServer, src: SourceConfig) -> list[str]:
    """Replica article URLs on the hosts a source may fetch."""
    out = []
    for site in replay.sites:
        if replay.ip_for(site) in src.allowed_domains:
            out += [replay.article_url(site, a.id) for a in replay.articles(site)]
    return out


def test_written_file_validates_and_points_only_at_loopback(
    replay: ReplayServer, written: Path
) -> None:
    sf = load_sources(written)
    names = {s.name for s in sf.sources}
    assert {
        "mid-ru",
        "kremlin",
        "tass",
        "mfa-am",
        "mfa-gov-az",
        "armenpress",
        "news-am",
        "apa",
        "azertag",
        "replica-faults",
    } <= names
    assert "president-az" not in names and "president-az" in written.read_text(encoding="utf-8")
    for src in sf.sources:
        assert all(re.fullmatch(r"127\.0\.0\.\d+", d) for d in src.allowed_domains), src.name
        for url in all_urls(src):
            parts = urlsplit(url)
            assert parts.scheme == "http" and parts.port == replay.port, url
            assert parts.hostname in src.allowed_domains, url


def test_every_configured_url_is_served(replay: ReplayServer, written: Path) -> None:
    for src in load_sources(written).sources:
        if src.name == "replica-faults":
            continue
        for url in all_urls(src):
            assert fetch(url)[0] == 200, f"{src.name}: {url}"


def test_url_patterns_match_replica_articles(replay: ReplayServer, written: Path) -> None:
    for src in load_sources(written).sources:
        arts = article_urls(replay, src)
        patterns = [m.url_pattern for m in src.discovery if getattr(m, "url_pattern", None)]
        patterns += [src.article.url_pattern] if src.article.url_pattern else []
        for pattern in patterns:
            assert any(re.search(pattern, u) for u in arts), (
                f"{src.name}: {pattern} matches nothing"
            )


def test_listing_selectors_find_articles_and_dates(replay: ReplayServer, written: Path) -> None:
    checked = 0
    for src in load_sources(written).sources:
        served = set(article_urls(replay, src))
        for m in src.discovery:
            if not isinstance(m, ListingMethod):
                continue
            page = Selector(text=fetch(m.url)[1].decode("utf-8"))
            items = page.css(m.item)
            assert items, f"{src.name}: {m.item} finds nothing on {m.url}"
            for item in items:
                link = urljoin(m.url, item.css(m.link).get() or "")
                assert link in served, f"{src.name}: {link}"
                if m.date and m.date_format:
                    text = " ".join(t.strip() for t in item.css(m.date).getall() if t.strip())
                    datetime.strptime(text, m.date_format)  # raises when the format is wrong
                checked += 1
    assert checked >= 10


def test_host_names_inside_regexes_are_rewritten(replay: ReplayServer, tmp_path: Path) -> None:
    shipped = (PROJECT_ROOT / "seeds" / "sources.yaml").read_text(encoding="utf-8")
    custom = tmp_path / "sources.yaml"
    custom.write_text(
        shipped.replace(
            "url_pattern: /(en|hy|ru)/article/\\d+",
            "url_pattern: ^https://(www\\.)?armenpress\\.am/(en|hy)/article/\\d+$",
        ),
        encoding="utf-8",
    )
    assert "armenpress\\.am" in custom.read_text(encoding="utf-8")
    out = load_sources(replay.write_sources(tmp_path / "out.yaml", custom))
    pattern = out.get("armenpress").article.url_pattern or ""
    assert "armenpress" not in pattern
    assert re.search(pattern, replay.article_url("armenpress.am", "en-1231457"))
    assert not re.search(pattern, replay.article_url("news.am", "eng-905512"))


def test_reads_the_shipped_file_not_the_sources_override(
    replay: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.config.settings import get_settings

    monkeypatch.setenv("NEWSMON_SOURCES_FILE", str(tmp_path / "does-not-exist.yaml"))
    monkeypatch.setenv("NEWSMON_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    path = replay.write_sources()
    assert path == tmp_path / "var" / "replay" / "sources.yaml"
    assert "replica-faults" not in {s.name for s in load_sources(path).sources}
