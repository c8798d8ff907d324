"""The story read model: a cluster with its origin, members and outlets, matches and times.

Reports, ``newsmon stories``, the demo and the alerts all read stories through this module, so
"origin first", "outlets", "versions" (the members by language) and "which match explains the
story" mean the same everywhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from pipeline.store.models import OFFICIAL_TYPES, Cluster, Document, Match, Source


def base_language(code: str | None) -> str | None:
    """The base ISO 639 code of a stored language tag ("ru-RU" -> "ru"); None when unknown."""
    if not code:
        return None
    return code.replace("_", "-").split("-")[0].casefold() or None


def source_label(source: Source | None) -> str:
    """Display name of a source (its seed ``label``, else its name)."""
    if source is None:
        return "(unknown source)"
    label = (source.config or {}).get("label")
    return str(label) if label else source.name


@dataclass(frozen=True)
class Member:
    """One document of a story, with its outlet."""

    document_id: int
    title: str
    url: str
    language: str | None
    source: str | None  # the source's name; None for a document without a source
    source_type: str | None
    source_label: str  # what alerts show: the seed's label, else the name
    first_seen_at: datetime
    published_at: datetime | None
    duplicate_of: int | None
    similarity: float | None
    is_origin: bool

    @property
    def official(self) -> bool:
        """Ministries and governments originate statements."""
        return self.source_type in OFFICIAL_TYPES

    @property
    def base_language(self) -> str | None:
        """The member's base language code ("ru"), None when unknown."""
        return base_language(self.language)


@dataclass(frozen=True)
class Version:
    """The members of a story in one language (a translation, a re-report, their copies)."""

    language: str | None  # base code; None: language unknown
    members: tuple[Member, ...]

    @property
    def outlets(self) -> list[str]:
        """Distinct outlet labels of this version, in story order."""
        return list(dict.fromkeys(m.source_label for m in self.members))


@dataclass(frozen=True)
class StoryMatch:
    """A member matched a topic: its score, terms and stored passages."""

    id: int
    document_id: int
    topic_id: str
    score: float
    terms: tuple[str, ...]
    passages: tuple[Any, ...]


@dataclass(frozen=True)
class Story:
    """A cluster: its origin first, then the other members by first-seen time."""

    cluster_id: int
    size: int
    first_seen_at: datetime
    updated_at: datetime
    members: tuple[Member, ...]
    matches: tuple[StoryMatch, ...] = ()

    @property
    def origin(self) -> Member:
        """The origin member (official source, else earliest)."""
        return self.members[0]

    @property
    def title(self) -> str:
        """The origin's title."""
        return self.origin.title

    @property
    def outlets(self) -> list[str]:
        """Distinct source names, origin's first."""
        return list(dict.fromkeys(m.source or "(no source)" for m in self.members))

    @property
    def topics(self) -> list[str]:
        """Ids of the topics any member matched, sorted."""
        return sorted({m.topic_id for m in self.matches})

    @property
    def versions(self) -> list[Version]:
        """The members grouped by language, the origin's language first (unknown last)."""
        by_lang: dict[str | None, list[Member]] = {}
        for m in self.members:
            by_lang.setdefault(m.base_language, []).append(m)
        order = sorted(by_lang, key=lambda lang: (lang != self.origin.base_language, lang is None))
        return [Version(lang, tuple(by_lang[lang])) for lang in order]

    @property
    def languages(self) -> list[str]:
        """Base codes of the languages the story is in, the origin's first."""
        return [v.language for v in self.versions if v.language is not None]

    def lead(self, languages: Sequence[str] = ()) -> Member:
        """The member a reader of ``languages`` sees first (the origin when it is in one)."""
        # Else the version in their language: its official member, else its earliest.
        wanted = {base_language(code) for code in languages}
        if not wanted or self.origin.base_language in wanted:
            return self.origin
        fitting = [m for m in self.members if m.base_language in wanted]
        return min(fitting, key=lambda m: not m.official) if fitting else self.origin

    def best_match(self, topic_id: str) -> StoryMatch | None:
        """The match that explains the story best: the origin's own, else the strongest copy's."""
        found = [m for m in self.matches if m.topic_id == topic_id]
        origin = self.origin.document_id
        found.sort(key=lambda m: (m.document_id != origin, -m.score, m.id))
        return found[0] if found else None


