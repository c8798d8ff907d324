"""The default topics: each language, inflected and transliterated forms, hard negatives,
and a noisy machine-translated English repost."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipeline.topics import Matcher, TopicMatch, load_topics

SHIPPED = Path(__file__).resolve().parents[2] / "seeds" / "topics.yaml"


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
            "They discussed transport links through Armenia connecting Azerbaijan with Nakhchivan.",
            "zangezur-corridor",
        ),
        (
            "ru",
            "",
            "Железная дорога через Армению соединит Азербайджан с Нахичеванью.",
            "zangezur-corridor",
        ),
        (
            "ru",
            "",
            "Заседание комиссий по делимитации границы Армении и Азербайджана.",
            "border-delimitation",
        ),
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
        (
            "ru",
            "",
            "Трёхсторонняя рабочая группа вице-премьеров Армении и Азербайджана.",
            "transport-unblocking",
        ),
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
