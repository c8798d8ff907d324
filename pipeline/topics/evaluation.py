"""Precision and recall of the topics on a labelled development set (JSON lines).

Each line: ``{"id", "language", "title", "text", "topics": [topic ids]}``; an empty
``topics`` list is a negative example. Used by ``scripts/eval_topics.py`` and the tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import InputError
from pipeline.topics.matcher import Matcher

# The quality goal for every shipped topic.
GOAL = 0.95


@dataclass
class TopicScore:
    """Confusion counts of one topic and the ids behind the errors."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    false_positives: list[str] = field(default_factory=list)
    false_negatives: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """TP / (TP + FP); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN); 1.0 when there were no positives."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def read_devset(path: Path) -> list[dict[str, object]]:
    """The labelled examples; a malformed line raises InputError naming it."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("topics"), list):
            raise InputError(f"{path}:{n}: expected an object with a 'topics' list")
        rows.append(row)
    return rows


def evaluate(matcher: Matcher, rows: list[dict[str, object]]) -> dict[str, TopicScore]:
    """Per-topic confusion counts of ``matcher`` on the examples."""
    scores = {tid: TopicScore() for tid in matcher.topics}
    for row in rows:
        gold = {str(t) for t in row["topics"]}  # type: ignore[attr-defined]
        found = matcher.match(
            str(row.get("title") or ""),
            str(row.get("text") or ""),
            language=str(row["language"]) if row.get("language") else None,
        )
        got = {m.topic for m in found}
        rid = str(row.get("id"))
        for tid, s in scores.items():
            if tid in got and tid in gold:
                s.tp += 1
            elif tid in got:
                s.fp += 1
                s.false_positives.append(rid)
            elif tid in gold:
                s.fn += 1
                s.false_negatives.append(rid)
    return scores
