"""Titles get the text's normalisation, however they were found (generic extraction or a hint)."""

from __future__ import annotations

import pytest

from pipeline.clean.quirks import extract_article
from pipeline.clean.text import normalise_text, normalise_title
from pipeline.config.settings import PROJECT_ROOT
from pipeline.config.sources import ArticleHints, load_sources

# An English repost of ours with the Armenian full stop (։) and "and" (և) that MT output leaves.
NOISY_TITLE = "Foreign Ministry։ Yerevan և Baku agree on the next round of border talks"
CLEAN_TITLE = "Foreign Ministry. Yerevan and Baku agree on the next round of border talks"
BODY = (
    "The deputy foreign ministers met on Tuesday և agreed to meet again in December։ "
    "The commissions will review the northern section of the border first."
)
PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Site name</title></head>
<body><div class="article-title">{NOISY_TITLE}</div>
<span class="article-body"><p>{BODY}</p><p>{BODY}</p><p>{BODY}</p></span></body></html>
"""


def test_title_rule_is_the_text_rule() -> None:
    assert normalise_title(NOISY_TITLE) == CLEAN_TITLE
    assert normalise_text(NOISY_TITLE) == CLEAN_TITLE


@pytest.mark.parametrize(
    "hints",
    [
        ArticleHints(title="div.article-title", body="span.article-body"),
        ArticleHints(title="div.article-title"),
    ],
    ids=["title-and-body", "title-only"],
)
def test_hinted_title_is_normalised_like_the_text(hints: ArticleHints) -> None:
    art = extract_article(
        "https://news.example.org/eng/news/1.html",
        PAGE.encode(),
        content_type="text/html; charset=utf-8",
        hints=hints,
    )
    assert art.title == CLEAN_TITLE
    assert "։" not in art.text and "և" not in art.text


def test_armenian_title_keeps_its_punctuation() -> None:
    title = "Երևանը և Բաքուն համաձայնել են սահմանային բանակցությունների հաջորդ փուլի շուրջ։"
    page = PAGE.replace(NOISY_TITLE, title)
    art = extract_article(
        "https://news.example.org/arm/news/1.html",
        page.encode(),
        content_type="text/html; charset=utf-8",
        hints=ArticleHints(title="div.article-title"),
    )
    assert art.title == title


def test_news_am_titles_come_from_a_hint() -> None:
    """The source whose titles showed the noise: its title is a hint, so the fix applies to it."""
    sources = load_sources(PROJECT_ROOT / "seeds" / "sources.yaml")
    news_am = sources.get("news-am")
    assert news_am.article.title
