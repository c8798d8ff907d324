"""pipeline.dedup.assign against a real database, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.clean import Article
from pipeline.dedup import DedupResult, assign, parse_lines, run_batch, sketch
from pipeline.errors import Outcome
from pipeline.stages.process import store_article
from pipeline.store import db
from pipeline.store.models import Cluster, Document, LshBand, Source
from pipeline.text.urls import url_hash
from tests.fixtures.dedup import devset

ORIGINALS = {d.id: d for d in devset.load_originals()}
REBUTTALS = {d.id: d for d in devset.load_rebuttals(list(ORIGINALS.values()))}
T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


class Store:
    """Adds documents the way the store does (flushed row, then assign)."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.n = 0
        self.sources: dict[str, Source] = {}

    def source(self, name: str, kind: str) -> Source:
        if name not in self.sources:
            src = Source(name=name, type=kind, country="", languages=[], config={})
            self.s.add(src)
            self.s.flush()
            self.sources[name] = src
        return self.sources[name]

    def add(
        self,
        doc: devset.Doc,
        *,
        source: str = "news.am",
        kind: str = "media",
        published: datetime | None = None,
    ) -> tuple[Document, DedupResult]:
        self.n += 1
        url = f"https://{source.replace(' ', '-').lower()}.example/{self.n}"
        row = Document(
            url=url,
            url_hash=url_hash(url),
            canonical_url=url,
            source_id=self.source(source, kind).id,
            title=doc.title,
            text=doc.text,
            published_at=published,
            extraction_method="test",
            content_hash="",
            search_text="",
            first_seen_at=T0 + timedelta(minutes=self.n),
            update_count=0,
        )
        self.s.add(row)
        self.s.flush()
        return row, assign(self.s, row)


def _copy(doc_id: str, kinds: list[str], seed: int = 0) -> devset.Doc:
    orig = ORIGINALS[doc_id]
    return devset.make_copy(orig, kinds, random.Random(seed), "TASS", f"{doc_id}~{seed}")


def _state(s: Session) -> dict[str, Any]:
    """Everything assign writes, for before/after comparisons."""
    return {
        "docs": sorted(
            s.execute(
                select(
                    Document.id,
                    Document.cluster_id,
                    Document.duplicate_of_id,
                    Document.similarity,
                    Document.content_hash,
                    Document.minhash,
                )
            ).all()
        ),
        "clusters": sorted(
            s.execute(
                select(Cluster.id, Cluster.origin_document_id, Cluster.size, Cluster.first_seen_at)
            ).all()
        ),
        "bands": sorted(s.execute(select(LshBand.document_id, LshBand.band, LshBand.bucket)).all()),
    }


def test_every_republishing_edit_joins_the_statements_cluster(any_db_url: str) -> None:
    with db.session_scope(any_db_url) as s:
        store = Store(s)
        orig, first = store.add(
            ORIGINALS["en-am-border-commission"], source="MFA Armenia", kind="ministry"
        )
        assert first.kind == "new" and first.duplicate_of is None and first.origin_id == orig.id
        for seed, kind in enumerate(devset.EDIT_KINDS):
            row, res = store.add(_copy("en-am-border-commission", [kind], seed))
            assert res.cluster_id == first.cluster_id, (kind, row.text)
            assert res.duplicate_of == orig.id and res.kind in {"near", "exact"}
            assert row.duplicate_of_id == orig.id and 0 < (row.similarity or 0) <= 1
        _, res = store.add(
            _copy(
                "en-am-border-commission", ["cut", "lead", "boilerplate", "noise", "headline"], 99
            )
        )
        assert res.cluster_id == first.cluster_id
        cluster = s.get(Cluster, first.cluster_id)
        assert cluster is not None
        assert cluster.size == len(devset.EDIT_KINDS) + 2
        assert cluster.origin_document_id == orig.id
        bands = s.scalar(
            select(func.count()).select_from(LshBand).where(LshBand.document_id == orig.id)
        )
        assert bands == sketch.BANDS


def test_exact_copy_at_another_url_joins_by_content_hash(any_db_url: str) -> None:
    with db.session_scope(any_db_url) as s:
        store = Store(s)
        orig, first = store.add(ORIGINALS["ru-peacekeepers"], source="МИД России", kind="ministry")
        copy = devset.Doc(**{**ORIGINALS["ru-peacekeepers"].__dict__, "title": "Другой заголовок"})
        row, res = store.add(copy, source="ТАСС", kind="wire")
        assert res.kind == "exact" and res.similarity == 1.0
        assert res.cluster_id == first.cluster_id and res.duplicate_of == orig.id
        assert row.content_hash == orig.content_hash


