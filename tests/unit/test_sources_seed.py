"""seeds/sources.yaml: the shipped file loads; bad files fail naming file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from pipeline.config import seedfile
from pipeline.config.sources import (
    FeedMethod,
    ListingMethod,
    SitemapMethod,
    load_sources,
)
from pipeline.errors import SeedError
from pipeline.store.db import session_scope
from pipeline.store.models import Source
from pipeline.store.sources import sync_sources

SHIPPED = Path(__file__).resolve().parents[2] / "seeds" / "sources.yaml"

GOOD = """\
sources:
  - name: mfa-test
    type: ministry
    country: AM
    languages: [en, hy]
    homepage: https://www.mfa.example/en/
    allowed_domains: [mfa.example]
    discovery:
      - method: feed
        url: https://mfa.example/en/rss
        language: en
      - method: listing
        url: https://mfa.example/hy/news
        page_url: https://mfa.example/hy/news?page={page}
        language: hy
        item: div.news-list li
        date: div.date::text
        archive_url: https://mfa.example/hy/archive/{date:%Y/%m/%d}/
      - method: sitemap
        url: https://mfa.example/sitemap.xml
        language: en
  - name: wire-test
    type: wire
    country: RU
    languages: [ru]
    homepage: https://wire.example/
    allowed_domains: [wire.example]
    discovery:
      - method: feed
        url: https://wire.example/rss.xml
        full_text: true
        assume_tz: Europe/Moscow
