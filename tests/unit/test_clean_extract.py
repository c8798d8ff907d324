"""pipeline.clean.extract on the fixture pages we wrote (tests/fixtures/pages/)."""

from __future__ import annotations

import dataclasses
import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trafilatura

from pipeline.clean import METHODS, Article, extract
from pipeline.errors import ExtractionError, Outcome

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"


def page(name: str) -> bytes:
    """Raw bytes of a fixture page."""
    return (PAGES / name).read_bytes()


def test_windows_1251_page_declared_only_in_meta() -> None:
    raw = page("ru_mfa_comment_cp1251.html")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is single-byte Cyrillic
    article = extract("https://mfa.example.ru/news/comment-42", raw)
    assert article.title.startswith("Комментарий Департамента информации и печати МИД России")
    assert "делимитации государственной границы" in article.text
    assert "Сюникскую область" in article.text
    assert "Читайте также" not in article.text  # an inserted cross-link line
    assert "Все права защищены" not in article.text
    assert article.language == "ru"  # no lang attribute: detected
    assert article.published == datetime(2026, 9, 3, tzinfo=UTC)  # "3 сентября 2026 г."
    assert article.method == "trafilatura"


def test_windows_1251_page_with_http_charset_only() -> None:
    """The charset may come from the HTTP header instead of the markup."""
    html = "<html><body><h1>Заявление</h1><p>" + "Граница между двумя странами. " * 20
    raw = (html + "</p></body></html>").encode("cp1251")
    article = extract(None, raw, content_type="text/html; charset=windows-1251")
    assert "Граница между двумя странами." in article.text


def test_machine_translated_repost_is_repaired() -> None:
    url = "https://news.example.am/en/2026/11/05/russian-mfa-border-commissions"
    article = extract(url, page("en_repost_mt_noise.html"))
    title = "Russian Foreign Ministry comments on the border commissions meeting"
    assert article.title == title
    lines = article.text.split("\n")
    assert lines[0].startswith("The Russian Foreign Ministry commented")  # title not repeated
    assert "Yerevan and Baku" in article.text
    assert "sovereignty and jurisdiction" in article.text
    assert "delimitation work. " in article.text
    assert "countries it crosses. The so-called" in article.text
    assert "և" not in article.text and "․" not in article.text
    assert "Source link" not in article.text
    assert lines[-1].endswith('"a good sign for the whole South Caucasus".')
    assert "նոյեմբերի" not in article.text  # the date line is metadata
    assert article.language == "en"  # although the site declares lang="hy"
    # the URL gives the day, the page's Armenian date line the time
    assert article.published == datetime(2026, 11, 5, 14, 5, tzinfo=UTC)


def test_armenian_language_page_keeps_its_letters_and_punctuation() -> None:
    article = extract(
        "https://mfa.example.am/hy/news/2026/statement", page("hy_mfa_statement.html")
    )
    assert article.language == "hy"
    # և as a conjunction and inside words (Երևան, նաև) and the full stop ։ survive
    assert "Հայաստանի և Ադրբեջանի" in article.text
    assert "Երևանում և Բաքվում" in article.text
    assert "Նախարարությունը նաև" in article.text
    assert "գոտում։" in article.text
    assert "հիման վրա․ դա է" in article.text
    assert " and " not in article.text
    assert article.published == datetime(2026, 10, 12, 11, 30, tzinfo=UTC)


def test_azerbaijani_page_date_and_language() -> None:
    article = extract("https://news.example.az/xeber/123", page("az_mfa_news.html"))
    assert article.language == "az"
    assert "Zəngəzur dəhlizi" in article.text
    assert article.published == datetime(2025, 11, 14, 16, 23, tzinfo=UTC)


def test_page_dates_are_read_in_the_given_zone() -> None:
    article = extract(
        "https://news.example.az/xeber/123", page("az_mfa_news.html"), local_tz="Asia/Baku"
    )
    assert article.published == datetime(2025, 11, 14, 12, 23, tzinfo=UTC)  # Baku is UTC+4


def test_wire_dateline_and_meta_date_with_offset() -> None:
    article = extract("https://wire.example.ru/politika/1", page("ru_wire_dateline.html"))
    assert article.text.startswith("Россия готова оказать Армении и Азербайджану")
    assert "/ТАСС/" not in article.text
    assert article.published == datetime(2026, 9, 3, 7, 15, tzinfo=UTC)  # 10:15 +03:00
    assert article.published is not None and article.published.tzinfo is UTC
    assert article.author == "Редакция Примера"
    assert article.language == "ru"


def test_fallback_reads_app_state_json_when_trafilatura_sees_a_shell() -> None:
    raw = page("en_app_state_shell.html")
    plain = trafilatura.extract(raw, include_comments=False, include_tables=True) or ""
    assert "peace treaty" not in plain  # trafilatura cannot handle this page
    article = extract("https://wire.example.com/article/48213", raw)
    assert article.method == "fallback-json"
    assert article.text.startswith("The foreign ministers of Armenia and Azerbaijan")
    assert "constructive and businesslike" in article.text
    assert "cookies" not in article.text
    assert article.title == "Foreign ministers discuss the draft peace treaty"


def test_fallback_finds_paragraphs_in_a_pruned_container() -> None:
    raw = page("en_pruned_container.html")
    plain = trafilatura.extract(raw, include_comments=False, include_tables=True) or ""
    assert "eleventh meeting" not in plain  # trafilatura returns the menu instead
    article = extract("https://mfa.example.org/en/press/statements/1", raw)
    assert article.method == "fallback-paragraphs"
    assert article.text.startswith("The Ministry of Foreign Affairs notes")
    assert "Consular Service" not in article.text
    assert article.published == datetime(2026, 11, 5, tzinfo=UTC)  # "November 5, 2026"


def test_article_is_frozen_and_method_known() -> None:
    article = extract(None, page("az_mfa_news.html"))
    assert isinstance(article, Article)
    assert article.method in METHODS
    with pytest.raises(dataclasses.FrozenInstanceError):
        article.title = "changed"  # type: ignore[misc]


def test_text_input_and_gzip_bytes_give_the_same_article() -> None:
    raw = page("hy_mfa_statement.html")
    from_bytes = extract("https://x.example/a", raw)
    assert extract("https://x.example/a", raw.decode("utf-8")) == from_bytes
    assert extract("https://x.example/a", gzip.compress(raw)) == from_bytes


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"", "empty"),
        (b"   \n\t ", "empty"),
        ("", "empty"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "binary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (bytes(range(256)) * 8, "binary"),
        (b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "no article text"),
        (b"\x1f\x8b\x08\x00broken", "gzip"),
    ],
)
def test_unusable_pages_raise_extraction_error_naming_the_url(payload: bytes, problem: str) -> None:
    url = "https://bad.example/page-7"
    with pytest.raises(ExtractionError) as caught:
        extract(url, payload)
    assert url in str(caught.value)
    assert problem in str(caught.value)
    assert caught.value.outcome is Outcome.BAD_CONTENT


def test_unknown_time_zone_is_a_clear_error() -> None:
    with pytest.raises(ExtractionError, match="Mars/Olympus"):
        extract(None, page("az_mfa_news.html"), local_tz="Mars/Olympus")
