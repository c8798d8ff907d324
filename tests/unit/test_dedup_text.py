"""Normalisation, content hash and MinHash/LSH helpers of pipeline.dedup."""

from __future__ import annotations

import pytest

from pipeline.dedup import content_hash, normalise, sketch
from pipeline.dedup.text import content_of

BODY = (
    "The Ministry of Foreign Affairs of Armenia welcomes the resumption of the work of the "
    "border commissions, which met today in the village of Ijevan.\n\n"
    "“We believe that the process must rest on the Alma-Ata Declaration,” the statement said. "
    "The next meeting will take place in Yerevan and Baku in turn."
)


def test_normalise_folds_case_quotes_punctuation_and_armenian_noise() -> None:
    assert normalise("“Baku և Yerevan”․ Chairs ․ «Ёлка» — don’t!") == (
        "baku and yerevan chairs елка don t"
    )


def test_normalise_keeps_armenian_words_with_the_ligature_consistent() -> None:
    # `և` inside a word (Երևան) and its two-letter spelling (Երեւան) are the same word.
    assert normalise("Երևան") == normalise("Երեւան") == "երեւան"
    assert normalise("Հայաստան և Ադրբեջան") == "հայաստան and ադրբեջան"


def test_normalise_keeps_digits() -> None:
    assert normalise("21:40, 2025-05-14") == "21 40 2025 05 14"


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Another headline entirely", BODY),  # other headline
        ("Statement", BODY.replace("“", "«").replace("”", "»")),  # quotes changed
        ("Statement", BODY.replace(" and ", " և ").replace(". ", "․ ")),  # Armenian noise
        ("Statement", "Statement\nStatement\n" + BODY),  # title line repeated
        ("Statement", BODY + "\n\nSource link\nRead more"),  # short boilerplate lines
        ("Statement", BODY.replace("\n\n", " ")),  # paragraphs reflowed
        ("Statement", BODY.upper()),  # case
    ],
)
def test_content_hash_equal_for_word_for_word_copies(title: str, text: str) -> None:
    assert content_hash(title, text) == content_hash("Statement", BODY)


def test_content_hash_differs_when_the_words_differ() -> None:
    assert content_hash("Statement", BODY) != content_hash(
        "Statement", BODY.replace("Ijevan", "Noyemberyan")
    )


def test_title_is_the_content_only_without_a_body() -> None:
    assert content_hash("Only a title here", "") == content_hash("ONLY a title, here", "")
    assert content_hash("Only a title here", "") != content_hash("Another title", "")


def test_heading_like_lines_are_left_out_of_shingles() -> None:
    content = content_of("T", "On the border commissions\n" + BODY + "\n\nSource link")
    assert content.words == content_of("T", BODY).words
    # ...unless that would drop most of the text (a list without punctuation).
    listing = "Border commission meets\nTalks resume in Brussels\nMinisters sign protocol"
    assert len(content_of("T", listing).words) == 10


def test_shingles_are_k_word_windows_in_order() -> None:
    shingled = content_of("T", "one two three four five six seven").shingled(5)
    assert shingled.seq == [
        "one two three four five",
        "two three four five six",
        "three four five six seven",
    ]
    assert content_of("T", "one two").shingled(5).seq == ["one two"]


def test_signature_round_trips_and_buckets_fit_a_signed_bigint() -> None:
    shingles = content_of("T", BODY).shingles()
    mh = sketch.signature(shingles)
    assert mh is not None
    again = sketch.from_bytes(sketch.to_bytes(mh))
    assert again.jaccard(mh) == 1.0
    buckets = sketch.buckets(mh)
    assert len(buckets) == sketch.BANDS
    assert all(0 <= b < 2**63 for b in buckets)
    assert buckets == sketch.buckets(sketch.signature(list(reversed(shingles))))  # a set
    assert sketch.signature([]) is None
