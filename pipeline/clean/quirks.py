"""Per-site page objects: small functions that fix what generic extraction gets wrong.

A source names its quirk in ``seeds/sources.yaml`` (``article.quirks: tass``). The
CSS hints of ``article:`` (title/body/date) and the ``encoding`` override are applied
here too, by :func:`extract_article`, which the store pipeline calls instead of plain
``clean.extract`` when a source has hints. Each quirk is tested on saved HTML we wrote
(tests/crawlers/pages/).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from copy import deepcopy
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from lxml import etree
from lxml.html import HtmlElement
from lxml.html.builder import E
from parsel import Selector, SelectorList

from pipeline import clean
from pipeline.clean import Article
from pipeline.clean.dates import parse_text_date
from pipeline.clean.text import normalise_title
from pipeline.config.sources import ArticleHints
from pipeline.errors import ExtractionError

Quirk = Callable[[Article, Selector], Article]
QUIRKS: dict[str, Quirk] = {}


def quirk(name: str) -> Callable[[Quirk], Quirk]:
    """Register a quirk under the id used in sources.yaml."""

    def register(fn: Quirk) -> Quirk:
        QUIRKS[name] = fn
        return fn

    return register


# "MOSCOW, May 3. /TASS/." and "МОСКВА, 3 сентября. /ТАСС/." and "/Корр. ТАСС Иван Петров/."
_TASS_DATELINE = re.compile(
    r"^\s*(?:[A-ZА-ЯЁ][A-ZА-ЯЁ .\-]+,\s+[^\n/]{3,40}?\.?\s+)?/(?:TASS|ТАСС|Корр\.\s*ТАСС[^/]{0,80}|"
    r"TASS correspondent[^/]{0,80})/\.?\s*"
)


@quirk("tass")
def tass(article: Article, page: Selector) -> Article:
    """Strip the wire dateline that opens TASS stories (it defeats near-duplicate checks).

    The dateline leads the first body paragraph, which may follow the lead line.
    """
    lines = article.text.split("\n")
    for n, line in enumerate(lines[:3]):
        stripped = _TASS_DATELINE.sub("", line, count=1)
        if stripped != line:
            lines[n] = stripped.lstrip()
            return replace(article, text="\n".join(x for x in lines if x.strip()))
    return article


_MFA_AZ_NUMBER = re.compile(r"^\s*No\s*:?\s*\d{1,4}/\d{2}\s*,?\s*", re.IGNORECASE)


@quirk("mfa-gov-az")
def mfa_gov_az(article: Article, page: Selector) -> Article:
    """Drop the "No:072/26," statement number that precedes titles and texts of statements."""
    title = _MFA_AZ_NUMBER.sub("", article.title, count=1)
    lines = article.text.split("\n")
    # The number may stand on its own line before the title, or lead the first paragraph.
    if lines and _MFA_AZ_NUMBER.fullmatch(lines[0] + ","):
        lines = lines[1:]
    elif lines:
        lines[0] = _MFA_AZ_NUMBER.sub("", lines[0], count=1)
    return replace(article, title=title.strip(), text="\n".join(lines).strip())


def _first_text(page: Selector, css: str) -> str:
    """Text of the first node ``css`` selects (``::attr(x)`` / ``::text`` honoured)."""
    values = [v.strip() for v in page.css(css).getall() if v.strip()]
    if not values:
        return ""
    if "::" in css:
        return " ".join(values)
    return " ".join(" ".join(page.css(css)[0].css("*::text").getall()).split())


def _parse_hint_date(value: str, language: str | None, tz: ZoneInfo) -> datetime | None:
    """An ISO datetime attribute, or a localized date in text."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return parse_text_date(value, language=language, tz=tz)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def _reduced_tree(title: str, nodes: SelectorList[Selector], lang: str | None) -> HtmlElement:
    """A minimal page holding only the hinted title and body, built from copies of its nodes."""
    body = E.article(E.h1(title))
    for node in nodes:
        if isinstance(node.root, etree._Element):
            part = deepcopy(node.root)
            part.tail = None  # the text after the selected element is not part of it
            body.append(part)
        elif str(node.root).strip():  # a ::text or ::attr hint selects strings
            body.append(E.p(str(node.root)))
    page = E.html(E.head(E.title(title)), E.body(body))
    if lang:
        page.set("lang", lang)
    return page


def extract_article(
    url: str,
    body: bytes,
    *,
    content_type: str | None,
    hints: ArticleHints,
    timezone: str = "UTC",
    language: str | None = None,
) -> Article:
    """``clean.extract`` guided by the source's hints and quirk; ExtractionError on failure.

    The page is parsed once: the generic extraction and the CSS hints read the same tree.
    """
    tz = ZoneInfo(timezone)
    html: bytes | str = body
    if hints.encoding:
        html = body.decode(hints.encoding, errors="replace")
        content_type = "text/html; charset=utf-8"
    tree = clean.load_page(url, html, content_type)
    article = clean.extract_tree(tree, url, local_tz=tz)
    if not (hints.title or hints.body or hints.date or hints.quirks):
        return article
    page = Selector(root=tree, type="html")
    if hints.body:
        nodes = page.css(hints.body)
        if nodes:
            title = (_first_text(page, hints.title) if hints.title else "") or article.title
            try:
                # the date comes from the whole page (below), not from the reduced one
                reduced = clean.extract_tree(
                    _reduced_tree(title, nodes, language), url, local_tz=tz, with_date=False
                )
            except ExtractionError:
                reduced = None  # the hint matched an empty block: keep the generic result
            # A hint that selects a small fragment (the site changed its markup) must not
            # replace a good generic result: keep the reduced text only when comparable.
            if reduced is not None and len(reduced.text) >= len(article.text) // 3:
                article = replace(reduced, published=article.published, author=article.author)
    if hints.title:
        title = _first_text(page, hints.title)
        if title:
            # the same normalisation as a title found by the generic extraction (MT noise too)
            article = replace(article, title=normalise_title(title))
    if hints.date:
        found = _parse_hint_date(_first_text(page, hints.date), article.language, tz)
        if found is not None:
            article = replace(article, published=found)
    if hints.quirks:
        fix = QUIRKS.get(hints.quirks)
        if fix is None:
            raise KeyError(f"unknown quirk {hints.quirks!r}; known: {', '.join(sorted(QUIRKS))}")
        article = fix(article, page)
    return article
