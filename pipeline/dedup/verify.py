"""Candidate verification: is one document a republished copy of the other?

LSH only proposes candidates; this decides, on the exact shingle sets. First,
on each side, up to BOILERPLATE_LINES short lines that the other document lacks
entirely (outlet boilerplate such as "Subscribe to our Telegram channel...") are
set aside. Then, with containments c_new (share of the new document's shingles
found in the old one) and c_old (the reverse):

1. One document must be mostly made of the other (the *copy*):
   containment >= MADE_OF. A copy adds at most a lead line and some
   boilerplate; two statements built from one template share their frame
   sentences but not most of their text.
2. Both containments >= FULL: a copy of the whole.
3. Otherwise the copy may be a *cut* copy: it must cover >= CUT of the full
   text, and the full text's uncovered shingles must form its tail (the last
   paragraphs the copy dropped), apart from at most LEAD_SLACK shingles
   (a dateline, a lead line) — see :func:`cut_cost`. Anything else is a
   quotation inside a longer text of its own.

Either document may play the copy, so the order of arrival does not matter: an
official statement arriving after a cut copy of it still joins. A rebuttal that
quotes a whole statement contains it (c_old = 1) but is not made of it (its own
opening and closing paragraphs): the statement covers less than FULL of it, and
its opening sentence before the quote breaks the cut-tail shape. A rebuttal
whose own text is under ~15% of it (or only a closing paragraph after the quote
with an opening under LEAD_SLACK words) cannot be told from a copy and is merged.

Margins on the development set (``scripts/eval_dedup.py --margins``, k=5): copies
are made of their original >= 0.87, full copies cover >= 0.92, cut copies keeping
60% cover >= 0.60 with a cut cost <= 4; same-template siblings are made of each
other <= 0.56; rebuttals cover <= 0.61 with a cut cost >= 19.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.dedup.text import Shingles

MADE_OF = 0.75
FULL = 0.85
# Below the 60% the issue guarantees, leaving room for the k-1 shingles lost at the cut.
CUT = 0.5
# A later text that keeps an earlier one's opening and drops sentences and the end.
CUT_LATER = 0.3
# A lead line such as "TASS reported that" or a dropped dateline costs up to ~k+4 shingles.
LEAD_SLACK = 10
# Outlet boilerplate that reads like a sentence ("Subscribe to our Telegram channel to
# receive the latest news.") is a line of its own that the other document lacks. Up to
# this many such lines of at most BOILERPLATE_WORDS words, BOILERPLATE_BUDGET words in
# all, are left out before measuring coverage. A rebuttal's own paragraphs are longer
# and more numerous than that budget, so they still count.
BOILERPLATE_WORDS = 20
BOILERPLATE_LINES = 3
BOILERPLATE_BUDGET = 40


@dataclass(frozen=True)
class Verdict:
    """Outcome of comparing a new document with a stored one."""

    copy: bool
    jaccard: float
    contained_new: float  # share of the new document's shingles found in the stored one
    contained_old: float  # share of the stored document's shingles found in the new one
    reason: str


def _as_shingles(value: Shingles | Sequence[str]) -> Shingles:
    """Plain shingle lists count as one line (nothing is trimmed from them)."""
    if isinstance(value, Shingles):
        return value
    seq = list(value)
    return Shingles(seq, [0] * len(seq), [len(seq) + 1])


def _trim(doc: Shingles, other: set[str]) -> tuple[list[str], list[str]]:
    """``doc``'s shingles without its furniture lines that the other document lacks entirely.

    Furniture: any number of short non-prose lines (bylines, share bars, "Read more"
    lists, datelines), plus up to BOILERPLATE_LINES short sentences within
    BOILERPLATE_BUDGET words ("Subscribe to our Telegram channel..."). Returns the
    shingles without the furniture lines (for the shape of the text: a rebuttal's short
    opening sentence must still count there) and without both (for the containments).
    """
    lines: dict[int, bool] = {}
    for shingle, line in zip(doc.seq, doc.line_of, strict=True):
        lines[line] = lines.get(line, True) and shingle not in other
    dropped: set[int] = set()
    sentences = []
    for line, uncovered in lines.items():
        words = doc.line_words[line]
        if not uncovered or words > BOILERPLATE_WORDS:
            continue
        if doc.is_prose(line):
            sentences.append((words, line))
        else:
            dropped.add(line)
    shape = _without(doc, dropped)
    budget = BOILERPLATE_BUDGET
    for words, line in sorted(sentences)[:BOILERPLATE_LINES]:
        if words > budget:
            break
        dropped.add(line)
        budget -= words
    return shape, _without(doc, dropped)


def _without(doc: Shingles, lines: set[int]) -> list[str]:
    """``doc``'s shingles that start outside ``lines``."""
    if not lines:
        return doc.seq
    return [s for s, line in zip(doc.seq, doc.line_of, strict=True) if line not in lines]


