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

MADE_OF = 0.8
FULL = 0.85
# Below the 60% the issue guarantees, leaving room for the k-1 shingles lost at the cut.
CUT = 0.5
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


def _trim(doc: Shingles, other: set[str]) -> list[str]:
    """``doc``'s shingles without its short lines that the other document lacks entirely."""
    lines: dict[int, bool] = {}
    for shingle, line in zip(doc.seq, doc.line_of, strict=True):
        lines[line] = lines.get(line, True) and shingle not in other
    own = sorted(
        (doc.line_words[line], line)
        for line, uncovered in lines.items()
        if uncovered and doc.line_words[line] <= BOILERPLATE_WORDS
    )
    dropped: set[int] = set()
    budget = BOILERPLATE_BUDGET
    for words, line in own[:BOILERPLATE_LINES]:
        if words > budget:
            break
        dropped.add(line)
        budget -= words
    if not dropped:
        return doc.seq
    return [s for s, line in zip(doc.seq, doc.line_of, strict=True) if line not in dropped]


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


def compare(new: Shingles | Sequence[str], old: Shingles | Sequence[str]) -> Verdict:
    """Decide whether ``new`` and ``old`` (shingles in text order) are copies."""
    n, o = _as_shingles(new), _as_shingles(old)
    full_a, full_b = set(n.seq), set(o.seq)
    if not full_a or not full_b:
        return Verdict(False, 0.0, 0.0, 0.0, "empty")
    n_seq, o_seq = _trim(n, full_b), _trim(o, full_a)
    a, b = set(n_seq), set(o_seq)
    inter = len(a & b)
    jac = inter / len(a | b)
    c_new, c_old = inter / len(a), inter / len(b)
    if max(c_new, c_old) < MADE_OF:
        return Verdict(False, jac, c_new, c_old, "neither is made of the other")
    if min(c_new, c_old) >= FULL:
        return Verdict(True, jac, c_new, c_old, "copy")
    # Each document that is mostly made of the other may be the cut copy of it.
    readings = []
    if c_new >= MADE_OF:
        readings.append((c_old, o.seq, a))  # new is the copy; old is the full text
    if c_old >= MADE_OF:
        readings.append((c_new, n.seq, b))  # old is the copy (the original arrived later)
    if all(coverage < CUT for coverage, _, _ in readings):
        return Verdict(False, jac, c_new, c_old, "fragment or quotation")
    for coverage, big, small in readings:
        if coverage >= CUT and cut_cost(big, small) <= LEAD_SLACK:
            return Verdict(True, jac, c_new, c_old, "cut copy")
    return Verdict(False, jac, c_new, c_old, "uncovered text is not a cut tail")