def stories(
    session: Session,
    *,
    since: datetime | None = None,
    topic: str | None = None,
    min_size: int = 1,
    limit: int | None = 50,
) -> list[Story]:
    """Stories, most recently updated first.

    ``since``: stories with a member first seen at or after it. ``topic``: stories with a member
    matched to that topic id. ``min_size``: skip smaller stories.
    """
    stmt = select(Cluster).where(Cluster.size >= min_size)
    if since is not None:
        stmt = stmt.where(
            exists().where(Document.cluster_id == Cluster.id, Document.first_seen_at >= since)
        )
    if topic is not None:
        stmt = stmt.where(
            exists()
            .where(Document.cluster_id == Cluster.id, Match.document_id == Document.id)
            .where(Match.topic_id == topic)
        )
    stmt = stmt.order_by(Cluster.updated_at.desc(), Cluster.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return _build(session, session.scalars(stmt).all())


def load_story(session: Session, cluster_id: int) -> Story | None:
    """One story, or None when the cluster no longer exists (or has no documents)."""
    cluster = session.get(Cluster, cluster_id)
    if cluster is None:
        return None
    found = _build(session, [cluster])
    return found[0] if found else None


def load_stories(session: Session, cluster_ids: Sequence[int]) -> list[Story]:
    """Several stories in the order of ``cluster_ids`` (missing or empty clusters left out)."""
    if not cluster_ids:
        return []
    found = {c.id: c for c in session.scalars(select(Cluster).where(Cluster.id.in_(cluster_ids)))}
    return _build(session, [found[i] for i in dict.fromkeys(cluster_ids) if i in found])


def _build(session: Session, clusters: Sequence[Cluster]) -> list[Story]:
    """Stories of the given clusters, in their order (clusters without documents left out)."""
    if not clusters:
        return []
    ids = [c.id for c in clusters]
    origins = {c.id: c.origin_document_id for c in clusters}
    members: dict[int, list[Member]] = defaultdict(list)
    rows = session.execute(
        select(Document, Source)
        .outerjoin(Source, Source.id == Document.source_id)
        .where(Document.cluster_id.in_(ids))
    )
    for doc, src in rows:
        assert doc.cluster_id is not None  # selected by cluster id
        members[doc.cluster_id].append(
            Member(
                document_id=doc.id,
                title=doc.title,
                url=doc.url,
                language=doc.language,
                source=src.name if src else None,
                source_type=src.type if src else None,
                source_label=source_label(src),
                first_seen_at=doc.first_seen_at,
                published_at=doc.published_at,
                duplicate_of=doc.duplicate_of_id,
                similarity=doc.similarity,
                is_origin=doc.id == origins[doc.cluster_id],
            )
        )
    matches: dict[int, list[StoryMatch]] = defaultdict(list)
    rows_m = session.execute(
        select(Document.cluster_id, Match)
        .join(Document, Document.id == Match.document_id)
        .where(Document.cluster_id.in_(ids))
    )
    for cid, m in rows_m:
        assert cid is not None
        matches[cid].append(
            StoryMatch(
                id=m.id,
                document_id=m.document_id,
                topic_id=m.topic_id,
                score=m.score,
                terms=tuple(str(t) for t in m.terms or ()),
                passages=tuple(m.passages or ()),
            )
        )
    out = []
    for c in clusters:
        if not members[c.id]:
            continue
        ordered = sorted(
            members[c.id], key=lambda m: (not m.is_origin, m.first_seen_at, m.document_id)
        )
        found = tuple(sorted(matches[c.id], key=lambda m: m.id))
        out.append(Story(c.id, c.size, c.first_seen_at, c.updated_at, tuple(ordered), found))
    return out
