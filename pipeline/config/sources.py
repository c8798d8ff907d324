"""Sources as data: the models of ``seeds/sources.yaml`` and its loader.

A source lists one or more discovery methods (feed, sitemap, listing); the generic
spiders in ``crawlers/`` are configured entirely from these models. Structural rules
(types, unknown keys, URL schemes, CSS syntax, templates) are pydantic validators;
cross-field rules (hosts inside ``allowed_domains``, method languages, unique names)
run in :func:`check_sources` so their errors can point at the exact line. The ``sources`` rows
are written from these models by :func:`pipeline.store.sources.sync_sources`.
"""

from __future__ import annotations

import codecs
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from pipeline.config.seedfile import Loc, field_name, line_for, load_yaml, validate
from pipeline.config.settings import get_settings
from pipeline.errors import SeedError

SourceType = Literal["ministry", "government", "wire", "media"]


def _slug(value: str) -> str:
    """Names are URL/CLI friendly: lower-case letters, digits, ``-`` and ``_``."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,99}", value):
        raise ValueError("must be a slug: lower-case letters, digits, '-' or '_' (e.g. mfa-am)")
    return value


def _lang(value: str) -> str:
    """ISO 639-1/3 code such as en, ru, hy, az."""
    if not re.fullmatch(r"[a-z]{2,3}", value):
        raise ValueError("must be an ISO 639 language code such as en, ru, hy, az")
    return value


def _country(value: str) -> str:
    """ISO 3166-1 alpha-2, upper-case (RU, AM, AZ)."""
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError("must be an upper-case ISO 3166 country code such as AM, AZ, RU")
    return value


def _domain(value: str) -> str:
    """A bare host name (Scrapy's allowed_domains ignores ports and schemes)."""
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", value):
        raise ValueError("must be a bare lower-case host name such as mfa.am (no scheme, no port)")
    return value


def _http_url(value: str) -> str:
    """An absolute http(s) URL with a host."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL")
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain spaces")
    return value


def _css(value: str) -> str:
    """A CSS selector parsel understands (``::text`` and ``::attr(x)`` allowed)."""
    from cssselect.parser import SelectorError
    from parsel.csstranslator import css2xpath

    if not value.strip():
        raise ValueError("CSS selector must not be empty")
    try:
        css2xpath(value)
    except (SelectorError, ValueError) as exc:  # cssselect raises ExpressionError(ValueError) too
        raise ValueError(f"invalid CSS selector: {exc}") from None
    return value


def _regex(value: str) -> str:
    """A compilable regular expression."""
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression: {exc}") from None
    return value


def _zone(value: str) -> str:
    """An IANA time-zone name."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as Europe/Moscow or Asia/Baku") from None
    return value


def _encoding(value: str) -> str:
    """A codec Python knows (windows-1251, utf-8, ...)."""
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError("unknown character encoding (e.g. utf-8, windows-1251)") from None
    return value


def _page_template(value: str) -> str:
    """A URL template with a ``{page}`` placeholder that formats to a valid URL."""
    if "{page}" not in value:
        raise ValueError("must contain the {page} placeholder, e.g. ?page={page}")
    try:
        _http_url(value.format(page=2))
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"bad page template: {exc}") from None
    return value


def _date_template(value: str) -> str:
    """A URL template with a ``{date:...}`` placeholder (strftime spec after the colon)."""
    if "{date" not in value:
        raise ValueError("must contain a {date:%Y/%m/%d}-style placeholder")
    try:
        _http_url(value.format(date=date(2026, 1, 31)))
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"bad date template: {exc}") from None
    return value


Slug = Annotated[str, AfterValidator(_slug)]
Lang = Annotated[str, AfterValidator(_lang)]
Url = Annotated[str, AfterValidator(_http_url)]
Css = Annotated[str, AfterValidator(_css)]
Regex = Annotated[str, AfterValidator(_regex)]
Zone = Annotated[str, AfterValidator(_zone)]