"""


def write(tmp_path: Path, text: str) -> Path:
    """Write a sources file and return its path."""
    path = tmp_path / "sources.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def fail(tmp_path: Path, text: str) -> SeedError:
    """Load ``text`` and return the SeedError it must raise."""
    path = write(tmp_path, text)
    with pytest.raises(SeedError) as info:
        load_sources(path)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)
    return info.value


def test_shipped_file_loads_with_required_sources() -> None:
    sf = load_sources(SHIPPED)
    names = {s.name for s in sf.sources}
    assert {
        "mid-ru",
        "mfa-am",
        "mfa-gov-az",
        "kremlin",
        "tass",
        "armenpress",
        "news-am",
        "apa",
        "azertag",
    } <= names
    # Ministries carry English and native-language sections.
    for name, native in (("mid-ru", "ru"), ("mfa-am", "hy"), ("mfa-gov-az", "az")):
        langs = {m.language for m in sf.get(name).discovery}
        assert {"en", native} <= langs, name
    kremlin = sf.get("kremlin")
    assert all(isinstance(m, FeedMethod) and m.full_text for m in kremlin.discovery)
    assert kremlin.discovery[0].assume_tz == "Europe/Moscow"
    tass = sf.get("tass")
    assert {"tass.com", "tass.ru"} == set(tass.allowed_domains)
    assert any(isinstance(m, SitemapMethod) for m in tass.discovery)


def test_shipped_file_marks_unverified_urls() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    assert text.count("# unverified") >= 10


def test_good_file_parses_every_method(tmp_path: Path) -> None:
    sf = load_sources(write(tmp_path, GOOD))
    feed, listing, sitemap = sf.get("mfa-test").discovery
    assert isinstance(feed, FeedMethod) and not feed.full_text
    assert isinstance(listing, ListingMethod)
    assert listing.link == "a::attr(href)"  # default
    assert listing.page_url and listing.page_url.format(page=3).endswith("?page=3")
    assert isinstance(sitemap, SitemapMethod)
    assert sf.get("wire-test").crawl.concurrency == 1
    with pytest.raises(KeyError, match="known: mfa-test, wire-test"):
        sf.get("nope")


def test_malformed_yaml(tmp_path: Path) -> None:
    err = fail(tmp_path, GOOD.replace("    languages: [ru]", "    languages: [ru"))
    assert err.field == "yaml"
    assert err.line is not None and err.line >= 24


def test_malformed_yaml_is_explained_by_the_python_parser(tmp_path: Path) -> None:
    err = fail(tmp_path, GOOD.replace("    languages: [ru]", "    languages: ru: en", 1))
    assert err.field == "yaml"
    assert "mapping values are not allowed here" in err.problem


@pytest.mark.parametrize("name", ["sources.yaml", "topics.yaml", "subscribers.yaml"])
def test_the_fast_parser_reads_seed_files_as_the_python_one_does(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = Path(__file__).resolve().parents[2] / "seeds" / name
    fast = seedfile.load_yaml(path)
    monkeypatch.setattr(seedfile, "_FAST_LOADER", None)
    assert seedfile.load_yaml(path) == fast  # the same data, the same line of every key


def test_unknown_key(tmp_path: Path) -> None:
    err = fail(tmp_path, GOOD.replace("        full_text: true", "        fulltext: true"))
    assert err.field == "sources[1].discovery[0].fulltext"
    assert err.line == 31
    assert "unknown key" in err.problem


def test_wrong_type(tmp_path: Path) -> None:
    err = fail(tmp_path, GOOD.replace("        full_text: true", "        full_text: often"))
    assert err.field == "sources[1].discovery[0].full_text"
    assert err.line == 31
    assert "boolean" in err.problem


def test_unknown_method(tmp_path: Path) -> None:
    err = fail(tmp_path, GOOD.replace("      - method: sitemap", "      - method: sitemaps"))
    assert err.field.startswith("sources[0].discovery[2]")
    assert err.line == 19


def test_duplicate_name(tmp_path: Path) -> None:
    err = fail(tmp_path, GOOD.replace("name: wire-test", "name: mfa-test"))
    assert err.field == "sources[1].name"
    assert err.line == 22
    assert "duplicate name 'mfa-test'" in err.problem


def test_invalid_url(tmp_path: Path) -> None:
    err = fail(
        tmp_path, GOOD.replace("url: https://wire.example/rss.xml", "url: ftp://wire.example/rss")
    )
    assert err.field == "sources[1].discovery[0].url"
    assert err.line == 30
    assert "http" in err.problem


def test_url_outside_allowed_domains(tmp_path: Path) -> None:
    err = fail(
        tmp_path,
        GOOD.replace(
            "url: https://mfa.example/sitemap.xml", "url: https://elsewhere.example/sitemap.xml"
        ),
    )
    assert err.field == "sources[0].discovery[2].url"
    assert err.line == 20
    assert "elsewhere.example" in err.problem and "allowed_domains" in err.problem


def test_page_template_outside_allowed_domains(tmp_path: Path) -> None:
    err = fail(
        tmp_path,
        GOOD.replace(
            "page_url: https://mfa.example/hy/news?page={page}",
            "page_url: https://evil.example/hy/news?page={page}",
        ),
    )
    assert err.field == "sources[0].discovery[1].page_url"
    assert err.line == 14


def test_subdomain_is_allowed(tmp_path: Path) -> None:
    sf = load_sources(
        write(tmp_path, GOOD.replace("https://mfa.example/en/rss", "https://en.mfa.example/en/rss"))
    )
    assert sf.get("mfa-test").allows("https://en.mfa.example/x")
    assert not sf.get("mfa-test").allows("https://notmfa.example/x")


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("item: div.news-list li", "item: ''", "sources[0].discovery[1].item", "empty"),
        ("item: div.news-list li", "item: 'div[['", "sources[0].discovery[1].item", "CSS"),
        ("?page={page}", "?page=2", "sources[0].discovery[1].page_url", "{page}"),
        ("language: hy\n", "language: fr\n", "sources[0].discovery[1].language", "languages"),
        (
            "assume_tz: Europe/Moscow",
            "assume_tz: Mars/Base",
            "sources[1].discovery[0].assume_tz",
            "IANA",
        ),
        ("name: wire-test", "name: Wire Test", "sources[1].name", "slug"),
        ("country: RU", "country: russia", "sources[1].country", "country"),
        (
            "allowed_domains: [wire.example]",
            "allowed_domains: [https://wire.example]",
            "sources[1].allowed_domains[0]",
            "host",
        ),
        ("type: wire", "type: blog", "sources[1].type", "ministry"),
        (
            "type: wire",
            "organisation: Wire Agency\n    type: wire",
            "sources[1].organisation",
            "slug",
        ),
    ],
)
def test_field_rules(tmp_path: Path, old: str, new: str, field: str, words: str) -> None:
    assert old in GOOD
    err = fail(tmp_path, GOOD.replace(old, new, 1))
    assert err.field == field
    assert err.line is not None
    assert words in err.problem


def test_missing_required_field(tmp_path: Path) -> None:
    err = fail(tmp_path, GOOD.replace("    homepage: https://wire.example/\n", ""))
    assert err.field == "sources[1].homepage"
    assert err.line == 22  # the source's own line
    assert "required" in err.problem.lower()


def test_sync_sources_upserts_by_name(db_url: str, tmp_path: Path) -> None:
    sf = load_sources(write(tmp_path, GOOD))
    with session_scope(db_url) as session:
        rows = sync_sources(session, sf)
        first_ids = {n: r.id for n, r in rows.items()}
    changed = load_sources(write(tmp_path, GOOD.replace("languages: [ru]", "languages: [ru, en]")))
    with session_scope(db_url) as session:
        sync_sources(session, changed)
        sync_sources(session, changed)  # idempotent
    with session_scope(db_url) as session:
        stored = {s.name: s for s in session.scalars(select(Source))}
    assert {n: s.id for n, s in stored.items()} == first_ids
    assert stored["wire-test"].languages == ["ru", "en"]
    assert stored["wire-test"].config["discovery"][0]["full_text"] is True
    assert stored["mfa-test"].type == "ministry" and stored["mfa-test"].country == "AM"


def test_cli_check_ok_and_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.cli import _register, app
    from pipeline.config.settings import get_settings

    _register()
    runner = CliRunner()
    monkeypatch.setenv("NEWSMON_SOURCES_FILE", str(write(tmp_path, GOOD)))
    get_settings.cache_clear()
    ok = runner.invoke(app, ["sources", "check"])
    assert ok.exit_code == 0, ok.output
    assert "OK sources" in ok.stdout
    listed = runner.invoke(app, ["sources", "list"])
    assert listed.exit_code == 0 and "wire-test" in listed.stdout
    write(tmp_path, GOOD.replace("name: wire-test", "name: mfa-test"))
    bad = runner.invoke(app, ["sources", "check"])
    assert bad.exit_code == 2
    assert "sources.yaml:22" in bad.output and "duplicate name" in bad.output


def test_cli_check_unknown_quirk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.cli import _register, app
    from pipeline.config.settings import get_settings

    _register()
    text = GOOD.replace(
        "    discovery:\n      - method: feed\n        url: https://wire",
        "    article: {quirks: no-such-quirk}\n    discovery:\n"
        "      - method: feed\n        url: https://wire",
    )
    assert "no-such-quirk" in text
    monkeypatch.setenv("NEWSMON_SOURCES_FILE", str(write(tmp_path, text)))
    get_settings.cache_clear()
    bad = CliRunner().invoke(app, ["sources", "check"])
    assert bad.exit_code == 2
    assert "sources.yaml:28" in bad.output.replace("\n", "")
    assert "unknown quirk 'no-such-quirk'" in bad.output.replace("\n", "")
