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


@dataclass
class Miss:
    """One wrong call: a missed relevant document or a false alert, with its evidence."""

    kind: str  # "miss" or "false alert"
    topic: str
    id: str
    language: str
    title: str
    terms: list[str] = field(default_factory=list)
    passages: list[str] = field(default_factory=list)


@dataclass
class Report:
    """Confusion counts per topic and per language, and every wrong call."""

    topics: dict[str, TopicScore] = field(default_factory=dict)
    languages: dict[str, TopicScore] = field(default_factory=dict)
    errors: list[Miss] = field(default_factory=list)
    documents: int = 0

    def pooled(self, languages: set[str] | None = None) -> TopicScore:
        """Micro-averaged counts over ``languages`` (all when None)."""
        out = TopicScore()
        for lang, s in self.languages.items():
            if languages is None or lang in languages:
                out.tp, out.fp, out.fn = out.tp + s.tp, out.fp + s.fp, out.fn + s.fn
        return out


def read_labels(path: Path, known: set[str]) -> list[dict[str, object]]:
    """Labelled lines {"id","title","text","language"?,"topics"}; bad lines name the line."""
    rows = read_devset(path)
    for row, n in zip(rows, _numbered(path), strict=True):
        for tid in row["topics"]:  # type: ignore[attr-defined]
            if tid not in known:
                raise InputError(
                    f"{path}:{n}: unknown topic {tid!r} (known: {', '.join(sorted(known))})"
                )
    return rows


def _numbered(path: Path) -> list[int]:
    """Line numbers of the non-empty lines of ``path`` (what read_devset returns rows for)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [n for n, line in enumerate(lines, 1) if line.strip()]


def report(matcher: Matcher, rows: list[dict[str, object]], topic: str | None = None) -> Report:
    """Score ``matcher`` on labelled rows, per topic and per language, keeping the errors."""
    tids = [topic] if topic else list(matcher.topics)
    out = Report(topics={t: TopicScore() for t in tids}, documents=len(rows))
    for row in rows:
        lang = str(row.get("language") or "?")
        title, text = str(row.get("title") or ""), str(row.get("text") or "")
        found = {
            m.topic: m
            for m in matcher.match(title, text, language=None if lang == "?" else lang, topics=tids)
        }
        gold = {str(t) for t in row["topics"]} & set(tids)  # type: ignore[attr-defined]
        by_lang = out.languages.setdefault(lang, TopicScore())
        rid = str(row.get("id"))
        judged = row.get("judged")  # stored judgements score only the topics judged
        for tid in tids:
            if isinstance(judged, list) and tid not in judged:
                continue
            s = out.topics[tid]
            if tid in found and tid in gold:
                s.tp += 1
                by_lang.tp += 1
            elif tid in found:
                s.fp += 1
                by_lang.fp += 1
                s.false_positives.append(rid)
                m = found[tid]
                out.errors.append(
                    Miss("false alert", tid, rid, lang, title, list(m.terms),
                         [f"[{p.field}] {p.text}" for p in m.passages])
                )  # fmt: skip
            elif tid in gold:
                s.fn += 1
                by_lang.fn += 1
                s.false_negatives.append(rid)
                lead = (text.strip().splitlines() or [""])[0][:300]
                out.errors.append(Miss("miss", tid, rid, lang, title, [], [lead] if lead else []))
    return out
