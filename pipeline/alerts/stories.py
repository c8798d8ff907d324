"""What an alert shows of a story: origin, versions by language, outlets, passages with hits.

The story itself comes from the read model (``pipeline.store.stories``); this module only turns
it into what one alert about one topic shows to one subscriber: the version in their languages
first (the origin when it is in one of them), the origin named, the other versions listed by
language under their own names ("also in: Русский · Հայերեն · Azərbaycanca").

Highlighting works on offsets into the raw (scraped) text and escapes every segment separately, so
scraped markup can never become HTML: escape first, then wrap the hit spans in ``<mark>``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from babel import Locale, UnknownLocaleError
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.store.models import Topic
from pipeline.store.stories import Story, base_language
from pipeline.store.stories import load_story as read_story

# Passages longer than this are cut around their first hit (a phone screen shows ~8 lines).
MAX_PASSAGE_CHARS = 600
MAX_PASSAGES = 3


@dataclass(frozen=True)
class Passage:
    """One matched passage: the raw text and the hit spans inside it."""

    field: str
    text: str
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def html(self) -> Markup:
        """The passage as safe HTML: each segment escaped, hits wrapped in ``<mark>``."""
        out: list[Markup] = []
        pos = 0
        for start, end in self.spans:
            out.append(escape(self.text[pos:start]))
            out.append(Markup("<mark>%s</mark>") % self.text[start:end])
            pos = end
        out.append(escape(self.text[pos:]))
        return Markup("").join(out)

    @property
    def marked_text(self) -> str:
        """The passage for the plain-text part, hits between asterisks."""
        out: list[str] = []
        pos = 0
        for start, end in self.spans:
            out.append(f"{self.text[pos:start]}*{self.text[start:end]}*")
            pos = end
        out.append(self.text[pos:])
        return "".join(out)


@dataclass(frozen=True)
class Outlet:
    """A source that carried the story."""

    name: str
    url: str
    language: str | None
    official: bool


@cache
def autonym(code: str | None) -> str:
    """A language's name in its own script, capitalised ("ru" -> "Русский"), from CLDR (Babel)."""
    base = base_language(code)
    if base is None:
        return "?"
    try:
        name = Locale.parse(base).get_display_name(base) or base
    except (UnknownLocaleError, ValueError):
        return base  # a code CLDR does not know: shown as it is stored
    return name[:1].upper() + name[1:]


@dataclass(frozen=True)
class VersionView:
    """The story in one language: its name in that language and the outlets that carried it."""

    language: str | None
    name: str
    outlets: tuple[Outlet, ...]


