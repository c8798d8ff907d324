"""The scale benchmark's synthetic documents are realistic where it matters to the pipeline."""

from __future__ import annotations

from collections import Counter

from pipeline.dedup import BatchItem, run_batch
from pipeline.dedup.text import content_of
from pipeline.devtools.synthetic import LANGUAGES, SOURCES, documents
from pipeline.topics import get_matcher


def test_stream_is_deterministic_multilingual_with_copies_at_the_set_rate() -> None:
    docs = list(documents(800, seed=5))
    assert [d.url for d in docs] == [d.url for d in documents(800, seed=5)]
    assert set(Counter(d.language for d in docs)) == set(LANGUAGES)
    copies = [d for d in docs if d.copy_of is not None]
    assert 0.18 < len(copies) / len(docs) < 0.32  # copy_rate 0.25
    by_id = {d.id: d for d in docs}
    for c in copies:
        orig = by_id[c.copy_of]  # type: ignore[index]
        assert orig.copy_of is None and orig.id < c.id and orig.language == c.language
        assert c.source != orig.source and c.url != orig.url
    assert {d.source for d in docs} <= {s[0] for s in SOURCES}
    sizes = sorted(len(d.text) for d in docs if d.copy_of is None)
    assert 1200 < sizes[len(sizes) // 2] < 5000  # a wire story's length
    assert len({d.url for d in docs}) == len(docs)


def test_distinct_stories_share_almost_no_shingles() -> None:
    """Unrelated synthetic stories must not look alike to dedup (no false LSH candidates)."""
    docs = [d for d in documents(300, seed=6) if d.copy_of is None]
    sets = [set(content_of(d.title, d.text).shingled().seq) for d in docs]
    worst = max(len(a & b) / len(a | b) for i, a in enumerate(sets) for b in sets[i + 1 : i + 40])
    assert worst < 0.05


def test_dedup_folds_the_copies_and_matching_finds_the_topics() -> None:
    docs = list(documents(150, seed=7, topic_rate=0.3))
    items = [
        BatchItem(i, str(d.id), d.title, d.text, d.published, d.source, None)
        for i, d in enumerate(docs, 1)
    ]
    out = {r["id"]: r["cluster"] for r in run_batch(items)}
    copies = [d for d in docs if d.copy_of is not None]
    joined = sum(out[str(d.id)] == out[str(d.copy_of)] for d in copies)
    assert joined >= 0.9 * len(copies)
    originals = [d for d in docs if d.copy_of is None]
    assert len({out[str(d.id)] for d in originals}) == len(originals)  # none merged wrongly
    matcher = get_matcher()
    matched = sum(bool(matcher.match(d.title, d.text, language=d.language)) for d in originals)
    assert 0.15 * len(originals) < matched < 0.6 * len(originals)
