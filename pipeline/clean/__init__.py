"""HTML page -> :class:`Article`: decoding, trafilatura, fallbacks, normalisation, metadata.

The page is decoded and parsed once (:func:`load_page`); everything else reads that one
lxml tree: trafilatura (comments off, tables on) extracts the main text, trafilatura's
meta/JSON-LD readers give title and author, htmldate plus localized text dates give the
date, the ``lang`` declarations feed language detection, and per-site hints
(:mod:`pipeline.clean.quirks`) select from it with CSS. None of them modifies the tree
(trafilatura, htmldate and the paragraph fallback work on their own copies), which is
what makes sharing it safe. When trafilatura yields nothing or too little, the fallbacks
in :mod:`pipeline.clean.fallback` run; ``Article.method`` records which one won.

Helpers live in ``clean.charset`` (bytes -> text), ``clean.text`` (normalisation),
``clean.dates`` (publication date) and ``clean.lang`` (language).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml.html import HtmlElement
from trafilatura import bare_extraction
from trafilatura.metadata import examine_meta, extract_meta_json, extract_title
from trafilatura.utils import load_html

from pipeline.clean.charset import decode_html
from pipeline.clean.dates import find_published
from pipeline.clean.fallback import from_app_state, from_paragraphs
from pipeline.clean.lang import declared_language, detect_language
from pipeline.clean.text import normalise_text, normalise_title
from pipeline.errors import ExtractionError

__all__ = ["METHODS", "Article", "extract", "extract_tree", "load_page"]

LOG = logging.getLogger(__name__)

METHOD_TRAFILATURA = "trafilatura"
METHOD_JSON = "fallback-json"
METHOD_PARAGRAPHS = "fallback-paragraphs"
METHODS = (METHOD_TRAFILATURA, METHOD_JSON, METHOD_PARAGRAPHS)
# trafilatura's own MIN_EXTRACTED_SIZE (settings.cfg): below it the text is "too little"
# and the fallbacks are tried; a fallback must beat it clearly to replace it.
MIN_TEXT_CHARS = 250
FALLBACK_GAIN = 2.0
# Article paragraphs average well over 100 characters; a "text" whose lines average
# under this is a link list or menu that trafilatura fell back on.
MIN_MEAN_LINE_CHARS = 25
# Share of trafilatura's short text a fallback must contain to replace it.
COVERAGE = 0.5
# Errors trafilatura's JSON-LD reader can raise on malformed metadata (it catches
# them itself inside extract_metadata, which we do not call as a whole).
_JSON_LD_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError)
_MAX_TITLE_FROM_TEXT = 200


@dataclass(frozen=True)
class Article:
    """What a page says: clean title and text plus the metadata the pipeline stores."""

    title: str
    text: str
    published: datetime | None  # aware, UTC
    language: str | None  # ISO 639-1
    author: str | None
    method: str  # one of METHODS


def _where(url: str | None) -> str:
    """How to name the page in an error message."""
    return url or "<page without URL>"


def _zone(local_tz: tzinfo | str | None) -> tzinfo:
    """The zone naive page times are read in (UTC unless the source says otherwise)."""
    if local_tz is None:
        return UTC
    if isinstance(local_tz, str):
        try:
            return ZoneInfo(local_tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ExtractionError(f"unknown time zone {local_tz!r}") from exc
    return local_tz


def parse_page(source: str, url: str | None) -> HtmlElement:
    """Parse decoded HTML with trafilatura's loader; ExtractionError if it is not HTML."""
    tree = load_html(source)
    if tree is None:
        raise ExtractionError(f"{_where(url)}: not parseable as HTML")
    return tree


def _metadata(tree: HtmlElement, url: str | None) -> tuple[str, str | None]:
    """Title and author from meta tags and JSON-LD (trafilatura's readers), title from h1 else."""
    meta = examine_meta(tree)
    # trafilatura's own rule: a one-word meta author is a site or handle, not a person
    if meta.author and " " not in meta.author:
        meta.author = None
    try:
        meta = extract_meta_json(tree, meta)
    except _JSON_LD_ERRORS as exc:
        LOG.debug("malformed JSON-LD metadata on %s: %s", _where(url), exc)
    title = meta.title or extract_title(tree) or ""
    author = meta.author or None
    return str(title), str(author) if author else None


