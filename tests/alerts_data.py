"""Test data for the alert tests: stories built directly with the ORM (texts written by us)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pipeline.alerts.subscribers import Subscriber, SubscriberSet
from pipeline.store.models import Cluster, Document, Match, Source, Topic

DAY1 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)

TOPIC_NAMES = {
    "zangezur-corridor": "Zangezur corridor",
    "peace-treaty": "Peace treaty",
    "border-delimitation": "Border delimitation",
}


def source(
    session: Session, name: str, type_: str = "ministry", label: str | None = None
) -> Source:
    """Get or create a source row."""
    found = session.query(Source).filter_by(name=name).one_or_none()
    if found is not None:
        return found
    src = Source(
        name=name,
        type=type_,
        country="AM",
        languages=["en"],
        config={"label": label} if label else {},
        created_at=DAY1 - timedelta(days=30),
        updated_at=DAY1 - timedelta(days=30),
    )
    session.add(src)
    session.flush()
    return src


def topic(session: Session, topic_id: str) -> Topic:
    """Get or create a topic row."""
    found = session.get(Topic, topic_id)
    if found is not None:
        return found
    row = Topic(
        id=topic_id,
        name=TOPIC_NAMES.get(topic_id, topic_id),
        description=f"Test topic {topic_id}.",
        definition={},
        definition_hash="",
        updated_at=DAY1 - timedelta(days=30),
    )
    session.add(row)
    session.flush()
    return row


def passage_for(text: str, term: str, field: str = "text") -> dict[str, Any]:
    """The sentence of ``text`` holding ``term``, as the matcher stores passages."""
    at = text.lower().find(term.lower())
    if at < 0:
        return {"field": field, "start": 0, "end": len(text), "text": text}
    start = text.rfind(". ", 0, at)
    start = 0 if start < 0 else start + 2
    end = text.find(". ", at)
    end = len(text) if end < 0 else end + 1
    return {"field": field, "start": start, "end": end, "text": text[start:end]}


def document(
    session: Session,
    *,
    src: Source,
    title: str,
    text: str,
    url: str,
    published: datetime | None,
    language: str = "en",
    first_seen: datetime | None = None,
) -> Document:
    """Insert one document (no cluster yet)."""
    doc = Document(
        url_hash=hashlib.sha256(url.encode()).hexdigest(),
        url=url,
        canonical_url=url,
        source_id=src.id,
        title=title,
        text=text,
        published_at=published,
        language=language,
        extraction_method="test",
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        search_text=text.lower(),
        first_seen_at=first_seen or published or DAY1,
        update_count=0,
    )
    session.add(doc)
    session.flush()
    return doc


def match(
    session: Session, doc: Document, topic_id: str, term: str, *, score: float = 1.0
) -> Match:
    """A match row with the passage that holds ``term``."""
    topic(session, topic_id)
    row = Match(
        document_id=doc.id,
        topic_id=topic_id,
        score=score,
        terms=[term],
        passages=[passage_for(doc.text, term)],
        matched_at=doc.first_seen_at,
    )
    session.add(row)
    session.flush()
    return row


def story(
    session: Session,
    *,
    n: int,
    topic_id: str = "zangezur-corridor",
    term: str = "Zangezur corridor",
    source_name: str = "mfa-am",
    title: str | None = None,
    text: str | None = None,
    published: datetime | None = DAY1,
    language: str = "en",
) -> tuple[Cluster, Document]:
    """A one-document story matching ``topic_id``."""
    src = source(session, source_name, label=source_name.upper())
    text = text or (
        f"Statement number {n} of the ministry. The deputy minister discussed the {term} "
        f"with the delegation on day {n}. Further consultations are planned."
    )
    doc = document(
        session,
        src=src,
        title=title or f"Statement {n} on regional transport",
        text=text,
        url=f"https://mfa.example.org/statements/{n}",
        published=published,
        language=language,
    )
    cluster = Cluster(
        origin_document_id=doc.id,
        size=1,
        first_seen_at=doc.first_seen_at,
        updated_at=doc.first_seen_at,
    )
    session.add(cluster)
    session.flush()
    doc.cluster_id = cluster.id
    match(session, doc, topic_id, term)
    session.flush()
    return cluster, doc


def copy_of(
    session: Session,
    cluster: Cluster,
    origin: Document,
    *,
    source_name: str = "tass",
    url: str | None = None,
    matched: bool = True,
) -> Document:
    """A republished copy joining ``cluster`` (as dedup would), matched like the origin."""
    src = source(session, source_name, type_="wire", label=source_name.upper())
    doc = document(
        session,
        src=src,
        title=f"Reported: {origin.title}",
        text=f"{source_name.upper()} reported that {origin.text}",
        url=url or f"https://{source_name}.example.org/copy/{origin.id}",
        published=origin.published_at,
        first_seen=(origin.first_seen_at or DAY1) + timedelta(hours=1),
    )
    doc.cluster_id = cluster.id
    doc.duplicate_of_id = origin.id
    cluster.size += 1
    if matched:
        for m in session.query(Match).filter_by(document_id=origin.id):
            match(session, doc, m.topic_id, str(m.terms[0]))
    session.flush()
    return doc


def subscribers(*subs: dict[str, Any]) -> SubscriberSet:
    """A SubscriberSet from plain dicts (defaults: since 2026-01-01)."""
    items = []
    for spec in subs:
        data = {"since": "2026-01-01", "topics": ["zangezur-corridor"], **spec}
        items.append(Subscriber.model_validate(data))
    return SubscriberSet(path=Path("seeds/subscribers.yaml"), items=tuple(items))
