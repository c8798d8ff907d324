"""What the pages show, read from the store: the day's stories, one story, topics and sources.

Stories come from the story read model (``pipeline.store.stories``) and their passages through
the alerts' helpers (``pipeline.alerts.stories``), so a story reads the same here and in email.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.alerts.ledger import story_muted
from pipeline.alerts.stories import MAX_PASSAGES, Outlet, Passage, make_passage, topic_names
from pipeline.store.models import (
    Alert,
    AlertMute,
    Cluster,
    Document,
    Judgement,
    Match,
    Source,
    Topic,
)
from pipeline.store.stories import Story, load_stories
from pipeline.text.window import parse_moment

# A window holds at most this many stories (newest first); narrower filters show the rest.
MAX_STORIES = 300
MAX_HOURS = 24 * 31


@dataclass(frozen=True)
class Filters:
    """The filters of Today and Search (all optional)."""

    topic: str | None = None
    source: str | None = None
    language: str | None = None
    day: str | None = None  # YYYY-MM-DD in NEWSMON_TIMEZONE; else the last ``hours``
    hours: int = 24

    def window(self, now: datetime, tz: Any) -> tuple[datetime, datetime]:
        """``[since, until)``: the chosen day, or the last ``hours`` up to now."""
        if self.day:
            start = parse_moment(self.day, tz, name="day")
            assert start is not None  # a non-empty value always parses or raises
            return start, parse_moment(self.day, tz, end=True, name="day") or now
        return now - timedelta(hours=self.hours), now + timedelta(seconds=1)

    def as_query(self) -> dict[str, str]:
        """The non-default filters as query parameters (for links that keep them)."""
        pairs = {"topic": self.topic, "source": self.source, "lang": self.language}
        out = {k: v for k, v in pairs.items() if v}
        if self.day:
            out["day"] = self.day
        elif self.hours != 24:
            out["hours"] = str(self.hours)
        return out


@dataclass(frozen=True)
class TopicHit:
    """A topic a story matched, with the terms that fired."""

    id: str
    name: str
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Card:
    """A story as the lists show it: origin, outlets and languages, topics, passages."""

    id: int
    title: str
    url: str
    origin: str
    official: bool
    date: datetime
    first_seen: datetime
    language: str | None
    outlets: tuple[Outlet, ...]
    languages: tuple[str, ...]
    topics: tuple[TopicHit, ...]
    passages: tuple[Passage, ...]
    size: int
    story: Story = field(compare=False, repr=False)


def card(story: Story, names: dict[str, str], only: str | None = None) -> Card:
    """The card of a story; ``only`` restricts topics and passages to one topic."""
    origin = story.origin
    outlets: dict[str, Outlet] = {}
    for m in story.members:
        outlets.setdefault(m.source_label, Outlet(m.source_label, m.url, m.language, m.official))
    hits: list[TopicHit] = []
    passages: dict[tuple[str, str], Passage] = {}
    for topic_id in story.topics:
        if only is not None and topic_id != only:
            continue
        best = story.best_match(topic_id)
        if best is None:
            continue
        hits.append(TopicHit(topic_id, names.get(topic_id, topic_id), best.terms))
        for raw in best.passages:
            if len(passages) >= MAX_PASSAGES or not isinstance(raw, dict):
                continue
            if (p := make_passage(raw, best.terms)) is not None:
                passages.setdefault((p.field, p.text), p)
    hits.sort(key=lambda h: h.name.casefold())
    languages = tuple(dict.fromkeys(m.language for m in story.members if m.language))
    return Card(
        id=story.cluster_id,
        title=origin.title or "(untitled)",
        url=origin.url,
        origin=origin.source_label,
        official=origin.official,
        date=origin.published_at or story.first_seen_at,
        first_seen=story.first_seen_at,
        language=origin.language,
        outlets=tuple(outlets.values()),
        languages=languages,
        topics=tuple(hits),
        passages=tuple(passages.values()),
        size=story.size,
        story=story,
    )


@dataclass
class Section:
    """The stories of one topic on Today."""

    topic_id: str
    name: str
    cards: list[Card] = field(default_factory=list)


def _in_stories(where: Any) -> Any:
    """SQL: the outer cluster has a document satisfying ``where`` (on ``Document``)."""
    return Cluster.id.in_(select(Document.cluster_id).where(where))


def today(session: Session, f: Filters, since: datetime, until: datetime) -> list[Section]:
    """Matched stories first seen in ``[since, until)``, not muted, grouped by their first topic."""
    matched = select(Document.cluster_id).join(Match, Match.document_id == Document.id)
    if f.topic:
        matched = matched.where(Match.topic_id == f.topic)
    stmt = select(Cluster.id).where(
        Cluster.first_seen_at >= since,
        Cluster.first_seen_at < until,
        Cluster.id.in_(matched),
        ~story_muted(),
    )
    if f.source:
        by_source = select(Source.id).where(Source.name == f.source).scalar_subquery()
        stmt = stmt.where(_in_stories(Document.source_id == by_source))
    if f.language:
        stmt = stmt.where(_in_stories(Document.language == f.language))
    stmt = stmt.order_by(Cluster.first_seen_at.desc(), Cluster.id.desc()).limit(MAX_STORIES)
    ids = list(session.scalars(stmt))
    names = topic_names(session)
    sections: dict[str, Section] = {}
    for story in load_stories(session, ids):
        c = card(story, names, only=f.topic)
        if not c.topics:
            continue
        first = c.topics[0]
        sections.setdefault(first.id, Section(first.id, first.name)).cards.append(c)
    for s in sections.values():
        s.cards.sort(key=lambda c: (c.date, c.id), reverse=True)
    return sorted(sections.values(), key=lambda s: s.name.casefold())


@dataclass(frozen=True)
class AlertLine:
    """One row of a story's alert history."""

    subscriber: str
    topic: str
    channel: str
    status: str
    delivery: str
    planned_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class Verdict:
    """A judgement recorded on the story."""

    topic: str
    relevant: bool
    note: str | None
    judged_at: datetime


