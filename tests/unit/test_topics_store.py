"""Topics and matches in the database; reprocess and the dry run over stored documents."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.store.db import session_scope
from pipeline.store.models import Document, Match, Run, RunCount, Source, Topic
from pipeline.topics import Matcher, load_topics, match_document, store, sync_topics
from pipeline.topics.reprocess import dry_run, reprocess

TOPICS = """\
topics:
  - id: corridor
    name: Corridor
    description: The Zangezur corridor.
    any:
      - terms: {en: [Zangezur corridor], ru: [Зангезурск* коридор*]}
  - id: karabakh
    name: Karabakh
    description: Karabakh.
    any:
      - terms: {en: [Karabakh]}
"""


def matcher_for(tmp_path: Path, body: str = TOPICS) -> Matcher:
    """A matcher over ``body`` written to a temp file."""
    path = tmp_path / "topics.yaml"
    path.write_text(body, encoding="utf-8")
    return Matcher(load_topics(path), path)


def add_doc(
    session: Session,
    title: str,
    text: str,
    *,
    source: Source | None = None,
    language: str | None = "en",
    published: datetime | None = None,
) -> Document:
    """Insert a minimal document row."""
    key = hashlib.sha256(f"{title}|{text}".encode()).hexdigest()
    doc = Document(
        url_hash=key,
        url=f"https://example.org/{key[:8]}",
        canonical_url=f"https://example.org/{key[:8]}",
        title=title,
        text=text,
        language=language,
        extraction_method="test",
        content_hash=key,
        source_id=source.id if source else None,
        published_at=published,
    )
    session.add(doc)
    session.flush()
    return doc


def add_source(session: Session, name: str, type_: str = "wire") -> Source:
    """Insert a source row."""
    src = Source(name=name, type=type_, country="RU", languages=["ru"], config={})
    session.add(src)
    session.flush()
    return src


def test_sync_topics_upserts_only_changes(any_db_url: str, tmp_path: Path) -> None:
    m = matcher_for(tmp_path)
    with session_scope(any_db_url) as s:
        assert sync_topics(s, m) == 2
    with session_scope(any_db_url) as s:
        assert sync_topics(s, m) == 0
        row = s.get(Topic, "corridor")
        assert row is not None and row.name == "Corridor"
        assert row.definition["any"][0]["terms"]["en"] == ["Zangezur corridor"]
        old_hash = row.definition_hash
    changed = matcher_for(tmp_path, TOPICS.replace("name: Corridor", "name: Route"))
    with session_scope(any_db_url) as s:
        assert sync_topics(s, changed) == 1
        row = s.get(Topic, "corridor")
        assert row is not None and row.name == "Route"
        assert row.definition_hash != old_hash


def test_match_document_is_an_idempotent_upsert(any_db_url: str, tmp_path: Path) -> None:
    m = matcher_for(tmp_path)
    with session_scope(any_db_url) as s:
        doc = add_doc(s, "Zangezur corridor", "Talks on Karabakh and the Zangezur corridor.")
        found = match_document(s, doc, m)
        assert {x.topic_id for x in found} == {"corridor", "karabakh"}
        doc_id = doc.id
        first = {x.topic_id: (x.id, x.matched_at) for x in found}
    with session_scope(any_db_url) as s:
        doc = s.get(Document, doc_id)
        assert doc is not None
        again = match_document(s, doc, m)
        assert {x.topic_id: (x.id, x.matched_at) for x in again} == first
        assert s.scalar(select(func.count()).select_from(Match)) == 2
        passages = {x.topic_id: x.passages for x in again}
    title_passage = passages["corridor"][0]
    assert title_passage == {"field": "title", "start": 0, "end": 17, "text": "Zangezur corridor"}


def test_updated_text_updates_evidence_and_drops_stale_matches(db_url: str, tmp_path: Path) -> None:
    m = matcher_for(tmp_path)
    with session_scope() as s:
        doc = add_doc(s, "", "Karabakh and the Zangezur corridor.")
        match_document(s, doc, m)
        doc.text = "Only the Zangezur corridor now. It is the Zangezur corridor again."
        found = match_document(s, doc, m)
        assert [x.topic_id for x in found] == ["corridor"]
        assert len(found[0].passages) == 2
        assert s.scalars(select(Match.topic_id)).all() == ["corridor"]


def test_concurrent_duplicate_is_counted_not_raised(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = matcher_for(tmp_path)
    with session_scope() as s:
        doc = add_doc(s, "", "Karabakh.")
        match_document(s, doc, m)
        # Another worker stored the row after we looked: we do not see it, the insert fails.
        monkeypatch.setattr(store, "_existing", lambda _s, _id: {})
        before = store.counters["race_duplicate"]
        found = match_document(s, doc, m)
        assert [x.topic_id for x in found] == ["karabakh"]
        assert store.counters["race_duplicate"] == before + 1
        assert s.scalar(select(func.count()).select_from(Match)) == 1


def test_source_filters_use_the_document_source(db_url: str, tmp_path: Path) -> None:
    body = TOPICS + "    source_types: [ministry]\n"
    m = matcher_for(tmp_path, body)
    with session_scope() as s:
        wire, ministry = add_source(s, "tass"), add_source(s, "mid", "ministry")
        a = add_doc(s, "", "Karabakh.", source=wire)
        b = add_doc(s, "", "Karabakh again.", source=ministry)
        assert match_document(s, a, m) == []
        assert [x.topic_id for x in match_document(s, b, m)] == ["karabakh"]


def test_matches_from_a_worker_are_stored_when_they_fit(db_url: str, tmp_path: Path) -> None:
    body = TOPICS + "    source_types: [ministry]\n"
    m = matcher_for(tmp_path, body)
    text = "Karabakh and the Zangezur corridor."
    with session_scope() as s:
        mid = add_source(s, "mid", "ministry")
        doc = add_doc(s, "", text, source=mid)
        ready = m.precompute("", text, language="en", source="mid", source_type="ministry")
        assert {r.topic for r in ready.results} == {"corridor", "karabakh"}
        found = match_document(s, doc, m, precomputed=ready)
        assert {x.topic_id for x in found} == {"corridor", "karabakh"}
        stored = {x.topic_id: (x.score, x.terms, x.passages) for x in found}
    # The same rows as matching in the writer: nothing changes when it matches again.
    with session_scope() as s:
        again = match_document(s, s.get(Document, doc.id), m)  # type: ignore[arg-type]
        assert {x.topic_id: (x.score, x.terms, x.passages) for x in again} == stored


def test_matches_from_other_topics_or_another_source_are_redone(
    db_url: str, tmp_path: Path
) -> None:
    body = TOPICS + "    source_types: [ministry]\n"
    m = matcher_for(tmp_path, body)
    (tmp_path / "old").mkdir()
    old = matcher_for(tmp_path / "old", TOPICS)  # the file before Karabakh got its filter
    assert old.version != m.version
    text = "Karabakh and the Zangezur corridor."
    with session_scope() as s:
        wire = add_source(s, "tass")
        doc = add_doc(s, "", text, source=wire)
        stale = old.precompute("", text, language="en", source="tass", source_type="wire")
        assert {r.topic for r in stale.results} == {"corridor", "karabakh"}
        found = match_document(s, doc, m, precomputed=stale)
        assert [x.topic_id for x in found] == ["corridor"]  # matched again with today's file
        # Computed for another source than the document's: matched again too.
        elsewhere = m.precompute("", text, language="en", source="mid", source_type="ministry")
        found = match_document(s, doc, m, precomputed=elsewhere)
        assert [x.topic_id for x in found] == ["corridor"]


def test_dry_run_counts_and_stores_nothing(db_url: str, tmp_path: Path) -> None:
    m = matcher_for(tmp_path)
    with session_scope() as s:
        tass = add_source(s, "tass")
        add_doc(s, "", "Открытие Зангезурского коридора.", source=tass, language="ru")
        add_doc(s, "", "The Zangezur corridor.", source=tass)
        add_doc(s, "", "The Zangezur corridor, again.", language=None)
        add_doc(s, "", "Nothing to see.")
    report = dry_run(m, "corridor", samples=2)
    assert (report.scanned, report.matched) == (4, 3)
    assert report.by_source == {"tass": 2, "(none)": 1}
    assert report.by_language == {"ru": 1, "en": 1, "(unknown)": 1}
    assert len(report.samples) == 2
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Match)) == 0
        assert s.scalar(select(func.count()).select_from(Run)) == 0


def test_reprocess_records_a_run_and_matches_without_duplicates(
    db_url: str, tmp_path: Path
) -> None:
    narrow = TOPICS.replace("ru: [Зангезурск* коридор*]", "ru: [Маршрут* Трамп*]")
    with session_scope() as s:
        tass = add_source(s, "tass")
        add_doc(s, "", "Открытие Зангезурского коридора.", source=tass, language="ru")
        add_doc(s, "", "Karabakh.", published=datetime(2020, 1, 1, tzinfo=UTC))
    first = reprocess(matcher_for(tmp_path, narrow))
    assert first.documents == 2
    assert first.outcomes == {"matched": 1}
    second = reprocess(matcher_for(tmp_path, TOPICS), ["corridor"])
    assert second.outcomes == {"matched": 1}
    third = reprocess(matcher_for(tmp_path, TOPICS))
    assert third.outcomes == {"unchanged": 2}
    # Narrowing the topic again removes the match it no longer earns.
    fourth = reprocess(matcher_for(tmp_path, narrow), ["corridor"])
    assert fourth.outcomes == {"unmatched": 1}
    with session_scope() as s:
        run = s.get(Run, second.run_id)
        assert run is not None and (run.kind, run.status) == ("reprocess", "ok")
        assert run.params["topics"] == ["corridor"]
        counts = {(c.source_id, c.outcome): c.count for c in s.scalars(select(RunCount))}
        assert counts[(tass.id, "matched")] == 1
        rows = s.scalars(select(Match)).all()
        assert [(r.topic_id, r.run_id) for r in rows] == [("karabakh", first.run_id)]


def test_reprocess_date_window(db_url: str, tmp_path: Path) -> None:
    with session_scope() as s:
        add_doc(s, "", "Karabakh old.", published=datetime(2020, 1, 1, tzinfo=UTC))
        add_doc(s, "", "Karabakh new.", published=datetime(2025, 6, 1, tzinfo=UTC))
    report = reprocess(matcher_for(tmp_path), since=datetime(2025, 1, 1, tzinfo=UTC))
    assert (report.documents, report.outcomes) == (1, {"matched": 1})


def test_unknown_topic_is_an_input_error(db_url: str, tmp_path: Path) -> None:
    from pipeline.errors import InputError

    with pytest.raises(InputError, match=r"unknown topic 'nope'.*corridor, karabakh"):
        reprocess(matcher_for(tmp_path), ["nope"])
    with pytest.raises(InputError):
        dry_run(matcher_for(tmp_path), "nope")