def _trafilatura_text(tree: HtmlElement, url: str | None) -> str:
    """Main text by trafilatura with the settings plain users get (comments off, tables on)."""
    document = bare_extraction(tree, url=url, include_comments=False, include_tables=True)
    if document is None or isinstance(document, dict):
        return ""
    return str(document.text or "")


def _covers(candidate: str, text: str) -> bool:
    """True when most of trafilatura's lines reappear in a fallback's text."""
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    if not lines:
        return True
    flat = " ".join(candidate.split())
    return sum(line in flat for line in lines) >= COVERAGE * len(lines)


def _fallback(tree: HtmlElement, text: str, need: float) -> tuple[str, str] | None:
    """The first fallback (text, method) with ``need`` characters that keeps ``text``, if any."""
    for method, extractor in ((METHOD_JSON, from_app_state), (METHOD_PARAGRAPHS, from_paragraphs)):
        candidate = extractor(tree)
        if len(candidate) >= need and _covers(candidate, text):
            return candidate, method
    return None


def _mean_line(text: str) -> float:
    """Mean length of the non-empty lines of ``text``."""
    lines = [line for line in text.splitlines() if line.strip()]
    return sum(len(line) for line in lines) / len(lines) if lines else 0.0


def main_text(tree: HtmlElement, url: str | None) -> tuple[str, str]:
    """Raw main text and the method that produced it.

    trafilatura's text is "too little" when it is short or is a list of short items (a
    menu it fell back on). A fallback must then be substantial, and when trafilatura's
    short text looks real, also clearly longer and containing most of it (so a long
    "related stories" block never replaces a short statement).
    """
    text = _trafilatura_text(tree, url)
    length = len(text.strip())
    is_menu = _mean_line(text) < MIN_MEAN_LINE_CHARS
    if length < MIN_TEXT_CHARS or is_menu:
        if is_menu:  # trafilatura's text is worthless: any substantial text is better
            found = _fallback(tree, "", MIN_TEXT_CHARS)
        else:  # a real but short text: the fallback must be longer and contain it
            found = _fallback(tree, text, max(FALLBACK_GAIN * length, MIN_TEXT_CHARS))
        if found is not None:
            LOG.debug("fallback %s used for %s", found[1], _where(url))
            return found
    return text, METHOD_TRAFILATURA


def load_page(url: str | None, html: bytes | str, content_type: str | None = None) -> HtmlElement:
    """Decode (see :func:`~pipeline.clean.charset.decode_html`) and parse a page, once."""
    return parse_page(decode_html(html, content_type, url), url)


def extract(
    url: str | None,
    html: bytes | str,
    *,
    content_type: str | None = None,
    local_tz: tzinfo | str | None = None,
) -> Article:
    """Extract the article from one page (bytes in any charset, or text).

    ``content_type`` is the HTTP header (its charset is honoured); ``local_tz`` is the
    zone of naive dates printed on the page (default UTC). Raises ExtractionError,
    naming the URL, for empty, binary, undecodable or text-less pages.
    """
    return extract_tree(load_page(url, html, content_type), url, local_tz=local_tz)


def extract_tree(
    tree: HtmlElement,
    url: str | None,
    *,
    local_tz: tzinfo | str | None = None,
    with_date: bool = True,
) -> Article:
    """Extract the article from a parsed page (see :func:`load_page`) without modifying it.

    ``with_date=False`` skips the date search (``published`` is None) for callers that
    take the date from elsewhere. Raises ExtractionError when there is no article text.
    """
    zone = _zone(local_tz)
    declared = declared_language(tree)
    raw_title, author = _metadata(tree, url)
    raw_text, method = main_text(tree, url)
    title = normalise_title(raw_title)
    text = normalise_text(raw_text, title)
    if not text or (len(text) < MIN_TEXT_CHARS and _mean_line(text) < MIN_MEAN_LINE_CHARS):
        # nothing, or a few menu items trafilatura fell back on
        raise ExtractionError(f"{_where(url)}: no article text found")
    if not title:
        title = text.split("\n", 1)[0][:_MAX_TITLE_FROM_TEXT]
    language = detect_language(f"{title}\n{text}", declared)
    # the raw text still has the date lines normalisation drops
    published = (
        find_published(tree, url, raw_text, language=language, tz=zone) if with_date else None
    )
    return Article(title, text, published, language, author, method)
