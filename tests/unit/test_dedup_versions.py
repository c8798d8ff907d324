"""Versions of one statement fold into one story; different statements stay apart.

Our own texts (tests/fixtures/dedup/versions.yaml), through the ``newsmon dedup`` contract.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.config.sources import load_sources
from pipeline.dedup import attribution, crosslang, parse_lines, run_batch

FIXTURE = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "fixtures" / "dedup" / "versions.yaml").read_text(
        encoding="utf-8"
    )
)
STATEMENT: dict[str, dict[str, str]] = FIXTURE["statement"]


def _line(doc_id: str, doc: dict[str, Any], language: str | None = None) -> str:
    row = {
        "id": doc_id,
        "title": doc["title"],
        "text": doc["text"],
        "published": doc["published"],
        "source": doc["source"],
        "language": language or doc["language"],
    }
    return json.dumps(row, ensure_ascii=False)


def _clusters(lines: list[str]) -> dict[str, str]:
    return {row["id"]: row["cluster"] for row in run_batch(parse_lines(lines))}


def _statement(*languages: str) -> list[str]:
    return [_line(f"mfa-{lang}", STATEMENT[lang], lang) for lang in languages]


def test_statement_in_four_languages_and_an_agency_rereport_are_one_story() -> None:
    lines = _statement("en", "hy", "ru", "az")
    lines.append(_line("tass", FIXTURE["rereport"]))
    clusters = _clusters(lines)
    assert set(clusters.values()) == {"mfa-en"}, clusters


# Only other languages: a retelling in the statement's own language is judged on its words,
# and the agency's own wording is not a copy (see README, Deduplication).
@pytest.mark.parametrize("first", ["hy", "az", "en"])
def test_a_rereport_joins_whichever_version_arrived_first(first: str) -> None:
    clusters = _clusters([*_statement(first), _line("tass", FIXTURE["rereport"])])
    assert clusters["tass"] == clusters[f"mfa-{first}"]


def _stories(clusters: dict[str, str]) -> set[frozenset[str]]:
    """The stories as sets of ids (cluster names depend on which document came first)."""
    groups: dict[str, set[str]] = {}
    for doc_id, cluster in clusters.items():
        groups.setdefault(cluster, set()).add(doc_id)
    return {frozenset(group) for group in groups.values()}


def test_the_stories_are_the_same_whatever_order_the_pages_arrive_in() -> None:
    # A crawl on several workers records pages in a different order every day. The agency's
    # English report meets the ministry's statement only through the agency's Azerbaijani
    # one: when both are stored first, in stories of their own, the Azerbaijani report is a
    # version of each, and the two stories fold.
    lines = [
        _line("mfa", ATTRIBUTED["statement"]),
        _line("apa-az", ATTRIBUTED["rereport"]),
        _line("apa-en", ATTRIBUTED["rereport_en"]),
        _line("detainees", FIXTURE["same_day"]),
        _line("call-27", FIXTURE["readouts"][0]),
        _line("call-29", FIXTURE["readouts"][1]),
    ]
    expected = {
        frozenset({"mfa", "apa-az", "apa-en"}),
        frozenset({"detainees"}),
        frozenset({"call-27"}),
        frozenset({"call-29"}),
    }
    for order in itertools.permutations(lines[:3]):
        arrived = [json.loads(line)["id"] for line in order]
        assert _stories(_clusters([*order, *lines[3:]])) == expected, arrived
    assert _stories(_clusters(lines[::-1])) == expected


def test_another_statement_of_the_same_ministry_on_the_same_day_stays_apart() -> None:
    clusters = _clusters([*_statement("en", "ru"), _line("detainees", FIXTURE["same_day"])])
    assert clusters["mfa-ru"] == clusters["mfa-en"]
    assert clusters["detainees"] == "detainees"


def test_readouts_of_two_calls_between_the_same_leaders_stay_apart() -> None:
    first, second = FIXTURE["readouts"]
    clusters = _clusters([_line("call-27", first), _line("call-29", second)])
    assert clusters == {"call-27": "call-27", "call-29": "call-29"}
    # The same second call also in English (the Kremlin's two versions) joins its own day.
    english = {**second, "title": "Telephone conversation with Nikol Pashinyan", "language": "en"}
    english["text"] = (
        "Vladimir Putin had a telephone conversation with Prime Minister of Armenia Nikol "
        "Pashinyan on 29 September.\n\nThey discussed the operation of the railway through "
        "Georgia and the coming visit of an Armenian delegation to Kazan for the digital "
        "economy forum.\n\nThey agreed to continue contacts."
    )
    clusters = _clusters(
        [_line("call-27", first), _line("call-29", second), _line("call-29-en", english)]
    )
    assert clusters["call-29-en"] == "call-29" != clusters["call-27"]


def test_a_copy_in_outlet_boilerplate_joins_and_a_rebuttal_quoting_it_stays_apart() -> None:
    en = STATEMENT["en"]
    furniture = FIXTURE["boilerplate"]
    body = en["text"].strip().split("\n\n")
    copy = {
        **en,
        "title": "Armenia and Azerbaijan agree 12.7 km of border",
        "source": "Regional Post",
        "published": "2026-03-14T13:00:00Z",
        "text": "\n\n".join([furniture[0], furniture[1], *body, *furniture[2:]]),
    }
    clusters = _clusters(
        [
            *_statement("en"),
            _line("copy", copy, "en"),
            _line("rebuttal", FIXTURE["rebuttal"]),
        ]
    )
    assert clusters["copy"] == "mfa-en"
    assert clusters["rebuttal"] == "rebuttal"


def test_the_evidence_of_the_versions_agrees_across_scripts() -> None:
    found = {lang: crosslang.evidence(doc["title"], doc["text"]) for lang, doc in STATEMENT.items()}
    for lang in ("ru", "hy", "az"):
        assert crosslang.related(found["en"], found[lang]) is not None, lang
        assert {"t:14-3", "t:2-4", "d:12.7"} <= found[lang].features, lang


ATTRIBUTED = FIXTURE["attributed"]
PUBLISHER = FIXTURE["publisher"]


def test_a_rereport_naming_the_ministry_as_its_source_joins_its_statement() -> None:
    statement, rereport = ATTRIBUTED["statement"], ATTRIBUTED["rereport"]
    # Apart from the subjects the two share one distinctive name: not enough on its own.
    alone = crosslang.related(
        crosslang.evidence(statement["title"], statement["text"]),
        crosslang.evidence(rereport["title"], rereport["text"]),
    )
    assert alone is None
    clusters = _clusters([_line("mfa", statement), _line("apa", rereport)])
    assert clusters["apa"] == "mfa"


def _retold(**changes: str) -> dict[str, str]:
    """The agency's re-report with some fields changed."""
    return {**ATTRIBUTED["rereport"], **changes}


