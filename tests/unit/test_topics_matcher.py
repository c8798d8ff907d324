"""The matcher: every rule kind, phrases, stems, acronyms, word boundaries, filters, and
passages cut from the original text (the default topics: test_topics_defaults.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipeline.topics import Matcher, TopicMatch, get_matcher, load_topics
from pipeline.topics import clear_cache as clear_matchers

SHIPPED = Path(__file__).resolve().parents[2] / "seeds" / "topics.yaml"

RULES = """\
sets:
  places: {en: [Syunik, Meghri, Nakhchivan], ru: [Сюник*, Мегри]}
topics:
  - id: phrase
    name: Phrase
    description: A phrase with stems.
    any:
      - terms: {ru: [Зангезурск* коридор*], en: [Zangezur corridor]}
  - id: near
    name: Near
    description: A short word only in context.
    any:
      - near: {a: {en: [corridor, route]}, b: places, within: 3}
  - id: twice
    name: Twice
    description: Needs two mentions.
    any:
      - terms: {en: [Lachin]}
        at_least: 2
  - id: allof
    name: All of
    description: Both must occur, anywhere.
    all:
      - terms: {en: [delimitation]}
      - terms: {en: [Armenia*]}
      - terms: {en: [Azerbaijan*]}
  - id: excluded
    name: Excluded
    description: Karabakh unless it is about horses.
    any:
      - terms: {en: [Karabakh]}
    none:
      - near: {a: {en: [Karabakh]}, b: {en: [horse*, breed]}, within: 4}
  - id: nested
    name: Nested
    description: A nested any inside all.
    all:
      - terms: {en: [working group]}
      - any:
          - terms: {en: [Armenia]}
          - terms: {en: [Azerbaijan]}
  - id: acronym
    name: Acronym
    description: Capitals only.
    any:
      - terms: {en: [TRIPP]}
  - id: baku
    name: Baku
    description: A short name as a whole word.
    any:
      - terms: {en: [Baku]}
  - id: ministries
    name: Ministries only
    description: Filters by source type and language.
    source_types: [ministry]
    languages: [ru]
    any:
      - terms: {en: [Meghri]}
  - id: one-source
    name: One source
    description: Filters by source name.
    sources: [tass]
    any:
      - terms: {en: [Meghri]}
