"""The JSON API: the same data as the pages (documented at ``/api/docs``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from pipeline.alerts.stories import Passage
from pipeline.config.settings import get_settings
from pipeline.store.models import Topic, utcnow
from pipeline.store.search import search
from pipeline.web import queries
from pipeline.web.app import as_of
from pipeline.web.pages import DB, FILTERS, MAX_PAGE, PAGE_SIZE, StoryId
from pipeline.web.sources import source_rows

router = APIRouter(tags=["newsmon"])


def _passages(passages: tuple[Passage, ...]) -> list[dict[str, Any]]:
    """Passages with their hit spans (offsets into ``text``)."""
    return [
        {"field": p.field, "text": p.text, "hits": [list(s) for s in p.spans]} for p in passages
    ]


def _card(c: queries.Card) -> dict[str, Any]:
    """A story card as JSON."""
    return {
        "id": c.id,
        "title": c.title,
        "url": c.url,
        "origin": c.origin,
        "official": c.official,
        "published": as_of(c.date),
        "first_seen": as_of(c.first_seen),
        "language": c.language,
        "languages": list(c.languages),
        "size": c.size,
        "outlets": [{"name": o.name, "url": o.url, "language": o.language} for o in c.outlets],
        "topics": [{"id": t.id, "name": t.name, "terms": list(t.terms)} for t in c.topics],
        "passages": _passages(c.passages),
    }


@router.get("/stories")
def stories(session: DB, f: FILTERS) -> dict[str, Any]:
    """Today's stories (or a chosen day's), by topic, newest first."""
    since, until = f.window(utcnow(), get_settings().tz)
    sections = queries.today(session, f, since, until)
    return {
        "since": as_of(since),
        "until": as_of(until),
        "sections": [
            {"topic": s.topic_id, "name": s.name, "stories": [_card(c) for c in s.cards]}
            for s in sections
        ],
    }


@router.get("/stories/{story}")
def story(session: DB, story: StoryId) -> dict[str, Any]:
    """One story: members, matches with passages, alert history, judgements, mute."""
    p = queries.story_page(session, story)
    if p is None:
        raise HTTPException(404, f"there is no story {story}")
    return {
        **_card(p.card),
        "members": [
            {"document_id": m.document_id, "title": m.title, "url": m.url,
             "source": m.source_label, "language": m.language, "origin": m.is_origin,
             "duplicate_of": m.duplicate_of, "published": as_of(m.published_at),
             "first_seen": as_of(m.first_seen_at)}
            for m in p.card.story.members
        ],
        "matches": [
            {"topic": tm.topic.id, "terms": list(tm.topic.terms),
             "document_id": tm.member.document_id if tm.member else None,
             "also_matched": [m.document_id for m in tm.also], "passages": _passages(tm.passages)}
            for tm in p.matches
        ],
        "alerts": [
            {"subscriber": a.subscriber, "topic": a.topic, "channel": a.channel,
             "status": a.status, "planned_at": as_of(a.planned_at), "sent_at": as_of(a.sent_at)}
            for a in p.alerts
        ],
        "judgements": [
            {"topic": v.topic, "relevant": v.relevant, "note": v.note,
             "judged_at": as_of(v.judged_at)}
            for v in p.verdicts.values()
        ],
        "muted_at": as_of(p.muted_at),
    }  # fmt: skip


@router.get("/search")
def search_api(
    session: DB,
    f: FILTERS,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> dict[str, Any]:
    """Documents matching every word of ``q`` in any script or spelling, newest first."""
    since = until = None
    if f.day:
        since, until = f.window(utcnow(), get_settings().tz)
    hits = search(
        session, q, source=f.source, language=f.language, topic=f.topic, since=since,
        until=until, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE,
    )  # fmt: skip
    clusters = queries.cluster_of(session, [h.document_id for h in hits])
    return {
        "page": page,
        "more": len(hits) > PAGE_SIZE,
        "results": [
            {"document_id": h.document_id, "story": clusters.get(h.document_id),
             "title": h.title, "url": h.url, "source": h.source, "language": h.language,
             "published": as_of(h.published_at), "snippet": h.snippet}
            for h in hits[:PAGE_SIZE]
        ],
    }  # fmt: skip


def _topic(row: queries.TopicRow) -> dict[str, Any]:
    """A topic row as JSON."""
    return {
        "id": row.id, "name": row.name, "description": row.description,
        "stories_last_7_days": row.recent_stories, "judged": row.judged,
        "relevant_matched": row.relevant_matched, "not_relevant_matched": row.wrong_matched,
        "relevant_missed": row.missed, "precision": row.precision,
    }  # fmt: skip


@router.get("/topics")
def topics(session: DB) -> list[dict[str, Any]]:
    """Every topic with its recent stories and judged precision."""
    return [_topic(r) for r in queries.topic_rows(session, utcnow() - timedelta(days=7))]


@router.get("/topics/{topic_id}")
def topic(session: DB, topic_id: Annotated[str, Path(max_length=100)]) -> dict[str, Any]:
    """One topic: definition, recent stories, judged examples."""
    found = session.get(Topic, topic_id)
    if found is None:
        raise HTTPException(404, f"there is no topic {topic_id!r}")
    row = queries.topic_rows(session, utcnow() - timedelta(days=7), topic_id)[0]
    return {
        **_topic(row),
        "definition": found.definition,
        "stories": [_card(c) for c in queries.topic_cards(session, topic_id)],
        "judged_examples": [
            {"story": e.story, "title": e.title, "relevant": e.relevant, "matched": e.matched,
             "note": e.note, "judged_at": as_of(e.judged_at)}
            for e in queries.judged_examples(session, topic_id)
        ],
    }  # fmt: skip


@router.get("/sources")
def sources(session: DB) -> list[dict[str, Any]]:
    """Every source: state, last crawl, outcomes in recent runs (failing or silent first)."""
    rows = source_rows(session, utcnow(), get_settings().source_silence_days)
    return [
        {"name": r.name, "label": r.label, "type": r.type, "state": r.state,
         "languages": r.languages, "last_success": as_of(r.last_success),
         "last_attempt": as_of(r.last_attempt), "last_status": r.last_status,
         "last_error": r.last_error, "new_documents": r.new_documents,
         "last_document": as_of(r.last_document), "outcomes": r.outcomes}
        for r in rows
    ]  # fmt: skip