class _Model(BaseModel):
    """Strict base: unknown keys are errors (typos must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class FeedMethod(_Model):
    """An RSS or Atom feed."""

    method: Literal["feed"]
    url: Url
    language: Lang | None = None
    # The feed carries the whole article (Kremlin Atom, tass.ru yandex.xml): no page fetch.
    full_text: bool = False
    # Read entry times as wall-clock in this zone, ignoring the declared offset
    # (the Kremlin feed writes Moscow time but labels it +04:00).
    assume_tz: Zone | None = None
    # Older entries by page number for backfills (Kremlin: /events/all/feed/page/{page}).
    page_url: Annotated[str, AfterValidator(_page_template)] | None = None
    max_pages: int = Field(default=1, ge=1, le=200)
    backfill_max_pages: int = Field(default=100, ge=1, le=5000)  # cap when walking back
    url_pattern: Regex | None = None  # keep only entry links matching this


class SitemapMethod(_Model):
    """A sitemap, news sitemap or sitemap index; entries are filtered by ``lastmod``."""

    method: Literal["sitemap"]
    url: Url
    language: Lang | None = None
    url_pattern: Regex | None = None  # article URLs to keep
    follow: Regex | None = None  # child sitemaps of an index to follow (default: all)
    max_sitemaps: int = Field(default=10, ge=1, le=500)
    # Entries without lastmod are kept only when true (some sites omit it).
    keep_undated: bool = False


class ListingMethod(_Model):
    """Paged listing pages scraped with CSS selectors."""

    method: Literal["listing"]
    url: Url  # the first page
    language: Lang | None = None
    # Later pages, e.g. "https://mid.ru/en/foreign_policy/news/?PAGEN_1={page}".
    page_url: Annotated[str, AfterValidator(_page_template)] | None = None
    # The number the site gives its first page (`url`); later pages are first_page+1, ...
    # (mid.ru PAGEN_1 starts at 1; Drupal-style ?page= starts at 0).
    first_page: int = Field(default=1, ge=0)
    max_pages: int = Field(default=5, ge=1, le=2000)  # per incremental run
    backfill_max_pages: int = Field(default=100, ge=1, le=5000)  # cap when walking back
    item: Css  # one element per listed article
    link: Css = "a::attr(href)"  # relative to item
    date: Css | None = None  # relative to item; text or ::attr(datetime)
    date_format: str | None = None  # strptime format; else dateparser with date_locale
    date_locale: Lang | None = None
    title: Css | None = None
    url_pattern: Regex | None = None
    # Per-day archive for backfills: kremlin "…/by-date/{date:%d.%m.%Y}",
    # news.am ".../{date:%Y/%m/%d}/".
    archive_url: Annotated[str, AfterValidator(_date_template)] | None = None


Discovery = Annotated[FeedMethod | SitemapMethod | ListingMethod, Field(discriminator="method")]


class ArticleHints(_Model):
    """How to read an article page when generic extraction needs help."""

    title: Css | None = None
    body: Css | None = None
    date: Css | None = None
    quirks: Slug | None = None  # id of a function in pipeline/clean/quirks.py
    encoding: Annotated[str, AfterValidator(_encoding)] | None = None
    url_pattern: Regex | None = None  # links that are articles (others are ignored)


class CrawlOptions(_Model):
    """Politeness and scope for one source."""

    enabled: bool = True
    delay: float | None = Field(default=None, ge=0, le=120)  # seconds; None = settings
    concurrency: int = Field(default=1, ge=1, le=2)  # per domain, per the politeness rules
    # Never fetch article pages (sites that refuse bots on pages but serve feeds).
    feed_only: bool = False
    max_articles: int = Field(default=300, ge=1, le=100_000)  # article fetches per run
    recheck_days: int | None = Field(default=None, ge=0, le=60)  # None = settings


class SourceConfig(_Model):
    """One monitored site."""

    name: Slug
    label: str | None = None
    # Who publishes: sources of one organisation are one publisher to dedup, and re-reports
    # naming it are matched to it (ids of pipeline/dedup/attribution.py; default: from label).
    organisation: Slug | None = None
    type: SourceType
    country: Annotated[str, AfterValidator(_country)]
    languages: list[Lang] = Field(min_length=1)
    homepage: Url
    allowed_domains: list[Annotated[str, AfterValidator(_domain)]] = Field(min_length=1)
    timezone: Zone = "UTC"  # zone of naive dates the site prints
    discovery: list[Discovery] = Field(min_length=1)
    article: ArticleHints = Field(default_factory=ArticleHints)
    crawl: CrawlOptions = Field(default_factory=CrawlOptions)
    notes: str | None = None

    def allows(self, url: str) -> bool:
        """True when ``url``'s host is one of the allowed domains or a subdomain of one."""
        return host_allowed(urlsplit(url).hostname or "", self.allowed_domains)


