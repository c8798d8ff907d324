"""Versions of one statement fold into one story; different statements stay apart.

Our own texts (tests/fixtures/dedup/versions.yaml), through the ``newsmon dedup`` contract.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.dedup import crosslang, parse_lines, run_batch

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
