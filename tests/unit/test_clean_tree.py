"""One parse per page: the tree pipeline.clean extracts from is shared, never modified."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from parsel import Selector

from pipeline import clean
from pipeline.clean import extract, extract_tree, load_page
from pipeline.clean.quirks import _reduced_tree, extract_article
from pipeline.config.sources import ArticleHints

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"
URLS = {
    "az_mfa_news.html": "https://mfa.example.az/en/news/1",
    "en_app_state_shell.html": "https://news.example.com/2026/11/04/app",
    "en_pruned_container.html": "https://mfa.example.org/statements/17",
    "en_repost_mt_noise.html": "https://news.example.am/en/2026/11/05/x",
    "hy_mfa_statement.html": "https://mfa.example.am/hy/press/2026/11/05/1",
    "ru_mfa_comment_cp1251.html": "https://mfa.example.ru/news/comment-42",
    "ru_wire_dateline.html": "https://wire.example.ru/politics/1",
}
STATEMENT = (
    "<html lang='en'><head><title>Statement on the border talks</title>"
    "<meta property='article:published_time' content='2026-11-24T09:30:00+00:00'></head>"
    "<body><nav>Home | News | Contacts</nav>"
    "<div class='story'><p>{first}</p></div>"
    "<div class='story'><p>{second}</p></div>{tail}"
    "<aside><p>Unrelated story about the weather in the capital, told at length.</p></aside>"
    "</body></html>"
)
FIRST = "The delegations met in the border town to agree on the next steps of the commission. " * 3
SECOND = "Both sides confirmed that the maps prepared last year remain the basis of the talks. " * 3
TAIL = "Subscribe to our newsletter to receive the latest statements and press releases daily."


@pytest.mark.parametrize("name", sorted(URLS))
def test_extraction_leaves_the_tree_as_parsed(name: str) -> None:
    """Text, metadata, date, language and fallbacks all read the one tree without changing it."""
    tree = load_page(URLS[name], (PAGES / name).read_bytes())
    before = etree.tostring(tree, encoding="unicode")
    extract_tree(tree, URLS[name])
    assert etree.tostring(tree, encoding="unicode") == before


@pytest.mark.parametrize("name", sorted(URLS))
def test_tree_and_bytes_give_the_same_article(name: str) -> None:
    raw = (PAGES / name).read_bytes()
    assert extract_tree(load_page(URLS[name], raw), URLS[name]) == extract(URLS[name], raw)


def test_without_date_only_the_date_is_left_out() -> None:
    url = URLS["ru_wire_dateline.html"]
    tree = load_page(url, (PAGES / "ru_wire_dateline.html").read_bytes())
    dated = extract_tree(tree, url)
    undated = extract_tree(tree, url, with_date=False)
    assert dated.published is not None
    assert undated.published is None
    assert (undated.title, undated.text, undated.language) == (
        dated.title,
        dated.text,
        dated.language,
    )


def test_hinted_page_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Generic extraction, CSS hints and the reduced body page come from one parse."""
    parsed: list[str] = []
    real = clean.parse_page

    def counting(source: str, url: str | None) -> etree._Element:
        parsed.append(url or "")
        return real(source, url)

    monkeypatch.setattr(clean, "parse_page", counting)
    html = STATEMENT.format(first=FIRST, second=SECOND, tail=TAIL).encode()
    art = extract_article(
        "https://mfa.example.org/s/1",
        html,
        content_type="text/html",
        hints=ArticleHints(title="title", body="div.story", date="meta::attr(content)"),
    )
    assert parsed == ["https://mfa.example.org/s/1"]
    assert art.title == "Statement on the border talks"
    assert art.published is not None and art.published.hour == 9


def test_body_hint_keeps_every_selected_block_and_nothing_else() -> None:
    html = STATEMENT.format(first=FIRST, second=SECOND, tail=TAIL).encode()
    art = extract_article(
        "https://mfa.example.org/s/1",
        html,
        content_type="text/html",
        hints=ArticleHints(body="div.story"),
    )
    assert art.text.split("\n") == [FIRST.strip(), SECOND.strip()]
    assert "weather" not in art.text


def test_reduced_page_copies_the_selected_blocks_without_their_tails() -> None:
    tree = load_page(
        "https://mfa.example.org/s/1", STATEMENT.format(first=FIRST, second=SECOND, tail=TAIL)
    )
    before = etree.tostring(tree, encoding="unicode")
    reduced = _reduced_tree("Title", Selector(root=tree, type="html").css("div.story"), "en")
    assert reduced.get("lang") == "en"
    assert [b.text_content().strip() for b in reduced.iter("div")] == [
        FIRST.strip(),
        SECOND.strip(),
    ]
    assert "newsletter" not in reduced.text_content()  # the text after the last block
    assert etree.tostring(tree, encoding="unicode") == before  # copied, not moved
