"""Per-site quirks and article hints, on saved pages we wrote (tests/crawlers/pages/)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline import clean
from pipeline.clean.quirks import QUIRKS, extract_article
from pipeline.config.sources import ArticleHints, load_sources

PAGES = Path(__file__).parent / "pages"


def test_tass_dateline_is_stripped() -> None:
    body = (PAGES / "tass_en_article.html").read_bytes()
    url = "https://tass.com/politics/2201999"
    generic = clean.extract(url, body, content_type="text/html")
    assert "/TASS/." in generic.text
    hinted = extract_article(
        url,
        body,
        content_type="text/html",
        hints=ArticleHints(title="h1.news-header__title", body="div.text-block", quirks="tass"),
        timezone="Europe/Moscow",
    )
    assert hinted.text.startswith("Russia is prepared to host the next meeting")
    assert "/TASS/" not in hinted.text
    assert "Unrelated story" not in hinted.text
    assert hinted.title == "Moscow ready to host next round of border commission talks"
    assert hinted.published == datetime(2026, 11, 24, 11, 5, tzinfo=UTC)


def test_tass_quirk_alone_strips_dateline_after_lead() -> None:
    body = (PAGES / "tass_en_article.html").read_bytes()
    art = extract_article(
        "https://tass.com/politics/2201999",
        body,
        content_type="text/html",
        hints=ArticleHints(quirks="tass"),
    )
    assert "/TASS/." not in art.text
    assert "Russia is prepared" in art.text


def test_mfa_gov_az_statement_number_and_date() -> None:
    body = (PAGES / "mfa_gov_az_statement.html").read_bytes()
    url = "https://mfa.gov.az/en/news/no24126"
    generic = clean.extract(url, body, content_type="text/html")
    assert generic.title.startswith("No:241/26")
    art = extract_article(
        url,
        body,
        content_type="text/html",
        hints=ArticleHints(
            title="h2.section_articleInner_header--title",
            body="div.section_articleInner_body_content--description",
            date="div.section_articleInner_header--date span:nth-of-type(2)::text",
            quirks="mfa-gov-az",
        ),
        timezone="Asia/Baku",
    )
    assert art.title == (
        "Statement of the Press Service on the meeting of the state commissions on delimitation"
    )
    assert art.text.startswith("On 23 November 2026 the regular meeting")
    assert "Facebook" not in art.text
    # "24 November 2026" printed on the page, read as a Baku day.
    assert art.published == datetime(2026, 11, 23, 20, 0, tzinfo=UTC)


def test_hint_that_matches_nothing_keeps_generic_result() -> None:
    body = (PAGES / "tass_en_article.html").read_bytes()
    url = "https://tass.com/politics/2201999"
    generic = clean.extract(url, body, content_type="text/html")
    art = extract_article(
        url, body, content_type="text/html", hints=ArticleHints(body="div.no-such-block")
    )
    assert art.text == generic.text


def test_encoding_override() -> None:
    html = (
        "<html><head><title>Заявление МИД</title></head><body><article><h1>Заявление МИД</h1>"
        + "<p>Министерство иностранных дел сообщает о переговорах по делимитации границы.</p>" * 4
        + "</article></body></html>"
    )
    body = html.encode("windows-1251")
    art = extract_article(
        "https://example.org/a",
        body,
        content_type="text/html; charset=utf-8",  # a lying header
        hints=ArticleHints(encoding="windows-1251"),
    )
    assert "Министерство иностранных дел" in art.text


def test_unknown_quirk_fails_clearly() -> None:
    body = (PAGES / "tass_en_article.html").read_bytes()
    with pytest.raises(KeyError, match="unknown quirk 'nope'"):
        extract_article(
            "https://tass.com/x/1",
            body,
            content_type="text/html",
            hints=ArticleHints(quirks="nope"),
        )


def test_every_shipped_quirk_exists() -> None:
    for src in load_sources().sources:
        if src.article.quirks:
            assert src.article.quirks in QUIRKS, src.name