@dataclass(frozen=True)
class StoryView:
    """A story as one alert shows it, for one topic and one reader.

    ``title``, ``url``, ``language`` and ``lead_outlet`` are those of the version the reader sees
    first (the origin, unless the reader's languages call for another); ``origin*`` always name
    the origin.
    """

    cluster_id: int
    topic_id: str
    topic_name: str
    title: str
    url: str
    origin: str
    date: datetime
    language: str | None
    outlets: tuple[Outlet, ...]
    passages: tuple[Passage, ...]
    terms: tuple[str, ...]
    updated: datetime
    caught_up: bool = False
    origin_title: str = ""
    origin_url: str = ""
    origin_language: str | None = None
    lead_outlet: str = ""
    versions: tuple[VersionView, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def leads_with_origin(self) -> bool:
        """Whether the reader sees the origin itself first."""
        return self.url == self.origin_url

    @property
    def also_in(self) -> tuple[VersionView, ...]:
        """The versions in languages other than the one the reader sees first."""
        lead = base_language(self.language)
        return tuple(v for v in self.versions if v.language != lead and v.language is not None)

    @property
    def languages(self) -> tuple[str, ...]:
        """Base codes of the story's languages, the lead's first."""
        return tuple(v.language for v in self.versions if v.language is not None)

    def as_json(self) -> dict[str, Any]:
        """The webhook payload's ``story`` object."""
        return {
            "cluster_id": self.cluster_id,
            "title": self.title,
            "url": self.url,
            "origin": self.origin,
            "origin_title": self.origin_title,
            "origin_url": self.origin_url,
            "origin_language": self.origin_language,
            "published": self.date.isoformat(),
            "language": self.language,
            "languages": list(self.languages),
            "outlets": [
                {"name": o.name, "url": o.url, "language": o.language} for o in self.outlets
            ],
            "versions": [
                {
                    "language": v.language,
                    "name": v.name,
                    "outlets": [{"name": o.name, "url": o.url} for o in v.outlets],
                }
                for v in self.versions
            ],
            "topic": {"id": self.topic_id, "name": self.topic_name, "terms": list(self.terms)},
            "passages": [{"field": p.field, "text": p.text} for p in self.passages],
            "caught_up": self.caught_up,
        }


def _fold(text: str) -> tuple[str, list[int]]:
    """Case- and accent-folded text with, per folded character, its index in ``text``."""
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        for piece in unicodedata.normalize("NFKD", ch):
            if unicodedata.combining(piece):
                continue
            for folded in piece.casefold():
                chars.append(folded)
                index.append(i)
    return "".join(chars), index


def _term_pattern(term: str) -> re.Pattern[str] | None:
    """A regex over folded text for one term; ``*`` ends a stem ("Зангезурск* коридор*")."""
    words = [w for w in _fold(term)[0].split() if w.strip("*")]
    if not words:
        return None
    parts = [re.escape(w.rstrip("*")) + (r"\w*" if w.endswith("*") else "") for w in words]
    return re.compile(r"(?<!\w)" + r"\W+".join(parts) + r"(?!\w)")


def hit_spans(
    text: str, terms: list[str] | tuple[str, ...], hits: list[Any] | None = None
) -> tuple[tuple[int, int], ...]:
    """Spans of the terms in ``text`` (given hit offsets win), merged and sorted."""
    spans: list[tuple[int, int]] = []
    if hits:
        spans = [
            (int(h[0]), int(h[1]))
            for h in hits
            if isinstance(h, list | tuple) and 0 <= int(h[0]) < int(h[1]) <= len(text)
        ]
    else:
        folded, index = _fold(text)
        for term in terms:
            pattern = _term_pattern(str(term))
            if pattern is None:
                continue
            for m in pattern.finditer(folded):
                if m.end() > m.start():
                    spans.append((index[m.start()], index[m.end() - 1] + 1))
    return merge_spans(spans)


def merge_spans(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sort spans and join the overlapping ones."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def make_passage(raw: dict[str, Any], terms: list[str] | tuple[str, ...]) -> Passage | None:
    """Build a passage from a stored ``matches.passages`` item, cut to a readable length."""
    text = str(raw.get("text") or "")
    if not text.strip():
        return None
    spans = hit_spans(text, terms, raw.get("hits"))
    if len(text) > MAX_PASSAGE_CHARS:
        first = spans[0][0] if spans else 0
        start = max(0, min(first - MAX_PASSAGE_CHARS // 3, len(text) - MAX_PASSAGE_CHARS))
        end = start + MAX_PASSAGE_CHARS
        cut = text[start:end]
        lead, tail = ("…" if start else ""), ("…" if end < len(text) else "")
        shift = start - len(lead)
        text = lead + cut + tail
        spans = tuple(
            (max(s - shift, len(lead)), min(e - shift, len(lead) + len(cut)))
            for s, e in spans
            if e > start and s < end
        )
    return Passage(field=str(raw.get("field") or "text"), text=text, spans=spans)


def topic_names(session: Session) -> dict[str, str]:
    """Topic id → display name."""
    return {t.id: t.name or t.id for t in session.scalars(select(Topic))}


def subscribed_topics(
    story: Story, topics: Sequence[str], sources: Sequence[str] = ()
) -> list[str]:
    """The topics of a subscription the story matches, in the subscription's order.

    ``*`` stands for every topic; with ``sources``, only matches of those outlets' documents count.
    """
    allowed = {m.document_id for m in story.members if not sources or m.source in sources}
    matched = {m.topic_id for m in story.matches if m.document_id in allowed}
    if "*" in topics:
        return sorted(matched)
    return [t for t in topics if t in matched]


def load_story(
    session: Session,
    cluster_id: int,
    topic_id: str,
    *,
    names: dict[str, str] | None = None,
    caught_up: bool = False,
    languages: Sequence[str] = (),
) -> StoryView | None:
    """The view of one story for one topic, or None when the cluster no longer exists."""
    story = read_story(session, cluster_id)
    if story is None:
        return None
    names = names if names is not None else topic_names(session)
    return story_view(story, topic_id, names=names, caught_up=caught_up, languages=languages)


def story_view(
    story: Story,
    topic_id: str,
    *,
    names: dict[str, str],
    caught_up: bool = False,
    languages: Sequence[str] = (),
) -> StoryView:
    """A read-model story as an alert on ``topic_id`` shows it to a reader of ``languages``."""
    origin = story.origin
    lead = story.lead(languages)
    outlets: dict[str, Outlet] = {}
    for m in story.members:
        outlets.setdefault(m.source_label, Outlet(m.source_label, m.url, m.language, m.official))
    versions: list[VersionView] = []
    for version in story.versions:
        carried: dict[str, Outlet] = {}
        for m in version.members:
            carried.setdefault(
                m.source_label, Outlet(m.source_label, m.url, m.language, m.official)
            )
        versions.append(
            VersionView(version.language, autonym(version.language), tuple(carried.values()))
        )
    # The lead's language first, then the story's order (the origin's language first).
    versions.sort(key=lambda v: v.language != lead.base_language)
    best = story.best_match(topic_id)
    terms: tuple[str, ...] = best.terms if best else ()
    passages: list[Passage] = []
    for raw in best.passages if best else ():
        if isinstance(raw, dict) and (p := make_passage(raw, terms)) is not None:
            passages.append(p)
    return StoryView(
        cluster_id=story.cluster_id,
        topic_id=topic_id,
        topic_name=names.get(topic_id, topic_id),
        title=lead.title or "(untitled)",
        url=lead.url,
        origin=origin.source_label,
        date=origin.published_at or story.first_seen_at,
        language=lead.language,
        outlets=tuple(outlets.values()),
        passages=tuple(passages[:MAX_PASSAGES]),
        terms=terms,
        updated=max(story.updated_at, story.first_seen_at),
        caught_up=caught_up,
        origin_title=origin.title or "(untitled)",
        origin_url=origin.url,
        origin_language=origin.language,
        lead_outlet=lead.source_label,
        versions=tuple(versions),
    )