def test_same_url_with_tracking_parameters_is_the_same_document(any_db_url: str) -> None:
    orig = ORIGINALS["en-ir-zangezur"]
    article = Article(
        title=orig.title, text=orig.text, published=T0, language="en", author=None, method="test"
    )
    with db.session_scope(any_db_url) as s:
        first = store_article(s, "https://mfa.example/statement/1", article, source=None)
        again = store_article(
            s, "http://www.mfa.example/statement/1?utm_source=tg&fbclid=x", article, source=None
        )
        other = store_article(s, "https://mirror.example/news/77", article, source=None)
        assert first.outcome == Outcome.NEW
        assert again.outcome == Outcome.UNCHANGED and again.document_id == first.document_id
        assert other.outcome == Outcome.DUPLICATE and other.cluster_id == first.cluster_id
        assert s.scalar(select(func.count()).select_from(Document)) == 2


def test_same_template_statements_of_one_day_stay_apart(any_db_url: str) -> None:
    with db.session_scope(any_db_url) as s:
        store = Store(s)
        families: dict[str, list[DedupResult]] = {}
        for doc in ORIGINALS.values():
            if doc.family:
                _, res = store.add(doc, source=doc.source, kind="ministry")
                families.setdefault(doc.family, []).append(res)
        assert len(families) >= 5
        clusters = [r.cluster_id for results in families.values() for r in results]
        assert len(set(clusters)) == len(clusters)
        assert all(r.kind == "new" for results in families.values() for r in results)


def test_statement_and_rebuttal_quoting_it_stay_apart_in_either_order(any_db_url: str) -> None:
    with db.session_scope(any_db_url) as s:
        store = Store(s)
        for rebuttal in REBUTTALS.values():
            statement = ORIGINALS[rebuttal.family or ""]
            first, second = (
                (statement, rebuttal) if len(store.sources) % 2 else (rebuttal, statement)
            )
            _, a = store.add(first, source=first.source, kind="ministry")
            _, b = store.add(second, source=second.source, kind="ministry")
            assert a.cluster_id != b.cluster_id, rebuttal.id
            # A republished rebuttal joins the rebuttal, not the statement.
            _, c = store.add(
                devset.make_copy(rebuttal, ["lead", "boilerplate"], random.Random(2), "TASS", "x")
            )
            rebuttal_cluster = a.cluster_id if first is rebuttal else b.cluster_id
            assert c.cluster_id == rebuttal_cluster


def test_official_origin_arriving_after_its_copies_becomes_origin(any_db_url: str) -> None:
    orig = ORIGINALS["en-kremlin-phone-call"]
    with db.session_scope(any_db_url) as s:
        store = Store(s)
        _, r1 = store.add(
            _copy(orig.id, ["lead", "boilerplate"], 1), source="TASS", kind="wire", published=T0
        )
        c2, r2 = store.add(
            _copy(orig.id, ["cut", "noise"], 2), source="news.am", published=T0 - timedelta(hours=1)
        )
        assert r2.cluster_id == r1.cluster_id
        cluster = s.get(Cluster, r1.cluster_id)
        assert cluster is not None and cluster.origin_document_id == c2.id  # earliest published
        official, r3 = store.add(
            orig, source="Kremlin", kind="government", published=T0 + timedelta(hours=2)
        )
        assert r3.cluster_id == r1.cluster_id and r3.origin_id == official.id
        s.refresh(cluster)
        assert cluster.origin_document_id == official.id and cluster.size == 3
        # A later media copy does not take the origin from the official source.
        _, r4 = store.add(
            _copy(orig.id, ["quotes"], 4),
            source="APA",
            kind="wire",
            published=T0 - timedelta(days=1),
        )
        assert r4.origin_id == official.id and r4.duplicate_of == official.id


