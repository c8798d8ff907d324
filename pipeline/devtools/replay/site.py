"""A replica site as data: ``site.yaml`` (hosts, pages, robots) plus one YAML file per article.

Each folder under ``tests/fixtures/sites/`` is one site. An article's date is its ``age``
(``33h25m``) before the replica's anchor moment (the moment it starts), so the same articles
are new, recent or old whatever the day and the time of day; paths and bodies are Jinja
strings rendered with the article's own date. Tests that need a wall-clock day write
``days_ago`` + local ``time`` instead (a day before the anchor's date, at that time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from jinja2 import Environment
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.config.seedfile import load_model
from pipeline.devtools.replay.dates import at, fmt, parse_offset
from pipeline.errors import SeedError

M = TypeVar("M", bound=BaseModel)
# libyaml's loader when available (much faster on ~100 fixture files), else the Python one.
_FastLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

FaultKind = Literal[
    "http_500",  # server error
    "not_found",  # 404
    "slow",  # no answer for ReplayServer.slow_seconds (a client timeout)
    "redirect_loop",  # A -> B -> A ...
    "oversized",  # a valid HTML page larger than ReplayServer.oversized_bytes
    "binary_as_html",  # PDF bytes labelled text/html
    "pdf",  # a PDF labelled application/pdf
    "malformed_feed",  # RSS with broken XML
    "xml_entities",  # a feed with a billion-laughs entity bomb and an external entity
    "offsite_redirect",  # 302 to another replica host (which records whether it was followed)
]


def _clock(value: str) -> str:
    """``HH:MM`` on a 24-hour clock."""
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError("must be HH:MM (24-hour), e.g. 17:40")
    return value


def _age(value: str) -> str:
    """A duration in hours and minutes such as ``33h25m``, ``5h`` or ``0h40m``."""
    if not re.fullmatch(r"\d{1,4}h(?:[0-5]?\dm)?", value):
        raise ValueError("must be hours and minutes before the replica starts, e.g. 33h25m")
    return value


def age_delta(value: str) -> timedelta:
    """``33h25m`` -> timedelta(hours=33, minutes=25)."""
    hours, _, rest = value.partition("h")
    return timedelta(hours=int(hours), minutes=int(rest.rstrip("m") or 0))


def _offset(value: str) -> str:
    """A fixed UTC offset such as +03:00."""
    parse_offset(value)
    return value


Clock = Annotated[str, AfterValidator(_clock)]
Age = Annotated[str, AfterValidator(_age)]
Offset = Annotated[str, AfterValidator(_offset)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Paging(_Model):
    """How a listing is split into pages."""

    param: str | None = None  # query parameter (PAGEN_1, page); else {page} in the path
    per_page: int = Field(default=3, ge=1)
    first: int = Field(default=1, ge=0)  # the number of the first page
    # Past the last page: an empty list, a 404, or the last page again (Bitrix-style clamp).
    beyond: Literal["empty", "last", "not_found"] = "empty"
    # Page links when they differ from this spec's own path (Kremlin: the first page is
    # /events/president/news, later ones /events/president/news/page/{page}).
    link: str | None = None
    link_first: str | None = None


class PageSpec(_Model):
    """A generated page: feed, sitemap, listing or home page, rendered from the articles."""

    path: str  # may contain {page} or {date:%d.%m.%Y}
    template: str
    content_type: str = "text/html; charset=utf-8"
    encoding: str = "utf-8"
    # Which articles the page lists: attribute -> value or list of values (lang, section).
    select: dict[str, str | list[str]] = Field(default_factory=dict)
    min_days_ago: int | None = None
    max_days_ago: int | None = None
    limit: int | None = Field(default=None, ge=1)
    paging: Paging | None = None
    # {date} pages: "on" lists that day's items, "until" the newest items up to that day.
    date_mode: Literal["on", "until"] = "on"
    fault: FaultKind | None = None
    vars: dict[str, Any] = Field(default_factory=dict)


class SiteManifest(_Model):
    """``site.yaml``: one replica site."""

    name: str  # the real host the site replaces (folder name)
    hosts: list[str] = Field(min_length=1)  # real host names it answers for
    loopback: int = Field(ge=2, le=254)  # last octet of its loopback address
    tz: Offset = "+00:00"
    languages: list[str] = Field(min_length=1)
    robots: str
    article_template: str = "article.html.j2"
    article_content_type: str = "text/html; charset=utf-8"
    not_found_template: str | None = None
    pages: list[PageSpec] = Field(default_factory=list)
    vars: dict[str, Any] = Field(default_factory=dict)
    # Replica-only sites (faults, offsite) describe the source entry the sources writer adds.
    source: dict[str, Any] | None = None
    notes: str | None = None


class ArticleSpec(_Model):
    """One article file under ``<site>/articles/``."""

    id: str
    lang: str
    path: (
        str  # Jinja: may use published, e.g. /en/press-releases/{{ published|fmt('%Y/%m/%d') }}/x/1
    )
    section: str = "news"
    # When: ``age`` before the anchor moment (the fixtures), or ``days_ago`` + local ``time``.
    age: Age | None = None
    days_ago: int | None = Field(default=None, ge=0, le=400)
    time: Clock | None = None
    updated_age: Age | None = None
    updated_days_ago: int | None = Field(default=None, ge=0)
    updated_time: Clock | None = None
    title: str
    lead: str = ""
    body: str  # Jinja; blank lines separate paragraphs; "## " starts a subheading
    template: str | None = None
    content_type: str | None = None
    encoding: str | None = None
    draft: bool = False  # hidden until ReplayServer.publish(site, id)
    fault: FaultKind | None = None
    vars: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_date(self) -> ArticleSpec:
        """Exactly one way of dating the article (and its update)."""
        if (self.age is None) == (self.days_ago is None):
            raise ValueError("give either age (e.g. 33h25m) or days_ago with time")
        if self.days_ago is not None and self.time is None:
            raise ValueError("days_ago needs time (HH:MM, the site's local clock)")
        if self.updated_age is not None and self.updated_days_ago is not None:
            raise ValueError("give either updated_age or updated_days_ago, not both")
        return self


@dataclass
class Article:
    """An article placed in time: concrete date and path for the replica's anchor day."""

    site: str
    spec: ArticleSpec
    published: datetime
    updated: datetime | None
    path: str
    visible: bool = True
    added_at: datetime | None = None  # when a test published/added it (moves Last-Modified)
    age_days: int = 0  # whole days before the anchor (pages select on it)

    @property
    def id(self) -> str:
        """Site-local id."""
        return self.spec.id

    @property
    def lang(self) -> str:
        """Language code."""
        return self.spec.lang

    @property
    def section(self) -> str:
        """Section used by page ``select`` rules."""
        return self.spec.section

    @property
    def title(self) -> str:
        """Headline."""
        return self.spec.title

    @property
    def lead(self) -> str:
        """Teaser shown on listings and feeds."""
        return self.spec.lead

    @property
    def vars(self) -> dict[str, Any]:
        """Free per-article values for templates (category, author, document number...)."""
        return self.spec.vars

    @property
    def days_ago(self) -> int:
        """Whole days before the anchor (sitemaps and listings select on it)."""
        return self.age_days

    @property
    def modified(self) -> datetime:
        """Newest of published, updated and the moment a test added it."""
        return max(d for d in (self.published, self.updated, self.added_at) if d is not None)

    def attr(self, name: str) -> str:
        """Attribute used by ``select`` (lang, section, or a var)."""
        if name in ("lang", "section", "id"):
            return str(getattr(self, name))
        return str(self.vars.get(name, ""))


