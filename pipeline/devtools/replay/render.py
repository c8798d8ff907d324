"""Turn a replica site into responses: routing, paging, Jinja rendering with the site's dates."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import escape

from pipeline.devtools.replay.dates import fmt, http_date, iso, relabel, rfc822
from pipeline.devtools.replay.site import Article, ArticleSpec, FaultKind, PageSpec, SiteDef, place

COMMON_TEMPLATES = "_common"  # shared templates folder next to the site folders
# strftime codes allowed in {date:...} path placeholders and the regex each one matches.
_DATE_CODES = {"d": r"\d{2}", "m": r"\d{2}", "Y": r"\d{4}", "y": r"\d{2}"}


@dataclass
class Rendered:
    """One response before HTTP framing (ETag/304 are added by the server)."""

    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    last_modified: datetime | None = None
    location: str | None = None
    fault: FaultKind | None = None


@dataclass
class Route:
    """A compiled page path."""

    spec: PageSpec
    regex: re.Pattern[str]
    date_format: str | None


def _compile(path: str) -> tuple[re.Pattern[str], str | None]:
    """``/news/page/{page}`` or ``/by-date/{date:%d.%m.%Y}`` -> regex (+ the date format)."""
    out, date_format, pos = "", None, 0
    for m in re.finditer(r"\{(page|date:([^}]+))\}", path):
        out += re.escape(path[pos : m.start()])
        if m.group(1) == "page":
            out += r"(?P<page>\d+)"
        else:
            date_format = m.group(2)
            rx = re.sub(r"%(\w)", lambda c: _DATE_CODES[c.group(1)], re.escape(date_format))
            out += f"(?P<date>{rx})"
        pos = m.end()
    out += re.escape(path[pos:])
    return re.compile(out + r"\Z"), date_format


def make_env(site_dir: Path) -> Environment:
    """Jinja environment: the site's templates, then the shared ones; everything escaped."""
    env = Environment(
        loader=FileSystemLoader([site_dir / "templates", site_dir.parent / COMMON_TEMPLATES]),
        autoescape=True,
        undefined=StrictUndefined,  # a typo in a template fails loudly instead of rendering ""
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(fmt=fmt, rfc822=rfc822, iso=iso, http_date=http_date, relabel=relabel)
    return env


@dataclass
class SiteRuntime:
    """A site placed at an anchor moment and an address, with its mutable test state."""

    site: SiteDef
    anchor: datetime  # aware; article ages count back from it (a bare date means its midday)
    base: str  # http://127.0.0.N:PORT
    url_of: Callable[[str, str], str]
    epoch: datetime  # Last-Modified of static pages (robots.txt, 404)
    env: Environment = field(init=False)
    articles: dict[str, Article] = field(init=False, default_factory=dict)
    faults: dict[str, FaultKind] = field(init=False, default_factory=dict)
    routes: list[Route] = field(init=False, default_factory=list)
    _cache: dict[str, Rendered] = field(init=False, default_factory=dict)
    _lock: threading.RLock = field(init=False, default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.anchor = anchor_moment(self.anchor)
        self.env = make_env(self.site.dir)
        for spec in self.site.articles:
            self._put(spec)
        for page in self.site.manifest.pages:
            regex, date_format = _compile(page.path)
            self.routes.append(Route(page, regex, date_format))
            if page.fault and "{" not in page.path:
                self.faults[page.path] = page.fault

    # ----- state changes (tests) -----

    def _put(self, spec: ArticleSpec, added_at: datetime | None = None) -> Article:
        art = place(self.site, spec, self.anchor, self.env)
        art.added_at = added_at
        self.articles[spec.id] = art
        if spec.fault:
            self.faults[art.path] = spec.fault
        return art

    def add(self, spec: ArticleSpec, now: datetime) -> Article:
        """Add (or replace) an article; feeds, listings and sitemaps include it at once."""
        with self._lock:
            art = self._put(spec, added_at=now)
            self._cache.clear()
            return art

    def publish(self, article_id: str, now: datetime) -> Article:
        """Make a draft article visible."""
        with self._lock:
            art = self.articles[article_id]
            art.visible, art.added_at = True, now
            self._cache.clear()
            return art

    def set_fault(self, path: str, kind: FaultKind | None) -> None:
        """Serve ``path`` as a fault (None removes it)."""
        with self._lock:
            if kind is None:
                self.faults.pop(path, None)
            else:
                self.faults[path] = kind

    # ----- lookups -----

    def visible(self) -> list[Article]:
        """Published articles, newest first."""
        arts = [a for a in self.articles.values() if a.visible]
        return sorted(arts, key=lambda a: (a.published, a.id), reverse=True)

    def url(self, path: str) -> str:
        """Absolute replica URL of a path on this site."""
        return self.base + path

    def select(self, spec: PageSpec) -> list[Article]:
        """Articles a page lists, newest first."""
        out = []
        for art in self.visible():
            if any(
                art.attr(k) not in (v if isinstance(v, list) else [v])
                for k, v in spec.select.items()
            ):
                continue
            if spec.min_days_ago is not None and art.days_ago < spec.min_days_ago:
                continue
            if spec.max_days_ago is not None and art.days_ago > spec.max_days_ago:
                continue
            out.append(art)
        return out[: spec.limit] if spec.limit else out

    # ----- rendering -----

    def respond(self, path: str, query: str) -> Rendered:
        """The response for a request path (cached until the site's state changes)."""
        with self._lock:
            if path in self.faults:
                return Rendered(200, fault=self.faults[path])
            key = f"{path}?{query}"
            hit = self._cache.get(key)
            if hit is None:
                hit = self._cache[key] = self._render(path, query)
            return hit

    def _common(self) -> dict[str, Any]:
        """Context every template gets."""
        return {
            "site": self.site.manifest,
            "vars": self.site.manifest.vars,
            "base": self.base,
            "url": self.url,
            "url_of": self.url_of,
            "anchor": self.anchor,
            "articles": self.visible(),
            "fmt": fmt,
            "paragraphs_of": self.paragraphs,
            "body_html": self.body_html,
        }

    def _render(self, path: str, query: str) -> Rendered:
        """Route and render (no cache)."""
        if path == "/robots.txt":
            text = self.env.from_string(self.site.manifest.robots).render(**self._common())
            return Rendered(200, text.encode(), "text/plain; charset=utf-8", self.epoch)
        for art in self.articles.values():
            if art.visible and art.path == path:
                return self._article(art)
            if art.visible and art.path == path + "/":
                return Rendered(301, location=self.url(art.path), last_modified=self.epoch)
        for route in self.routes:
            m = route.regex.match(path)
            if m:
                return self._page(route, m, parse_qs(query))
        return self._not_found()

    def _not_found(self) -> Rendered:
        """A 404 in the site's style when it has a template."""
        name = self.site.manifest.not_found_template
        body = self.env.get_template(name).render(**self._common()) if name else "<h1>404</h1>"
        return Rendered(404, body.encode("utf-8"), last_modified=self.epoch)

    def paragraphs(self, art: Article) -> list[tuple[str, str]]:
        """The body rendered with the article's dates: ("p"|"h", text) blocks."""
        ctx = {**self._common(), "a": art, "published": art.published}
        text = self.env.from_string(art.spec.body).render(**ctx)
        blocks: list[tuple[str, str]] = []
        for raw in re.split(r"\n\s*\n", text.strip()):
            para = " ".join(line.strip() for line in raw.strip().splitlines())
            if para.startswith("## "):
                blocks.append(("h", para[3:].strip()))
            elif para:
                blocks.append(("p", para))
        return blocks

    def body_html(self, art: Article) -> str:
        """The body as simple HTML (for full-text feeds; the template escapes it)."""
        tags = {"h": "h3", "p": "p"}
        return "".join(f"<{tags[k]}>{escape(t)}</{tags[k]}>" for k, t in self.paragraphs(art))

    def _article(self, art: Article) -> Rendered:
        """An article page."""
        m = self.site.manifest
        same_lang = [a for a in self.visible() if a.lang == art.lang and a.id != art.id]
        ctx = {
            **self._common(),
            "a": art,
            "paragraphs": self.paragraphs(art),
            "related": same_lang[:4],
        }
        body = self.env.get_template(art.spec.template or m.article_template).render(**ctx)
        encoding = art.spec.encoding or "utf-8"
        ctype = art.spec.content_type or m.article_content_type
        return Rendered(200, body.encode(encoding, "xmlcharrefreplace"), ctype, art.modified)

    def _page(self, route: Route, m: re.Match[str], query: dict[str, list[str]]) -> Rendered:
        """A feed, sitemap, listing or home page."""
        spec = route.spec
        items = self.select(spec)
        day: date | None = None
        if route.date_format:
            try:
                day = datetime.strptime(m.group("date"), route.date_format).date()
            except ValueError:
                return self._not_found()
            if spec.date_mode == "on":
                items = [a for a in items if a.published.date() == day]
            else:
                items = [a for a in items if a.published.date() <= day][: spec.limit or 20]
        page, pages = 1, 1
        paging = spec.paging
        if paging:
            raw = m.groupdict().get("page") or (
                query.get(paging.param, [None])[0] if paging.param else None
            )
            try:
                page = int(raw) if raw is not None else paging.first
            except ValueError:
                page = paging.first
            pages = max(1, -(-len(items) // paging.per_page))
            index = page - paging.first
            if index >= pages and paging.beyond == "not_found":
                return self._not_found()
            if index >= pages and paging.beyond == "last":
                index = pages - 1  # Bitrix-style: an out-of-range page repeats the last one
                page = paging.first + index
            start = max(0, index) * paging.per_page
            items = items[start : start + paging.per_page]

        def page_url(n: int) -> str:
            """Site-relative link to page ``n`` of this listing."""
            if paging is None:
                return spec.path
            if paging.link:
                first = paging.link_first or spec.path
                return first if n == paging.first else paging.link.format(page=n)
            if paging.param:
                return spec.path if n == paging.first else f"{spec.path}?{paging.param}={n}"
            return spec.path.format(page=n)

        ctx = {
            **self._common(),
            "spec": spec,
            "vars": {**self.site.manifest.vars, **spec.vars},
            "items": items,
            "page": page,
            "pages": pages,
            "first_page": paging.first if paging else 1,
            "page_url": page_url,
            "day": day,
            "lastmod": max((a.modified for a in items), default=self.epoch),
        }
        body = self.env.get_template(spec.template).render(**ctx)
        last = max((a.modified for a in items), default=self.epoch)
        return Rendered(
            200,
            body.encode(spec.encoding, "xmlcharrefreplace"),
            spec.content_type,
            last,
            fault=spec.fault,
        )


def anchor_moment(anchor: date | datetime) -> datetime:
    """The anchor as an aware moment to the minute; a bare date means its midday (UTC)."""
    if not isinstance(anchor, datetime):
        return datetime.combine(anchor, time(12, 0), tzinfo=UTC)
    if anchor.tzinfo is None:
        raise ValueError(f"replica anchor {anchor.isoformat()}: needs a time zone")
    # Whole minutes: pages print minutes and feeds seconds, and both must name the same moment.
    return anchor.astimezone(UTC).replace(second=0, microsecond=0)


def anchor_epoch(anchor: date | datetime) -> datetime:
    """Fixed Last-Modified for static pages: 60 days before the anchor's day (stable per day)."""
    day = anchor_moment(anchor).date()
    return datetime.combine(day - timedelta(days=60), time(0, 0), tzinfo=UTC)