@dataclass(frozen=True)
class TopicMatch:
    """A topic of the story: the match that explains it best, and the other members it matched."""

    topic: TopicHit
    member: Any  # the store's Member whose passages are shown
    passages: tuple[Passage, ...]
    also: list[Any]  # the other members matched to the topic


@dataclass
class StoryPage:
    """Everything the story page shows."""

    card: Card
    matches: list[TopicMatch]
    alerts: list[AlertLine]
    verdicts: dict[str, Verdict]
    muted_at: datetime | None
    topics: list[tuple[str, str]]  # every known topic (id, name), for the judgement buttons


def story_page(session: Session, cluster_id: int) -> StoryPage | None:
    """The story page of ``cluster_id``, or None when no such story exists."""
    found = load_stories(session, [cluster_id])
    if not found:
        return None
    story = found[0]
    names = topic_names(session)
    members = {m.document_id: m for m in story.members}
    matches = []
    for topic_id in story.topics:
        best = story.best_match(topic_id)
        assert best is not None  # the story's topics come from its matches
        passages = [
            p
            for raw in best.passages
            if isinstance(raw, dict) and (p := make_passage(raw, best.terms))
        ]
        hit = TopicHit(topic_id, names.get(topic_id, topic_id), best.terms)
        also = [
            members[m.document_id]
            for m in story.matches
            if m.topic_id == topic_id and m.id != best.id and m.document_id in members
        ]
        matches.append(
            TopicMatch(hit, members.get(best.document_id), tuple(passages[:MAX_PASSAGES]), also)
        )
    matches.sort(key=lambda m: m.topic.name.casefold())
    ids = list(members)
    alerts = [
        AlertLine(a.subscriber, names.get(a.topic_id, a.topic_id), a.channel, a.status,
                  a.delivery, a.planned_at, a.sent_at)
        for a in session.scalars(
            select(Alert).where(Alert.document_id.in_(ids)).order_by(Alert.planned_at, Alert.id)
        )
    ]  # fmt: skip
    verdicts = {
        j.topic_id: Verdict(j.topic_id, j.relevant, j.note, j.judged_at)
        for j in session.scalars(select(Judgement).where(Judgement.document_id.in_(ids)))
    }
    muted_at = session.scalar(select(func.min(AlertMute.muted_at)).where(
        AlertMute.document_id.in_(ids)))  # fmt: skip
    topics = sorted(names.items(), key=lambda kv: kv[1].casefold())
    return StoryPage(card(story, names), matches, alerts, verdicts, muted_at, topics)