@dataclass
class SiteDef:
    """A loaded site folder (pure data; no anchor day yet)."""

    dir: Path
    manifest: SiteManifest
    articles: list[ArticleSpec] = field(default_factory=list)

    @property
    def name(self) -> str:
        """Folder / real host name."""
        return self.manifest.name

    @property
    def tz(self) -> timezone:
        """The site's printed offset."""
        return parse_offset(self.manifest.tz)


def _load(path: Path, model: type[M], strict: bool) -> M:
    """Fast load (C YAML parser); on any problem, or when ``strict``, the line-tracking loader.

    The strict loader (seedfile) also rejects duplicate keys and names file:line in errors,
    but parses several times slower; tests run it once over every fixture file.
    """
    if not strict:
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_FastLoader)
            return model.model_validate(data)
        except (yaml.YAMLError, ValidationError, UnicodeDecodeError):
            pass  # fall through: the strict loader reports the problem with its line
    return load_model(path, model)


def load_site(folder: Path, *, strict: bool = False) -> SiteDef:
    """Load ``site.yaml`` and ``articles/*.yaml``; errors name the file, line and field."""
    manifest = _load(folder / "site.yaml", SiteManifest, strict)
    if manifest.name != folder.name:
        raise SeedError(
            str(folder / "site.yaml"), None, "name", f"must equal the folder name {folder.name!r}"
        )
    specs = [_load(p, ArticleSpec, strict) for p in sorted((folder / "articles").glob("*.yaml"))]
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            raise SeedError(
                str(folder / "articles"), None, "id", f"duplicate article id {spec.id!r}"
            )
        seen.add(spec.id)
    return SiteDef(folder, manifest, specs)


def load_sites(base_dir: Path, *, strict: bool = False) -> list[SiteDef]:
    """Every site folder under ``base_dir`` (folders holding a ``site.yaml``)."""
    sites = [load_site(p.parent, strict=strict) for p in sorted(base_dir.glob("*/site.yaml"))]
    octets: dict[int, str] = {}
    for s in sites:
        other = octets.setdefault(s.manifest.loopback, s.name)
        if other != s.name:
            raise SeedError(
                str(s.dir / "site.yaml"),
                None,
                "loopback",
                f"{s.manifest.loopback} is also used by {other}",
            )
    return sites


def _moment(
    anchor: datetime, age: str | None, days_ago: int | None, clock: str | None, tz: timezone
) -> datetime | None:
    """``age`` before the anchor, or ``days_ago`` days before its date at ``clock``, in ``tz``."""
    if age is not None:
        return (anchor - age_delta(age)).astimezone(tz)
    if days_ago is not None and clock is not None:
        return at(anchor.date(), days_ago, clock, tz)
    return None


def place(site: SiteDef, spec: ArticleSpec, anchor: datetime, env: Environment) -> Article:
    """Give an article its concrete date and path for the anchor moment."""
    published = _moment(anchor, spec.age, spec.days_ago, spec.time, site.tz)
    if published is None:  # the model validator guarantees a date; this satisfies the types
        raise SeedError(str(site.dir / "articles"), None, "age", f"{spec.id}: no date")
    updated = _moment(
        anchor, spec.updated_age, spec.updated_days_ago, spec.updated_time or spec.time, site.tz
    )
    path = env.from_string(spec.path).render(published=published, a=spec, fmt=fmt).strip()
    if not path.startswith("/"):
        raise SeedError(str(site.dir / "articles"), None, "path", f"{spec.id}: must start with /")
    age_days = spec.days_ago if spec.days_ago is not None else (anchor - published).days
    return Article(
        site.name, spec, published, updated, path, visible=not spec.draft, age_days=age_days
    )
