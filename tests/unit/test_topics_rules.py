"""New rule kinds (sentence, context, substantive), `topics evaluate` and `topics judge`.

Texts are our own, in en, ru, hy and az.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import _register, app
from pipeline.errors import InputError
from pipeline.store.db import session_scope
from pipeline.store.models import Cluster, Document
from pipeline.topics import Matcher, TopicsFile

_register()
runner = CliRunner()

RULES = {
    "sets": {
        "sides": {"en": ["Armenia*", "Azerbaijan*"], "ru": ["Армени*", "Азербайджан*"],
                  "hy": ["Հայաստան*", "Ադրբեջան*"], "az": ["Ermənistan*", "Azərbaycan*"]},
    },
    "topics": [
        {"id": "pact", "name": "Pact", "description": "A peace treaty between the sides.",
         "substantive": True,
         "all": [
             {"terms": {"en": ["peace treaty"], "ru": ["мирн* договор*"],
                        "hy": ["խաղաղության պայմանագ*"], "az": ["sülh müqavilə*"]}},
             {"terms": "sides", "context": True},
         ]},
        {"id": "border", "name": "Border", "description": "Border and both sides, one sentence.",
         "any": [{"sentence": [
             {"terms": {"en": ["border"], "ru": ["границ*"], "hy": ["սահման(|ի|ին)"],
                        "az": ["sərhəd*"]}},
             {"terms": {"en": ["Armenia*"], "ru": ["Армени*"], "hy": ["Հայաստան*"],
                        "az": ["Ermənistan*"]}},
             {"terms": {"en": ["Azerbaijan*"], "ru": ["Азербайджан*"], "hy": ["Ադրբեջան*"],
                        "az": ["Azərbaycan*"]}},
             {"none": [{"terms": {"en": ["Georgia"], "ru": ["Грузи*"]}}]},
         ]}]},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def rules() -> Matcher:
    """The test rules compiled."""
    return Matcher(TopicsFile.model_validate(RULES))


FILLER = {
    "en": "The ministry also reported on the harvest and on school repairs in the north.",
    "ru": "Министерство также сообщило об урожае и о ремонте школ на севере.",
    "hy": "Նախարարությունը նաև տեղեկացրել է բերքահավաքի և դպրոցների վերանորոգման մասին։",
    "az": "Nazirlik həmçinin məhsul yığımı və məktəblərin təmiri barədə məlumat verib.",
}
PASSING = {
    "en": "Among other things, he recalled the peace treaty with Armenia.",
    "ru": "Среди прочего он вспомнил о мирном договоре с Арменией.",
    "hy": "Ի թիվս այլնի, նա հիշեց Հայաստանի հետ խաղաղության պայմանագիրը։",
    "az": "Digər məsələlərlə yanaşı, o, Ermənistanla sülh müqaviləsini xatırladı.",
}


@pytest.mark.parametrize("lang", ["en", "ru", "hy", "az"])
def test_one_mention_deep_in_an_unrelated_text_is_passing(rules: Matcher, lang: str) -> None:
    text = " ".join([FILLER[lang]] * 6 + [PASSING[lang]] + [FILLER[lang]] * 2)
    assert rules.match("Harvest news", text, language=lang) == []


@pytest.mark.parametrize("lang", ["en", "ru", "hy", "az"])
def test_the_same_mention_in_the_lead_or_twice_is_substantive(rules: Matcher, lang: str) -> None:
    lead = " ".join([PASSING[lang]] + [FILLER[lang]] * 6)
    assert [m.topic for m in rules.match("News", lead, language=lang)] == ["pact"]
    twice = " ".join([FILLER[lang]] * 6 + [PASSING[lang], FILLER[lang], PASSING[lang]])
    found = rules.match("News", twice, language=lang)
    assert [m.topic for m in found] == ["pact"]
    assert 1 <= len(found[0].passages) <= 3
    assert all(PASSING[lang].rstrip(".։") in p.text for p in found[0].passages)


def test_context_words_alone_do_not_make_a_mention_substantive(rules: Matcher) -> None:
    # "Armenia" in the title is context: the treaty itself is still one deep mention.
    text = " ".join([FILLER["en"]] * 6 + [PASSING["en"]])
    assert rules.match("Armenia's harvest", text, language="en") == []


def test_a_numbered_list_item_is_passing_even_with_two_terms(rules: Matcher) -> None:
    item = "Signed the peace treaty with Armenia, a peace treaty years in the making."
    text = "\n".join([FILLER["en"]] * 6 + ["1. Built roads.", f"2. {item}", "3. Opened schools."])
    assert rules.match("A year in office", text, language="en") == []
    # the same sentence as prose: two mentions of the treaty, a sentence with content
    prose = "\n".join([FILLER["en"]] * 6 + [f"He said he had {item.lower()}"])
    assert [m.topic for m in rules.match("A year", prose, language="en")] == ["pact"]


@pytest.mark.parametrize(
    ("lang", "one", "split"),
    [
        ("en", "Shooting was reported on the border of Armenia and Azerbaijan.",
         "Armenia held elections. Azerbaijan opened a border crossing with Iran."),
        ("ru", "На границе Армении и Азербайджана была слышна стрельба.",
         "В Армении прошли выборы. Азербайджан открыл пункт на границе с Ираном."),
        ("hy", "Հայաստանի և Ադրբեջանի սահմանին կրակոցներ են լսվել։",
         "Հայաստանում ընտրություններ են եղել։ Ադրբեջանը բացել է Իրանի սահմանին անցակետ։"),
        ("az", "Ermənistan və Azərbaycan sərhədində atəş səsləri eşidilib.",
         "Ermənistanda seçki keçirilib. Azərbaycan İranla sərhəddə keçid açıb."),
    ],
)  # fmt: skip
def test_sentence_needs_every_condition_in_one_sentence(
    rules: Matcher, lang: str, one: str, split: str
) -> None:
    found = rules.match("", one, language=lang)
    assert [m.topic for m in found] == ["border"]
    assert found[0].passages[0].text == one
    assert len(found[0].terms) == 3
    assert rules.match("", split, language=lang) == []


def test_none_inside_a_sentence_excludes_only_that_sentence(rules: Matcher) -> None:
    other = "Armenia, Azerbaijan and Georgia discussed the border regime."
    assert rules.match("", other, language="en") == []
    both = other + " Later, fire was reported on the border between Armenia and Azerbaijan."
    assert [m.topic for m in rules.match("", both, language="en")] == ["border"]


def _topics_file(tmp_path: Path) -> Path:
    """RULES as a topics.yaml."""
    path = tmp_path / "topics.yaml"
    path.write_text(json.dumps(RULES, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    return path


def _labels(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    """Rows as a JSON-lines labels file."""
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


LABELLED = [
    {"id": "a", "language": "ru", "title": "Мирный договор с Арменией", "text": "Текст.",
     "topics": ["pact"], "why": "extra fields are ignored"},
    {"id": "b", "language": "en", "title": "Harvest", "text": PASSING["en"], "topics": []},
    {"id": "c", "language": "hy", "title": "Լուրեր", "text": FILLER["hy"], "topics": ["pact"]},
]  # fmt: skip


def test_evaluate_prints_scores_misses_and_false_alerts(tmp_path: Path) -> None:
    labels = _labels(tmp_path, LABELLED)
    result = runner.invoke(
        app,
        ["topics", "evaluate", "--labels", str(labels), "--topic", "pact",
         "--topics", str(_topics_file(tmp_path))],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "per topic" in out and "per language" in out
    # a: hit; b: the lead mention is a false alert; c: a miss
    assert "false alert pact · b (en)" in out
    assert "terms: peace treaty, Armenia*" in out
    assert "miss pact · c (hy)" in out
    assert "all languages: precision 0.50, recall 0.50" in out


def test_evaluate_names_the_line_of_an_unknown_topic(tmp_path: Path) -> None:
    labels = _labels(
        tmp_path,
        [
            LABELLED[0],
            {"id": "x", "title": "", "text": "", "topics": []},
            {"id": "y", "title": "", "text": "", "topics": ["pakt"]},
        ],
    )
    result = runner.invoke(
        app,
        ["topics", "evaluate", "--labels", str(labels), "--topics", str(_topics_file(tmp_path))],
    )
    assert isinstance(result.exception, InputError)
    assert f"{labels}:3: unknown topic 'pakt'" in str(result.exception)


def _doc(n: int, title: str, text: str) -> Document:
    """A stored Russian document."""
    url = f"https://example.org/{n}"
    return Document(url=url, url_hash=f"u{n}", canonical_url=url, title=title, text=text,
                    language="ru", content_hash=f"h{n}", extraction_method="test")  # fmt: skip


def test_judge_then_evaluate_stored_and_test_shows_flips(db_url: str, tmp_path: Path) -> None:
    topics = str(_topics_file(tmp_path))
    with session_scope() as session:
        doc = _doc(1, "Мирный договор с Арменией", "Стороны обсудили текст.")
        other = _doc(2, "Урожай", FILLER["ru"])
        session.add_all([doc, other])
        session.flush()
        stories = [Cluster(origin_document_id=doc.id), Cluster(origin_document_id=other.id)]
        session.add_all(stories)
        session.flush()
        ids = [c.id for c in stories]
    for story, flag in ((ids[0], "--relevant"), (ids[1], "--relevant")):
        result = runner.invoke(app, ["topics", "judge", str(story), "pact", flag, "--note", "n",
                                     "--topics", topics])  # fmt: skip
        assert result.exit_code == 0, result.output
    bad = runner.invoke(app, ["topics", "judge", str(ids[0]), "nope", "--relevant",
                              "--topics", topics])  # fmt: skip
    assert isinstance(bad.exception, InputError)
    assert "unknown topic 'nope'" in str(bad.exception)
    result = runner.invoke(app, ["topics", "evaluate", "--stored", "--topics", topics])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "all languages: precision 1.00, recall 0.50" in out
    assert f"miss pact · story {ids[1]}" in out
    result = runner.invoke(app, ["topics", "test", "pact", "--topics", topics])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "1 judged examples this definition gets wrong" in out
    assert f"story {ids[1]} (doc " in out and "judged relevant, not matched" in out