"""


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Matcher:
    """A matcher over the rule-kind topics above."""
    path = tmp_path_factory.mktemp("rules") / "topics.yaml"
    path.write_text(RULES, encoding="utf-8")
    return Matcher(load_topics(path), path)


@pytest.fixture(scope="module")
def shipped() -> Matcher:
    """The default topics."""
    return Matcher(load_topics(SHIPPED), SHIPPED)


def ids(found: list[TopicMatch]) -> set[str]:
    """Topic ids of a match list."""
    return {m.topic for m in found}


def check_passages(found: list[TopicMatch], title: str, text: str) -> None:
    """Every passage is an exact slice of its original field; 1 to 3 per match."""
    fields = {"title": title, "text": text}
    for m in found:
        assert 1 <= len(m.passages) <= 3, m
        for p in m.passages:
            assert fields[p.field][p.start : p.end] == p.text
            assert p.text.strip() == p.text and p.text


# --- rule kinds -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Турция ждёт открытия Зангезурского коридора.",
        "Речь о «Зангезурском» коридоре.",
        "The Zangezur corridor again.",
        "The Zəngəzur-corridor again.",
        "Talks on the “Zangezour corridor” resumed.",
        "ZANGEZUR CORRIDOR",
    ],
)
def test_phrase_with_stems_matches_inflections_and_spellings(rules: Matcher, text: str) -> None:
    found = rules.match("", text)
    assert "phrase" in ids(found)
    check_passages(found, "", text)


def test_phrase_words_must_be_adjacent(rules: Matcher) -> None:
    assert "phrase" not in ids(rules.match("", "Zangezur copper and the corridor of power"))
    assert "phrase" not in ids(rules.match("", "коридор Зангезурского района"))


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("A corridor through Syunik was discussed.", True),  # 1 word between
        ("The route to Meghri is long.", True),
        ("A corridor, said the minister from distant Syunik.", False),  # 5 words between
        ("коридор через Сюникскую область", False),  # 'corridor' is en-only in this rule
        ("Syunik has a new school; elsewhere a corridor was painted.", False),
    ],
)
def test_near_counts_words_between(rules: Matcher, text: str, hit: bool) -> None:
    assert ("near" in ids(rules.match("", text))) is hit


def test_near_does_not_cross_title_and_text(rules: Matcher) -> None:
    assert "near" not in ids(rules.match("A new corridor", "Syunik officials said."))
    assert "near" in ids(rules.match("A new corridor in Syunik", ""))


def test_at_least_counts_mentions(rules: Matcher) -> None:
    assert "twice" not in ids(rules.match("", "Lachin is quiet."))
    assert "twice" in ids(rules.match("Lachin", "Lachin is quiet."))


def test_all_needs_every_condition(rules: Matcher) -> None:
    text = "Armenia and Azerbaijan continued the delimitation."
    assert "allof" in ids(rules.match("", text))
    assert "allof" not in ids(rules.match("", "Armenia and Georgia continued the delimitation."))


def test_none_excludes_the_horse_breed(rules: Matcher) -> None:
    assert "excluded" in ids(rules.match("", "Karabakh talks resumed."))
    assert "excluded" not in ids(rules.match("", "The Karabakh horse is a mountain breed."))


def test_nested_any_inside_all(rules: Matcher) -> None:
    assert "nested" in ids(rules.match("", "The working group met in Azerbaijan."))
    assert "nested" not in ids(rules.match("", "The working group met in Mexico."))


def test_acronym_only_in_capitals(rules: Matcher) -> None:
    assert "acronym" in ids(rules.match("", "Work on TRIPP starts."))
    assert "acronym" not in ids(rules.match("", "A trip to the mountains. Mr Tripp agreed."))


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("Talks in Baku.", True),
        ("Talks in Баку.", True),
        ("Baku-Tbilisi-Ceyhan pipeline", True),
        ("Skiing in Bakuriani.", False),
        ("Letters of Bakunin.", False),
        ("A book about bikes.", False),
    ],
)
def test_short_names_match_whole_words_only(rules: Matcher, text: str, hit: bool) -> None:
    assert ("baku" in ids(rules.match("", text))) is hit


def test_filters_exclude_only_known_other_values(rules: Matcher) -> None:
    text = "A statement on Meghri."
    assert "ministries" in ids(rules.match("", text))  # nothing known: not excluded
    assert "ministries" in ids(rules.match("", text, language="ru", source_type="ministry"))
    assert "ministries" not in ids(rules.match("", text, language="en", source_type="ministry"))
    assert "ministries" not in ids(rules.match("", text, language="ru", source_type="wire"))
    assert "one-source" in ids(rules.match("", text, source="tass"))
    assert "one-source" not in ids(rules.match("", text, source="apa"))


def test_topics_argument_limits_the_topics_tried(rules: Matcher) -> None:
    text = "The Zangezur corridor via Meghri route, Baku."
    assert ids(rules.match("", text, topics=["baku"])) == {"baku"}


def test_output_terms_are_the_aliases_as_written(rules: Matcher) -> None:
    (m,) = rules.match("", "Открытие Зангезурского коридора.", topics=["phrase"])
    assert m.terms == ["Зангезурск* коридор*"]
    assert 0 < m.score <= 1


def test_title_hits_score_higher(rules: Matcher) -> None:
    (in_title,) = rules.match("Baku", "", topics=["baku"])
    (in_text,) = rules.match("", "Baku", topics=["baku"])
    assert in_title.score > in_text.score


def test_passages_are_the_sentences_around_hits(rules: Matcher) -> None:
    text = (
        "First sentence is unrelated. The Zangezur corridor came up in Baku.\n"
        "Another line. A third mention of Baku here! And a closing remark."
    )
    (m,) = rules.match("Minister in Baku", text, topics=["baku"])
    check_passages([m], "Minister in Baku", text)
    assert [p.field for p in m.passages] == ["title", "text", "text"]
    assert m.passages[1].text == "The Zangezur corridor came up in Baku."
    assert m.passages[2].text == "A third mention of Baku here!"


def test_long_sentences_are_cut_around_the_hit(rules: Matcher) -> None:
    text = "word " * 300 + "Baku " + "word " * 300
    (m,) = rules.match("", text, topics=["baku"])
    (p,) = m.passages
    assert len(p.text) <= 400 and "Baku" in p.text
    assert text[p.start : p.end] == p.text


def test_more_than_three_hit_sentences_give_three_passages(rules: Matcher) -> None:
    text = " ".join(f"Sentence {i} names Baku." for i in range(6))
    (m,) = rules.match("", text, topics=["baku"])
    assert len(m.passages) == 3
    check_passages([m], "", text)


def test_empty_input_matches_nothing(rules: Matcher, shipped: Matcher) -> None:
    assert rules.match("", "") == []
    assert shipped.match("", "   \n ") == []


def test_only_topics_whose_terms_fired_are_evaluated(
    rules: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The automaton is shared; rules run only for candidate topics (flat cost)."""
    from pipeline.topics import matcher as matcher_mod

    calls: list[str] = []
    real = matcher_mod.evaluate

    def spy(
        topic: matcher_mod.CTopic, hits: dict[int, list[matcher_mod.Hit]], doc: object
    ) -> object:
        calls.append(topic.id)
        return real(topic, hits, doc)  # type: ignore[arg-type]  # the matcher's own _Doc

    monkeypatch.setattr(matcher_mod, "evaluate", spy)
    assert rules.match("", "Nothing relevant here at all.") == []
    assert calls == []
    rules.match("", "Talks in Baku.")
    assert calls == ["baku"]


def test_get_matcher_recompiles_when_the_file_changes(tmp_path: Path) -> None:
    clear_matchers()
    path = tmp_path / "topics.yaml"
    path.write_text(RULES, encoding="utf-8")
    first = get_matcher(path)
    assert get_matcher(path) is first
    path.write_text(RULES.replace("id: baku", "id: baku-renamed"), encoding="utf-8")
    later = time.time() + 5
    os.utime(path, (later, later))
    second = get_matcher(path)
    assert second is not first
    assert "baku-renamed" in second.topics
