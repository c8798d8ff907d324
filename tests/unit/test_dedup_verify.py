"""Copy verification on our dev-set texts: every republishing edit passes, hard negatives fail."""

from __future__ import annotations

import random
from itertools import combinations

import pytest

from pipeline.dedup import compare
from pipeline.dedup.text import Shingles, content_of
from tests.fixtures.dedup import devset

ORIGINALS = {d.id: d for d in devset.load_originals()}
REBUTTALS = devset.load_rebuttals(list(ORIGINALS.values()))
# One statement per language; the edit tests run on each.
SAMPLES = [
    "en-am-border-commission",
    "ru-zakharova-zangezur",
    "hy-border-commission",
    "az-delimitation",
    "en-kremlin-phone-call",
    "ru-condolences-quake",
]


def _sh(doc: devset.Doc) -> Shingles:
    return content_of(doc.title, doc.text).shingled()


def _copy(doc_id: str, kinds: list[str], seed: int = 0) -> devset.Doc:
    orig = ORIGINALS[doc_id]
    outlet = devset.OUTLETS[orig.lang][seed % len(devset.OUTLETS[orig.lang])]
    return devset.make_copy(orig, kinds, random.Random(seed), outlet, f"{doc_id}~t")


def test_dev_set_is_big_enough_and_multilingual() -> None:
    langs = {d.lang for d in ORIGINALS.values()}
    assert len(ORIGINALS) >= 30 and {"en", "ru", "hy", "az"} <= langs
    assert len({d.family for d in ORIGINALS.values() if d.family}) >= 5
    assert len(REBUTTALS) >= 5


@pytest.mark.parametrize("kind", devset.EDIT_KINDS)
@pytest.mark.parametrize("doc_id", SAMPLES)
def test_each_republishing_edit_is_a_copy_in_both_arrival_orders(kind: str, doc_id: str) -> None:
    orig = ORIGINALS[doc_id]
    for seed in range(4):
        copy = _copy(doc_id, [kind], seed)
        assert compare(_sh(copy), _sh(orig)).copy, (kind, seed, copy.text)
        assert compare(_sh(orig), _sh(copy)).copy, (kind, seed, copy.text)


@pytest.mark.parametrize("doc_id", SAMPLES)
def test_combined_edits_are_copies(doc_id: str) -> None:
    orig = ORIGINALS[doc_id]
    rng = random.Random(doc_id)
    for seed in range(12):
        kinds = rng.sample(devset.EDIT_KINDS, k=rng.randint(2, 5))
        copy = _copy(doc_id, kinds, seed)
        assert compare(_sh(copy), _sh(orig)).copy, (kinds, copy.text)


def test_cut_to_sixty_percent_is_a_copy_but_a_quoted_paragraph_is_not() -> None:
    orig = ORIGINALS["en-ru-anniversary"]
    words = orig.text.split()
    # Keep exactly 60% of the words (mid-sentence), plus a closing boilerplate line.
    cut = " ".join(words[: int(len(words) * 0.6) + 1]) + "\n\nSource link"
    verdict = compare(_sh(devset.Doc(**{**orig.__dict__, "text": cut})), _sh(orig))
    assert verdict.copy and verdict.reason == "cut copy"
    paragraph = orig.text.split("\n\n")[2]
    quoted = "The Foreign Ministry of Russia stated:\n\n" + paragraph
    assert not compare(_sh(devset.Doc(**{**orig.__dict__, "text": quoted})), _sh(orig)).copy


def test_same_template_statements_of_one_day_are_not_copies() -> None:
    families: dict[str, list[devset.Doc]] = {}
    for doc in ORIGINALS.values():
        if doc.family:
            families.setdefault(doc.family, []).append(doc)
    for members in families.values():
        for a, b in combinations(members, 2):
            assert not compare(_sh(a), _sh(b)).copy, (a.id, b.id)
            assert not compare(_sh(b), _sh(a)).copy, (b.id, a.id)


@pytest.mark.parametrize("rebuttal", REBUTTALS, ids=lambda d: d.id)
def test_a_rebuttal_quoting_a_statement_is_not_its_copy(rebuttal: devset.Doc) -> None:
    statement = ORIGINALS[rebuttal.family or ""]
    assert not compare(_sh(rebuttal), _sh(statement)).copy
    assert not compare(_sh(statement), _sh(rebuttal)).copy
    # ...nor is a republished rebuttal (lead line, boilerplate, noise) a copy of the statement.
    copy = devset.make_copy(
        rebuttal, ["lead", "boilerplate", "noise"], random.Random(1), "TASS", "x"
    )
    assert not compare(_sh(copy), _sh(statement)).copy
    assert compare(_sh(copy), _sh(rebuttal)).copy


def test_a_rebuttal_that_is_mostly_the_quote_is_a_copy() -> None:
    # The documented limit: a one-line frame around a whole statement reads as a copy.
    statement = ORIGINALS["en-eu-mission"]
    framed = f"The Council announced:\n\n{statement.text}"
    assert compare(_sh(devset.Doc(**{**statement.__dict__, "text": framed})), _sh(statement)).copy


def test_unrelated_statements_on_the_same_topic_are_not_copies() -> None:
    docs = list(ORIGINALS.values())
    for a, b in combinations(docs, 2):
        assert not compare(_sh(a), _sh(b)).copy, (a.id, b.id)
