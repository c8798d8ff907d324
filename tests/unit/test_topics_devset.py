"""The labelled dev set: its shape, and the quality goal of the default topics on it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.topics import Matcher, load_topics
from pipeline.topics.evaluation import GOAL, evaluate, read_devset

ROOT = Path(__file__).resolve().parents[2]
DEVSET = ROOT / "tests" / "fixtures" / "topics" / "devset.jsonl"
SHIPPED = ROOT / "seeds" / "topics.yaml"


@pytest.fixture(scope="module")
def rows() -> list[dict[str, object]]:
    """The dev set examples."""
    return read_devset(DEVSET)


def test_devset_is_large_multilingual_and_has_negatives(rows: list[dict[str, object]]) -> None:
    assert len(rows) >= 150
    langs = Counter(str(r["language"]) for r in rows)
    assert set(langs) == {"en", "ru", "hy", "az"}
    assert min(langs.values()) >= 30
    assert sum(1 for r in rows if not r["topics"]) >= 50
    assert len({r["id"] for r in rows}) == len(rows)
    known = {t.id for t in load_topics(SHIPPED).topics}
    assert {t for r in rows for t in r["topics"]} <= known  # type: ignore[attr-defined]


def test_default_topics_reach_the_goal_on_the_devset(rows: list[dict[str, object]]) -> None:
    scores = evaluate(Matcher(load_topics(SHIPPED), SHIPPED), rows)
    assert set(scores) == {t.id for t in load_topics(SHIPPED).topics}
    for tid, s in scores.items():
        assert s.tp + s.fn >= 10, f"{tid}: too few positives to measure"
        assert s.precision >= GOAL, f"{tid}: precision {s.precision:.3f}, FP {s.false_positives}"
        assert s.recall >= GOAL, f"{tid}: recall {s.recall:.3f}, FN {s.false_negatives}"


def test_malformed_devset_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "topics": []}\n{oops\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.jsonl:2"):
        read_devset(path)