@pytest.mark.parametrize(
    "rereport",
    [
        # It names another ministry as its source.
        _retold(
            title=ATTRIBUTED["rereport"]["title"].replace("Rusiya", "Ermənistan"),
            text=ATTRIBUTED["rereport"]["text"].replace("Rusiya", "Ermənistan"),
        ),
        _retold(published="2026-05-21T18:00:00Z"),  # more than a day after the statement
        _retold(published="2026-05-20T05:00:00Z"),  # before the statement came out
    ],
    ids=["another-source", "a-day-and-more-later", "before-the-statement"],
)
def test_a_rereport_whose_source_or_time_does_not_fit_stays_apart(
    rereport: dict[str, str],
) -> None:
    clusters = _clusters([_line("mfa", ATTRIBUTED["statement"]), _line("apa", rereport)])
    assert clusters["apa"] == "apa"


def test_one_publishers_language_versions_of_a_readout_are_one_story() -> None:
    # Every name the two share is an everyday one (Putin, Aliyev, Azerbaijan).
    clusters = _clusters([_line("en", PUBLISHER["en"]), _line("ru", PUBLISHER["ru"])])
    assert clusters == {"en": "en", "ru": "en"}


@pytest.mark.parametrize(
    "ru",
    [
        {**PUBLISHER["ru"], "source": "ТАСС"},  # another publisher: no tie
        {**PUBLISHER["ru"], "published": "2026-06-03T22:25:00Z"},  # eight hours later
    ],
    ids=["another-publisher", "hours-apart"],
)
def test_readouts_without_the_publishers_tie_stay_apart(ru: dict[str, str]) -> None:
    clusters = _clusters([_line("en", PUBLISHER["en"]), _line("ru", ru)])
    assert clusters == {"en": "en", "ru": "ru"}


def test_the_same_days_readout_of_a_call_with_another_leader_stays_apart() -> None:
    clusters = _clusters(
        [
            _line("en", PUBLISHER["en"]),
            _line("ru", PUBLISHER["ru"]),
            _line("other", PUBLISHER["other_call"]),
        ]
    )
    assert clusters == {"en": "en", "ru": "en", "other": "other"}


@pytest.mark.parametrize(
    ("text", "organisations"),
    [
        ("The Russian Foreign Ministry said on Tuesday", {"mfa-ru"}),
        ("Russia's MFA issued a statement", {"mfa-ru"}),
        ("как заявили в МИДе России", {"mfa-ru"}),
        ("Министерство иностранных дел Российской Федерации", {"mfa-ru"}),
        ("ՌԴ ԱԳՆ-ն հայտարարություն է տարածել", {"mfa-ru"}),
        ("Rusiya XİN bəyanat yayıb", {"mfa-ru"}),
        ("Rusiya XIN-in bəyanatı", {"mfa-ru"}),
        ("Ermənistan Xarici İşlər Nazirliyi bildirib", {"mfa-am"}),
        ("Ministry of Foreign Affairs of the Republic of Azerbaijan", {"mfa-az"}),
        ("the Kremlin press service reported, TASS says", {"president-ru", "tass"}),
        ("ՀՀ կառավարությունը հաստատեց", {"government-am"}),
        # Not a source: a bare "Foreign Ministry", a president, a word that starts like an acronym.
        ("The Foreign Ministry statement", set()),
        ("Russian President Vladimir Putin said", set()),
        ("мидии и устрицы", set()),
    ],
)
def test_the_organisations_a_text_names(text: str, organisations: set[str]) -> None:
    assert attribution.named(text) == organisations


def test_a_publishers_organisation_is_its_key_else_its_name() -> None:
    assert attribution.organisation("mfa-ru", "anything", "mid-ru") == "mfa-ru"
    assert attribution.organisation(None, "President of Russia (Kremlin)", "kremlin") == (
        "president-ru"
    )
    assert attribution.organisation(None, None, "МИД Армении") == "mfa-am"
    assert attribution.organisation(None, None, "Regional Post") is None


def test_the_shipped_sources_name_organisations_of_the_table() -> None:
    shipped = load_sources(Path(__file__).resolve().parents[2] / "seeds" / "sources.yaml")
    for source in shipped.sources:
        assert source.organisation in attribution.ORGANISATIONS, source.name
        # The label names the same organisation, or none of the table.
        assert attribution.organisation(None, source.label, source.name) in {
            source.organisation,
            None,
        }, source.name