def test_a_document_copying_two_stories_merges_them(any_db_url: str) -> None:
    orig = ORIGINALS["en-ru-anniversary"]
    paragraphs = orig.text.split("\n\n")
    assert len(paragraphs) == 5
    # Two excerpts of one statement that share only its opening paragraph: neither is
    # made of the other, so they start two stories. The statement contains both.
    head = devset.Doc(**{**orig.__dict__, "text": "\n\n".join(paragraphs[:3])})
    ends = devset.Doc(**{**orig.__dict__, "text": "\n\n".join(paragraphs[:1] + paragraphs[3:])})
    with db.session_scope(any_db_url) as s:
        store = Store(s)
        _, a = store.add(head, source="TASS", kind="wire", published=T0 + timedelta(hours=2))
        _, b = store.add(ends, source="news.am", published=T0 + timedelta(hours=3))
        official, c = store.add(orig, source="MFA Russia", kind="ministry", published=T0)
        assert a.cluster_id != b.cluster_id  # the excerpts alone do not verify
        assert c.kind == "near"
        assert c.cluster_id in {a.cluster_id, b.cluster_id}
        assert set(c.merged_clusters) == {a.cluster_id, b.cluster_id} - {c.cluster_id}
        ids = s.scalars(select(Document.cluster_id)).all()
        assert set(ids) == {c.cluster_id}
        cluster = s.get(Cluster, c.cluster_id)
        assert cluster is not None and cluster.size == 3
        assert cluster.origin_document_id == official.id
        assert s.scalar(select(func.count()).select_from(Cluster)) == 1


def test_assign_is_idempotent(any_db_url: str) -> None:
    with db.session_scope(any_db_url) as s:
        store = Store(s)
        rows = [
            store.add(
                ORIGINALS["ru-overchuk-railway"], source="Правительство России", kind="government"
            )[0]
        ]
        rows.append(store.add(_copy("ru-overchuk-railway", ["cut", "lead"], 3))[0])
        rows.append(store.add(ORIGINALS["ru-border-guards"])[0])
        before = _state(s)
        results = [assign(s, row) for row in rows]
        s.flush()
        assert _state(s) == before
        assert [r.kind for r in results] == ["new", "near", "new"]


def test_updated_text_refreshes_bands_and_moves_a_copy_that_no_longer_matches(
    any_db_url: str,
) -> None:
    with db.session_scope(any_db_url) as s:
        store = Store(s)
        orig, first = store.add(ORIGINALS["ru-csto-armenia"], source="МИД России", kind="ministry")
        copy, res = store.add(_copy("ru-csto-armenia", ["boilerplate"], 1))
        assert res.cluster_id == first.cluster_id
        old_bands = set(s.scalars(select(LshBand.bucket).where(LshBand.document_id == copy.id)))
        # A small correction keeps the copy in its story.
        copy.text = copy.text.replace("ОДКБ", "Организации Договора о коллективной безопасности", 1)
        s.flush()
        kept = assign(s, copy)
        assert kept.cluster_id == first.cluster_id
        # The page now carries another story entirely: it leaves and starts its own.
        copy.text = ORIGINALS["ru-minsk-group"].text
        s.flush()
        moved = assign(s, copy)
        assert moved.cluster_id != first.cluster_id and moved.kind == "new"
        new_bands = set(s.scalars(select(LshBand.bucket).where(LshBand.document_id == copy.id)))
        assert new_bands and new_bands.isdisjoint(old_bands)
        cluster = s.get(Cluster, first.cluster_id)
        assert cluster is not None and cluster.size == 1 and cluster.origin_document_id == orig.id
        # A story of its own whose text becomes a copy of another story joins it.
        lone, lone_res = store.add(ORIGINALS["ru-border-guards"])
        lone.text = ORIGINALS["ru-csto-armenia"].text + "\n\nИсточник"
        s.flush()
        joined = assign(s, lone)
        assert joined.cluster_id == first.cluster_id and joined.duplicate_of == orig.id
        assert s.get(Cluster, lone_res.cluster_id) is None


def test_short_texts_never_match(any_db_url: str) -> None:
    with db.session_scope(any_db_url) as s:
        store = Store(s)
        photo = devset.Doc(**{**ORIGINALS["en-eu-mission"].__dict__, "text": "Photo gallery"})
        _, a = store.add(photo)
        _, b = store.add(photo)
        assert a.cluster_id != b.cluster_id and b.kind == "new"


def test_batch_gives_the_same_clusters_on_this_backend_as_on_a_fresh_sqlite(
    any_db_url: str,
) -> None:
    docs = devset.build()[:120]
    lines = [json_line(d) for d in docs]
    reference = list(run_batch(parse_lines(lines)))
    here = list(run_batch(parse_lines(lines), database_url=any_db_url))
    assert here == reference
    assert len({r["cluster"] for r in here}) < len(here)


def json_line(doc: devset.Doc) -> str:
    import json

    return json.dumps(doc.jsonl(), ensure_ascii=False)
