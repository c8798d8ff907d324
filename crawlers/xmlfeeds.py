"""Safe parsing of RSS, Atom and sitemap XML.

lxml is used with entity resolution, network access and DTD loading off, so a
billion-laughs document or an external entity (``file:///etc/...``) is never expanded.
A document that still cannot be parsed raises :class:`FeedError` (counted as bad content).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime

from lxml import etree

from pipeline.errors import NewsmonError, Outcome

# Feeds bigger than this are refused before parsing (the download limit still applies first).
MAX_XML_BYTES = 20 * 1024 * 1024


class FeedError(NewsmonError):
    """A feed or sitemap is not usable XML of a known kind."""

    outcome = Outcome.BAD_CONTENT


@dataclass(frozen=True)
class FeedEntry:
    """One RSS item or Atom entry."""

    link: str
    title: str
    published: datetime | None
    updated: datetime | None
    summary: str  # HTML or text
    content: str  # full text HTML when the feed carries it ("" otherwise)
    author: str | None = None


@dataclass(frozen=True)
class SitemapEntry:
    """One ``<url>`` of a urlset or ``<sitemap>`` of an index."""

    loc: str
    lastmod: datetime | None


def _parser() -> etree.XMLParser:
    """An XML parser that never expands entities nor touches the network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=False,
    )


def parse_xml(body: bytes, what: str = "feed") -> etree._Element:
    """Parse ``body``; leading whitespace/BOM tolerated (apa.az sends whitespace before <rss>)."""
    if len(body) > MAX_XML_BYTES:
        raise FeedError(f"{what} larger than {MAX_XML_BYTES} bytes")
    data = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not data:
        raise FeedError(f"empty {what}")
    if b"<!ENTITY" in data[:4096].upper():
        # Entity declarations have no place in a news feed; refuse rather than half-parse.
        raise FeedError(f"{what} declares XML entities (refused)")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"{what} is not well-formed XML: {exc}") from None
    if root is None:
        raise FeedError(f"{what} has no root element")
    return root


def _local(tag: object) -> str:
    """Tag name without namespace."""
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child(el: etree._Element, *names: str) -> etree._Element | None:
    """First child whose local name is one of ``names`` (in order of preference)."""
    for name in names:
        for ch in el:
            if _local(ch.tag) == name:
                return ch
    return None


def _text(el: etree._Element | None) -> str:
    """Text of an element (CDATA included), stripped."""
    if el is None:
        return ""
    return "".join(el.itertext()).strip()


def _inner_xml(el: etree._Element | None) -> str:
    """Text, or serialized child markup for Atom ``type="xhtml"`` content."""
    if el is None:
        return ""
    if len(el) and el.get("type") == "xhtml":
        return "".join(etree.tostring(ch, encoding="unicode") for ch in el)
    return _text(el)


_TZ_NAMES = re.compile(r"\b(MSK)\b")


def parse_feed_date(value: str, assume_tz: tzinfo | None = None) -> datetime | None:
    """RFC 822 or ISO 8601 date -> aware UTC; ``assume_tz`` replaces the declared offset."""
    value = value.strip()
    if not value:
        return None
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(_TZ_NAMES.sub("+0300", value))
        except (TypeError, ValueError, IndexError):
            parsed = None
    if parsed is None:
        return None
    if assume_tz is not None:
        # The Kremlin feed writes Moscow wall-clock time with a stale +04:00 label.
        parsed = parsed.replace(tzinfo=assume_tz)
    elif parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_feed(body: bytes, *, assume_tz: tzinfo | None = None) -> list[FeedEntry]:
    """Entries of an RSS 2.0 / RSS 1.0 / Atom feed, in document order."""
    root = parse_xml(body, "feed")
    kind = _local(root.tag)
    if kind == "rss" or kind == "RDF":
        items = [el for el in root.iter() if _local(el.tag) == "item"]
        return [_rss_item(el, assume_tz) for el in items if _rss_link(el)]
    if kind == "feed":
        entries = [el for el in root if _local(el.tag) == "entry"]
        return [e for e in (_atom_entry(el, assume_tz) for el in entries) if e.link]
    raise FeedError(f"not an RSS or Atom feed (root element <{kind}>)")


def _rss_link(el: etree._Element) -> str:
    """An item's article URL: <link>, else a permalink <guid>."""
    link = _text(_child(el, "link"))
    if link:
        return link
    guid = _child(el, "guid")
    if guid is not None and guid.get("isPermaLink", "true") != "false":
        g = _text(guid)
        if g.startswith(("http://", "https://")):
            return g
    return ""


def _rss_item(el: etree._Element, assume_tz: tzinfo | None) -> FeedEntry:
    """One RSS item; yandex:full-text and content:encoded are full text."""
    published = parse_feed_date(_text(_child(el, "pubDate", "date")), assume_tz)
    content = _text(_child(el, "full-text", "encoded"))
    return FeedEntry(
        link=_rss_link(el),
        title=_text(_child(el, "title")),
        published=published,
        updated=None,
        summary=_text(_child(el, "description")),
        content=content,
        author=_text(_child(el, "author", "creator")) or None,
    )


def _atom_entry(el: etree._Element, assume_tz: tzinfo | None) -> FeedEntry:
    """One Atom entry; the alternate link, else the id when it is a URL."""
    link = ""
    for ch in el:
        if (
            _local(ch.tag) == "link"
            and ch.get("rel", "alternate") == "alternate"
            and ch.get("href")
        ):
            link = ch.get("href", "")
            break
    if not link:
        ident = _text(_child(el, "id"))
        link = ident if ident.startswith(("http://", "https://")) else ""
    published = parse_feed_date(_text(_child(el, "published", "issued")), assume_tz)
    updated = parse_feed_date(_text(_child(el, "updated", "modified")), assume_tz)
    author_el = _child(el, "author")
    return FeedEntry(
        link=link,
        title=_text(_child(el, "title")),
        published=published or updated,
        updated=updated,
        summary=_inner_xml(_child(el, "summary")),
        content=_inner_xml(_child(el, "content")),
        author=_text(_child(author_el, "name")) if author_el is not None else None,
    )


def parse_sitemap(body: bytes) -> tuple[str, list[SitemapEntry]]:
    """("urlset" | "sitemapindex", entries); a news sitemap's publication_date is its lastmod."""
    root = parse_xml(body, "sitemap")
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise FeedError(f"not a sitemap (root element <{kind}>)")
    child = "url" if kind == "urlset" else "sitemap"
    out = []
    for el in root:
        if _local(el.tag) != child:
            continue
        loc = _text(_child(el, "loc"))
        if not loc:
            continue
        stamp = _text(_child(el, "lastmod"))
        if not stamp:
            news = _child(el, "news")
            stamp = _text(_child(news, "publication_date")) if news is not None else ""
        out.append(SitemapEntry(loc=loc, lastmod=parse_feed_date(stamp)))
    return kind, out
