"""The fallback extractors and when pipeline.clean uses them."""

from __future__ import annotations

import json

import pytest

from pipeline import clean
from pipeline.clean import main_text, parse_page
from pipeline.clean.fallback import from_app_state, from_paragraphs

SENTENCES = [
    "The border commissions of the two countries met for the twelfth time this autumn.",
    "They agreed on the description of another section and asked experts for new maps.",
    "The next meeting is expected after the winter holidays, the statement said.",
]


def test_app_state_assignment_with_markup() -> None:
    body = "".join(f"<p>{s}</p>" for s in SENTENCES)
    state = {"page": {"story": {"title": "Short", "content": body, "tags": ["border"]}}}
    html = (
        "<html><body><div id='app'>Loading</div>"
        f"<script>window.__INITIAL_STATE__ = {json.dumps(state)};</script></body></html>"
    )
    assert from_app_state(parse_page(html, None)) == "\n".join(SENTENCES)


def test_app_state_plain_text_value_and_short_strings_ignored() -> None:
    state = {"data": {"text": "\n".join(SENTENCES), "caption": "x" * 500, "body": "too short"}}
    html = (
        "<html><body><p>Shell</p>"
        f"<script type='application/json'>{json.dumps(state)}</script></body></html>"
    )
    assert from_app_state(parse_page(html, None)) == "\n".join(SENTENCES)


def test_no_app_state() -> None:
    html = "<html><body><p>Only a page.</p><script>var x = 1;</script></body></html>"
    assert from_app_state(parse_page(html, None)) == ""


def test_paragraph_density_picks_the_text_block_and_skips_chrome() -> None:
    menu = "".join(f"<li><a href='/{i}'>Item {i}</a></li>" for i in range(30))
    paragraphs = "".join(f"<p>{s}</p>" for s in SENTENCES)
    html = (
        f"<html><body><nav><ul>{menu}</ul></nav><div class='x'>{paragraphs}</div>"
        "<footer><p>A footer paragraph that is long enough to count as text here.</p></footer>"
        "</body></html>"
    )
    assert from_paragraphs(parse_page(html, None)) == "\n".join(SENTENCES)


def test_paragraph_density_line_breaks() -> None:
    html = "<html><body><div><h1>T</h1><td>" + "<br>".join(SENTENCES) + "</td></div></body></html>"
    assert "\n".join(SENTENCES) in from_paragraphs(parse_page(html, None))


def test_a_good_short_statement_is_not_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """A short real text stays trafilatura's unless a fallback is longer AND contains it."""
    statement = "The Ministry strongly condemns the shelling of civilian areas near the border."
    related = "".join(f"<p>{s}</p>" for s in SENTENCES * 3)  # longer than the statement
    html = (
        f"<html><body><article><h1>Statement</h1><p>{statement}</p></article>"
        f"<div class='more-news'>{related}</div></body></html>"
    )
    tree = parse_page(html, None)
    monkeypatch.setattr(clean, "_trafilatura_text", lambda _tree, _url: statement)
    assert main_text(tree, None) == (statement, "trafilatura")
    # the same short text inside a longer block of paragraphs is completed by the fallback
    html = f"<html><body><div><p>{statement}</p>{related}</div></body></html>"
    text, method = main_text(parse_page(html, None), None)
    assert method == "fallback-paragraphs"
    assert text.startswith(statement) and SENTENCES[2] in text


def test_a_menu_is_replaced_by_any_substantial_text(monkeypatch: pytest.MonkeyPatch) -> None:
    menu = "\n".join(f"Section {i}" for i in range(40))  # long enough, but a list of links
    body = SENTENCES * 2  # over the 250 characters a fallback must bring
    html = "<html><body><div>" + "".join(f"<p>{s}</p>" for s in body) + "</div></body></html>"
    monkeypatch.setattr(clean, "_trafilatura_text", lambda _tree, _url: menu)
    assert main_text(parse_page(html, None), None) == ("\n".join(body), "fallback-paragraphs")
