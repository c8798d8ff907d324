"""The matcher: every rule kind, each language, inflection, transliteration, hard negatives,
passages cut from the original text, and the default topics on noisy machine translation."""

from __future__ import annotations

import os
import textwrap
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


# --- the default topics ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "title", "text", "topic"),
    [
        ("ru", "", "Анкара ждёт открытия Зангезурского коридора.", "zangezur-corridor"),
        ("hy", "", "Ալիևը կրկին խոսել է Զանգեզուրի միջանցքի մասին։", "zangezur-corridor"),
        ("az", "", "Zəngəzur dəhlizinin açılışı gözlənilir.", "zangezur-corridor"),
        ("en", "", "Turkey again praised the Zangezour route to Nakhchivan.", "zangezur-corridor"),
        ("en", "TRIPP", "A consortium will build the route.", "zangezur-corridor"),
        ("en", "", "A rail corridor through Meghri is planned.", "zangezur-corridor"),
        (
            "en",
            "",
            "They discussed transport links through Armenia connecting Azerbaijan with "
            "Nakhchivan.",
            "zangezur-corridor",
        ),
        (
            "ru",
            "",
            "Железная дорога через Армению соединит Азербайджан с Нахичеванью.",
            "zangezur-corridor",
        ),
        ("ru", "", "Заседание комиссий по делимитации границы Армении и Азербайджана.",
         "border-delimitation"),  # fmt: skip
        ("hy", "", "Հայ-ադրբեջանական սահմանին կրակոցներ են հնչել։", "border-delimitation"),
        ("az", "", "Ermənistan-Azərbaycan sərhədində vəziyyət sabitdir.", "border-delimitation"),
        ("ru", "", "Российские миротворцы покинули Карабах.", "karabakh"),
        ("hy", "", "Ղարաբաղից տեղահանված ընտանիքներ։", "karabakh"),
        ("az", "", "Qarabağda bərpa işləri davam edir.", "karabakh"),
        ("en", "", "Traffic on the Lachin corridor stopped.", "karabakh"),
        ("az", "", "Azərbaycan və Ermənistan sülh sazişini paraflayıb.", "peace-treaty"),
        ("ru", "", "Лавров: Армения и Азербайджан близки к мирному договору.", "peace-treaty"),
        ("hy", "", "ԵԱՀԿ Մինսկի խմբի համանախագահները։", "osce-minsk-group"),
        ("ru", "", "Сопредседатели Минской группы ОБСЕ.", "osce-minsk-group"),
        ("ru", "", "Трёхсторонняя рабочая группа вице-премьеров Армении и Азербайджана.",
         "transport-unblocking"),  # fmt: skip
        ("hy", "", "Տարածաշրջանային հաղորդակցությունների ապաշրջափակումը։", "transport-unblocking"),
    ],
)
def test_default_topics_in_each_language(
    shipped: Matcher, lang: str, title: str, text: str, topic: str
) -> None:
    found = shipped.match(title, text, language=lang)
    assert topic in ids(found)
    check_passages(found, title, text)


@pytest.mark.parametrize(
    "text",
    [
        # Armenia + road, without the corridor
        "The government will repair the Goris-Kapan road in Syunik and bridges across Armenia.",
        "В Сюникской области Армении отремонтируют дорогу Горис — Капан.",
        # the Zangezur copper combine
        "The Zangezur Copper Molybdenum Combine raised output in Kajaran.",
        # Karabakh as a horse breed, a football club, a surname
        "Three Karabakh stallions won prizes; the breed is known for its golden coat.",
        "Карабахские скакуны выставлены на аукцион, порода древняя.",
        "Qarabag FK won 2-1 and climbed in the Champions League table.",
        "Writer Samira Karabakhli presented a novel about Baku.",
        "Yazıçı Elvin Qarabağlı yeni romanını təqdim edib.",
        # Baku inside other words
        "Bakuriani opened its ski season; Bakunin's letters were reprinted.",
        # other countries' borders, treaties, Minsk, unblocking
        "Kyrgyzstan and Tajikistan completed the delimitation of their border.",
        "Armenia and Georgia continued the demarcation of their border.",
        "Japan and Russia have no peace treaty.",
        "The Minsk agreements on Donbas were never implemented.",
        "The bank unblocked the company's accounts.",
        "Трехсторонняя рабочая группа по трудовой миграции соберется в Ташкенте.",
    ],
)
def test_default_topics_hard_negatives(shipped: Matcher, text: str) -> None:
    assert shipped.match("", text) == []


# A machine-translated English repost in the style of Armenian aggregator sites: repeated
# title, Armenian "և" and "․" inside English, broken quotes and a trailing "Source link".
NOISY_TITLE = "Moscow spoke about the year since the trilateral statement"
NOISY_TEXT = textwrap.dedent(
    """\
    Moscow spoke about the year since the trilateral statement

    The Russian Foreign Ministry commented on the first year of the trilateral statement , \
    the Armenian media reported with reference to RIA Novosti.

    “The peacekeepers of Russia in Nagorno Karabakh stopped the war և saved thousands of \
    lives ․ Talks about “handing over” are populist ,” the commentary said .

    Russia is ready to support the demarcation of the Armenian-Azerbaijani border with \
    maps և experience, the ministry added.

    The trilateral working group headed by the Deputy Prime Ministers of Russia , Azerbaijan \
    և Armenia agreed on the principles of the unblocking of transport links ․ In the light \
    of the debates over the so-called Zangezur Corridor , all new routes will respect the \
    sovereignty of the states they cross.

    Moscow is ready to continue the work of the OSCE Minsk Group Co-Chairs ․ “The potential \
    is not exhausted.”

    Source link
    """
)


def test_noisy_machine_translated_repost(shipped: Matcher) -> None:
    found = shipped.match(NOISY_TITLE, NOISY_TEXT, language="en")
    assert ids(found) == {
        "karabakh",
        "border-delimitation",
        "transport-unblocking",
        "zangezur-corridor",
        "osce-minsk-group",
    }
    check_passages(found, NOISY_TITLE, NOISY_TEXT)
    by_id = {m.topic: m for m in found}
    (corridor,) = by_id["zangezur-corridor"].passages
    assert "so-called Zangezur Corridor" in corridor.text
    # The Armenian full stop ․ ends a sentence in English text too.
    (minsk,) = by_id["osce-minsk-group"].passages
    assert minsk.text == "Moscow is ready to continue the work of the OSCE Minsk Group Co-Chairs ․"


def test_only_topics_whose_terms_fired_are_evaluated(
    rules: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The automaton is shared; rules run only for candidate topics (flat cost)."""
    from pipeline.topics import matcher as matcher_mod

    calls: list[str] = []
    real = matcher_mod._evaluate

    def spy(topic: matcher_mod.CTopic, hits: dict[int, list[matcher_mod.Hit]]) -> object:
        calls.append(topic.id)
        return real(topic, hits)

    monkeypatch.setattr(matcher_mod, "_evaluate", spy)
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