def head_gap(big: Sequence[str], small: set[str]) -> int:
    """Shingles of ``big`` before the first one ``small`` shares (its own opening)."""
    return next((i for i, s in enumerate(big) if s in small), len(big))


def cut_cost(big: Sequence[str], small: set[str]) -> int:
    """Shingles of ``big`` that do not fit "covered part, then uncovered tail".

    The best split point t minimises the uncovered shingles before t (a lead or a
    dateline) plus the covered ones after it (phrases of the dropped paragraphs
    that also occur earlier). Counted on ``big`` as written, short lines not
    trimmed: a rebuttal's opening sentence before the quote must count here.
    """
    covered = [s in small for s in big]
    cost = best = covered.count(True)  # t = 0: everything covered lies "after" the split
    for flag in covered:
        cost += -1 if flag else 1
        best = min(best, cost)
    return best


def compare(
    new: Shingles | Sequence[str],
    old: Shingles | Sequence[str],
    *,
    new_is_later: bool | None = None,
) -> Verdict:
    """Decide whether ``new`` and ``old`` (shingles in text order) are copies.

    ``new_is_later`` says which was published later when that is known: a later text
    made of an earlier one is an excerpt of it wherever its gaps fall, while an earlier
    text inside a later one must be the later one's cut (its own text a tail).
    """
    n, o = _as_shingles(new), _as_shingles(old)
    full_a, full_b = set(n.seq), set(o.seq)
    if not full_a or not full_b:
        return Verdict(False, 0.0, 0.0, 0.0, "empty")
    (n_shape, n_seq), (o_shape, o_seq) = _trim(n, full_b), _trim(o, full_a)
    a, b = set(n_seq), set(o_seq)
    if not a or not b:
        return Verdict(False, 0.0, 0.0, 0.0, "only furniture")
    inter = len(a & b)
    jac = inter / len(a | b)
    c_new, c_old = inter / len(a), inter / len(b)
    if max(c_new, c_old) < MADE_OF:
        return Verdict(False, jac, c_new, c_old, "neither is made of the other")
    if min(c_new, c_old) >= FULL:
        return Verdict(True, jac, c_new, c_old, "copy")
    # Each document that is mostly made of the other may be the cut copy of it:
    # (coverage of the full text, the full text as written, the copy's shingles, copy is later).
    readings = []
    if c_new >= MADE_OF:
        readings.append((c_old, o_shape, a, new_is_later is True))
    if c_old >= MADE_OF:
        readings.append((c_new, n_shape, b, new_is_later is False))
    for coverage, big, small, later in readings:
        if later and coverage >= CUT_LATER and head_gap(big, small) <= LEAD_SLACK:
            return Verdict(True, jac, c_new, c_old, "cut copy")
        if coverage >= CUT and cut_cost(big, small) <= LEAD_SLACK:
            return Verdict(True, jac, c_new, c_old, "cut copy")
    if all(coverage < CUT for coverage, *_ in readings):
        return Verdict(False, jac, c_new, c_old, "fragment or quotation")
    return Verdict(False, jac, c_new, c_old, "uncovered text is not a cut tail")