class SourcesFile(_Model):
    """The whole of ``seeds/sources.yaml``."""

    sources: list[SourceConfig]

    def get(self, name: str) -> SourceConfig:
        """The source called ``name``; KeyError lists the known names."""
        for src in self.sources:
            if src.name == name:
                return src
        known = ", ".join(s.name for s in self.sources)
        raise KeyError(f"unknown source {name!r}; known: {known}")


def host_allowed(host: str, domains: list[str]) -> bool:
    """Scrapy's rule: the host equals a domain or ends with ``.domain``."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)


def check_sources(sf: SourcesFile) -> list[tuple[Loc, str]]:
    """Cross-field problems as (location, message); empty when the file is consistent."""
    problems: list[tuple[Loc, str]] = []
    seen: dict[str, int] = {}
    for i, src in enumerate(sf.sources):
        if src.name in seen:
            problems.append(
                (
                    (("sources", i, "name")),
                    f"duplicate name {src.name!r} (first at sources[{seen[src.name]}])",
                )
            )
        seen.setdefault(src.name, i)
        urls: list[tuple[Loc, str]] = [(("sources", i, "homepage"), src.homepage)]
        for j, m in enumerate(src.discovery):
            base: Loc = ("sources", i, "discovery", j)
            urls.append(((*base, "url"), m.url))
            if isinstance(m, FeedMethod | ListingMethod) and m.page_url:
                urls.append(((*base, "page_url"), m.page_url.format(page=2)))
            if isinstance(m, ListingMethod) and m.archive_url:
                urls.append(((*base, "archive_url"), m.archive_url.format(date=date(2026, 1, 31))))
            if m.language and m.language not in src.languages:
                problems.append(
                    (
                        (*base, "language"),
                        f"{m.language!r} is not in the source's languages {src.languages}",
                    )
                )
        for loc, url in urls:
            if not src.allows(url):
                host = urlsplit(url).hostname
                problems.append(
                    (
                        loc,
                        f"host {host!r} is outside allowed_domains {src.allowed_domains}; "
                        "add the domain or fix the URL",
                    )
                )
    return problems


def _data_loc(loc: Loc, data: Any) -> Loc:
    """Drop pydantic's tagged-union labels (``discovery[0].feed.url``) so the loc walks the data."""
    out: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(part, str) and isinstance(node, dict) and part not in node and not last:
            continue  # a union tag such as "feed", not a key of the file
        out.append(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(out)


def parse_sources(
    data: Any, *, file: str = "<sources>", lines: dict[Loc, int] | None = None
) -> SourcesFile:
    """Validate already-parsed data (structure, then cross-field checks) into a SourcesFile."""
    lines = lines or {}
    try:
        sf = SourcesFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        clean = _data_loc(tuple(err["loc"]), data)
        if clean != tuple(err["loc"]):
            msg = (
                "unknown key (check the spelling)"
                if err["type"] == "extra_forbidden"
                else err["msg"]
            )
            more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            raise SeedError(file, line_for(clean, lines), field_name(clean), msg + more) from None
        sf = validate(SourcesFile, data, lines, file)  # the shared formatter
    problems = check_sources(sf)
    if problems:
        loc, msg = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SeedError(file, line_for(loc, lines), field_name(loc), msg + more)
    return sf


def load_sources(path: Path | None = None) -> SourcesFile:
    """Load ``seeds/sources.yaml`` (or NEWSMON_SOURCES_FILE); errors name file:line and field."""
    path = path or get_settings().sources_path
    data, lines = load_yaml(path)
    return parse_sources(data, file=str(path), lines=lines)


__all__ = [
    "ArticleHints",
    "CrawlOptions",
    "Discovery",
    "FeedMethod",
    "ListingMethod",
    "SitemapMethod",
    "SourceConfig",
    "SourcesFile",
    "check_sources",
    "host_allowed",
    "load_sources",
    "parse_sources",
]