@dataclass(frozen=True)
class TopicRow:
    """A topic with its recent activity and what analysts' judgements say of it."""

    id: str
    name: str
    description: str
    recent_stories: int
    relevant_matched: int  # judged relevant and matched: right
    wrong_matched: int  # judged not relevant but matched: a false positive
    missed: int  # judged relevant but not matched: a miss

    @property
    def judged(self) -> int:
        """How many judgements the precision rests on."""
        return self.relevant_matched + self.wrong_matched

    @property
    def precision(self) -> float | None:
        """Share of judged matches that were relevant (None before any judgement)."""
        return self.relevant_matched / self.judged if self.judged else None


def topic_rows(session: Session, since: datetime, only: str | None = None) -> list[TopicRow]:
    """Every topic (or ``only``) with its stories since ``since`` and its judged precision."""
    recent = {
        str(topic_id): int(n)
        for topic_id, n in session.execute(
            select(Match.topic_id, func.count(func.distinct(Document.cluster_id)))
            .join(Document, Document.id == Match.document_id)
            .where(Document.first_seen_at >= since)
            .group_by(Match.topic_id)
        )
    }
    matched = (
        select(Match.id)
        .where(Match.document_id == Judgement.document_id, Match.topic_id == Judgement.topic_id)
        .exists()
    )
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for topic_id, relevant, hit in session.execute(
        select(Judgement.topic_id, Judgement.relevant, matched)
    ):
        if hit:
            tally[topic_id][0 if relevant else 1] += 1
        elif relevant:
            tally[topic_id][2] += 1
    q = select(Topic).order_by(Topic.name, Topic.id)
    if only is not None:
        q = q.where(Topic.id == only)
    return [
        TopicRow(t.id, t.name or t.id, t.description or "", int(recent.get(t.id, 0)),
                 *tally[t.id])
        for t in session.scalars(q)
    ]  # fmt: skip


@dataclass(frozen=True)
class JudgedExample:
    """A judged story of a topic, with whether the topic matches it now."""

    story: int | None
    title: str
    relevant: bool
    matched: bool
    note: str | None
    judged_at: datetime


def judged_examples(session: Session, topic_id: str, limit: int = 50) -> list[JudgedExample]:
    """The newest judgements of a topic."""
    matched = (
        select(Match.id)
        .where(Match.document_id == Judgement.document_id, Match.topic_id == topic_id)
        .exists()
    )
    rows = session.execute(
        select(Judgement, Document.title, Document.cluster_id, matched)
        .join(Document, Document.id == Judgement.document_id)
        .where(Judgement.topic_id == topic_id)
        .order_by(Judgement.judged_at.desc(), Judgement.id.desc())
        .limit(limit)
    )
    return [
        JudgedExample(cid or j.cluster_id, title, j.relevant, bool(hit), j.note, j.judged_at)
        for j, title, cid, hit in rows
    ]


def topic_cards(session: Session, topic_id: str, limit: int = 30) -> list[Card]:
    """The newest stories of a topic (muted ones left out)."""
    matched = select(Document.cluster_id).join(Match, Match.document_id == Document.id)
    ids = list(
        session.scalars(
            select(Cluster.id)
            .where(Cluster.id.in_(matched.where(Match.topic_id == topic_id)), ~story_muted())
            .order_by(Cluster.first_seen_at.desc(), Cluster.id.desc())
            .limit(limit)
        )
    )
    names = topic_names(session)
    return [card(s, names, only=topic_id) for s in load_stories(session, ids)]


def cluster_of(session: Session, document_ids: list[int]) -> dict[int, int]:
    """Document id -> its story's cluster id (documents without a story left out)."""
    if not document_ids:
        return {}
    rows = session.execute(
        select(Document.id, Document.cluster_id).where(
            Document.id.in_(document_ids), Document.cluster_id.is_not(None)
        )
    )
    return {int(d): int(c) for d, c in rows if c is not None}


def choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    """The values the filter menus offer: topics, sources and languages (value, label)."""
    from pipeline.alerts.render import language_name
    from pipeline.store.stories import source_label

    topics = sorted(topic_names(session).items(), key=lambda kv: kv[1].casefold())
    sources = [(s.name, source_label(s)) for s in session.scalars(select(Source).order_by(
        Source.name))]  # fmt: skip
    langs = session.scalars(select(Document.language).distinct().where(
        Document.language.is_not(None)))  # fmt: skip
    languages = sorted((str(code), language_name(code)) for code in langs)
    return {"topics": topics, "sources": sources, "languages": languages}
