"""Fallback extractors for pages trafilatura returns nothing (or too little) for.

Two cases matter for the sites we monitor:
* script-rendered pages whose visible HTML is an empty shell while the article sits in
  an embedded application-state JSON (``__NEXT_DATA__``, ``window.__INITIAL_STATE__``,
  ``__NUXT__``) that trafilatura's own baseline does not read (it reads JSON-LD only);
* old ministry templates whose statement text sits in containers trafilatura prunes
  as boilerplate (e.g. a ``class="comment"`` wrapper): a paragraph-density pass over
  the unpruned tree finds the element holding the most paragraph text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from copy import deepcopy
from typing import Any

from lxml import etree
from lxml.html import HtmlElement, fragment_fromstring

# JSON keys whose string values hold article bodies in app-state blobs.
_BODY_KEYS = frozenset(
    {"articlebody", "body", "content", "fulltext", "text", "html", "bodyhtml", "contenthtml"}
)
# "window.__INITIAL_STATE__ = {...};" and similar assignments.
_ASSIGNMENT = re.compile(r"^\s*(?:window\.|var\s+|let\s+|const\s+)?[\w$.]+\s*=\s*", re.ASCII)
_STATE_HINT = re.compile(r"__NEXT_DATA__|__INITIAL_STATE__|__NUXT__|__PRELOADED_STATE__|__APOLLO")
_MARKUP = re.compile(r"<(?:p|br|div|h[1-6]|li|blockquote)\b", re.IGNORECASE)
_MIN_BODY_CHARS = 200
# Elements that never hold article text (navigation, forms, page chrome).
_CHROME = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template")
_BLOCKS = frozenset({"p", "h2", "h3", "h4", "li", "blockquote", "pre"})
_MIN_PARAGRAPH_CHARS = 30
_WS = re.compile(r"\s+")


def _squash(text: str) -> str:
    """Collapse whitespace inside one paragraph."""
    return _WS.sub(" ", text).strip()


def _walk_strings(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Yield (key, string) pairs from nested JSON."""
    if isinstance(node, dict):
        for child_key, child in node.items():
            yield from _walk_strings(child, str(child_key))
    elif isinstance(node, list):
        for child in node:
            yield from _walk_strings(child, key)
    elif isinstance(node, str):
        yield key, node


def _load_state(script_text: str) -> Any:
    """Parse an app-state script body (plain JSON or a JS assignment); None if not JSON."""
    body = _ASSIGNMENT.sub("", script_text.strip(), count=1).rstrip().rstrip(";")
    try:
        return json.loads(body, strict=False)
    except ValueError:
        return None


def _render(value: str) -> str:
    """Plain text of a JSON string value that may carry HTML markup, one paragraph per line."""
    if not _MARKUP.search(value):
        return "\n".join(_squash(line) for line in value.splitlines() if line.strip())
    try:
        fragment = fragment_fromstring(value, create_parent="div")
    except (etree.ParserError, ValueError):
        return _squash(value)
    return _paragraphs_text(fragment)


def from_app_state(tree: HtmlElement) -> str:
    """The longest article-like body string in embedded app-state JSON, as text."""
    best = ""
    for script in tree.iter("script"):
        source = script.text or ""
        if script.get("type") != "application/json" and not _STATE_HINT.search(source[:200]):
            continue
        state = _load_state(source)
        for key, value in _walk_strings(state):
            if key.lower() in _BODY_KEYS and len(value) >= _MIN_BODY_CHARS:
                text = _render(value)
                if len(text) > len(best):
                    best = text
    return best


def _paragraphs_text(element: HtmlElement) -> str:
    """Text of an element split into paragraphs at block elements and line breaks."""
    for br in element.iter("br"):
        br.tail = "\n" + (br.tail or "")
    for block in element.iter(*_BLOCKS, "div", "tr"):
        block.tail = "\n" + (block.tail or "")
        block.text = "\n" + (block.text or "")
    text = "".join(element.itertext())
    return "\n".join(_squash(line) for line in text.splitlines() if line.strip())


def _own_paragraph_chars(element: HtmlElement) -> int:
    """Characters of paragraph-like text held directly by ``element``."""
    total = len((element.text or "").strip())
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag in _BLOCKS:
            length = len(_squash(child.text_content()))
            total += length if length >= _MIN_PARAGRAPH_CHARS else 0
        elif child.tag == "br":
            total += len((child.tail or "").strip())
    return total


def from_paragraphs(tree: HtmlElement) -> str:
    """Text of the element holding the most paragraph text (a density pass on the full tree)."""
    root = deepcopy(tree)
    for element in list(root.iter(*_CHROME)):
        element.drop_tree()
    best: HtmlElement | None = None
    best_chars = 0
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        chars = _own_paragraph_chars(element)
        if chars > best_chars:
            best, best_chars = element, chars
    if best is None or best_chars < _MIN_BODY_CHARS:
        return ""
    return _paragraphs_text(best)
