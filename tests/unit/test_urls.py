"""Canonical URLs: tracking parameters dropped, http/https and www. folded."""

from __future__ import annotations

from pipeline.text.urls import canonical_url, url_hash


def test_tracking_parameters_scheme_and_www_fold() -> None:
    a = "http://www.mid.ru/en/foreign_policy/news/2101457/?utm_source=tg&utm_medium=social#top"
    b = "https://mid.ru/en/foreign_policy/news/2101457"
    assert canonical_url(a) == canonical_url(b) == "https://mid.ru/en/foreign_policy/news/2101457"
    assert url_hash(a) == url_hash(b)


def test_meaningful_query_is_kept_and_sorted() -> None:
    assert canonical_url("https://mfa.am/en/news?page=2&fbclid=x&lang=en") == (
        "https://mfa.am/en/news?lang=en&page=2"
    )
    assert url_hash("https://mfa.am/en/news?page=2") != url_hash("https://mfa.am/en/news?page=3")


def test_different_articles_differ() -> None:
    assert url_hash("https://tass.com/politics/2214730") != url_hash(
        "https://tass.com/politics/2214731"
    )
