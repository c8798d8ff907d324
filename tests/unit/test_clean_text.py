"""Normalisation rules of pipeline.clean.text (our own sentences throughout)."""

from __future__ import annotations

import unicodedata

import pytest

from pipeline.clean.text import (
    armenian_share,
    fix_armenian_noise,
    fix_quotes,
    normalise_text,
    normalise_title,
    strip_dateline,
)


def test_nfc_and_whitespace() -> None:
    decomposed = unicodedata.normalize("NFD", "Zəngəzur  dəhlizi\u00a0və  Naxçıvan")
    out = normalise_text(f"  {decomposed} \t\n\n\n second\u200b line  \r\n")
    assert out == "Zəngəzur dəhlizi və Naxçıvan\nsecond line"
    assert unicodedata.is_normalized("NFC", out)


def test_repeated_title_lines_at_the_start_are_removed() -> None:
    title = "Border commissions meet again"
    text = f"{title}\n{title.upper()}.\nThe commissions met on Monday.\n{title}"
    # the last line repeats the title too, but is not at the start: kept
    assert normalise_text(text, title) == f"The commissions met on Monday.\n{title}"


def test_duplicated_first_line_without_title() -> None:
    text = "Talks resume in the capital\nTalks resume in the capital\nBody sentence here."
    assert normalise_text(text) == "Talks resume in the capital\nBody sentence here."


@pytest.mark.parametrize(
    "line",
    [
        "Source link",
        "Read more",
        "Читайте также",
        "Կարդացեք նաև",
        "Həmçinin oxuyun:",
        "Share this:",
    ],
)
def test_boilerplate_lines_are_removed(line: str) -> None:
    assert normalise_text(f"The statement was issued.\n{line}\nIt was short.") == (
        "The statement was issued.\nIt was short."
    )


@pytest.mark.parametrize(
    "line",
    [
        "Read more: Ministers meet in the capital",
        "Читайте также: Министры встретились в столице",
        "READ ALSO > Talks on the draft treaty",
    ],
)
def test_inserted_cross_link_lines_are_removed(line: str) -> None:
    assert normalise_text(f"First paragraph.\n{line}\nSecond paragraph.") == (
        "First paragraph.\nSecond paragraph."
    )


def test_boilerplate_words_inside_sentences_are_kept() -> None:
    text = "Read more about the treaty in the full statement, the spokesman said."
    assert normalise_text(text) == text
    assert normalise_text("Source link details were not disclosed by the ministry.") == (
        "Source link details were not disclosed by the ministry."
    )


def test_glued_source_link_at_the_end_is_removed() -> None:
    assert normalise_text("It has nothing to do with facts.Source link") == (
        "It has nothing to do with facts."
    )


def test_armenian_and_and_full_stop_in_english_are_replaced() -> None:
    noisy = "They respect Baku և Yerevan ․ The talks go on։ Soon."
    assert fix_armenian_noise(noisy) == "They respect Baku  and  Yerevan. The talks go on. Soon."
    assert normalise_text(noisy) == "They respect Baku and Yerevan. The talks go on. Soon."


def test_glued_armenian_and_between_latin_words() -> None:
    assert normalise_text("the sovereigntyևjurisdiction of states") == (
        "the sovereignty and jurisdiction of states"
    )


def test_armenian_and_in_russian_sentence_becomes_i() -> None:
    assert normalise_text("Москва և Баку договорились") == "Москва и Баку договорились"


def test_real_armenian_text_is_untouched() -> None:
    text = "Երևանում և Բաքվում նաև քննարկվել է հարցը։ Հաջորդ փուլը՝ 2026 թ․ աշնանը։"
    assert armenian_share(text) > 0.9
    assert normalise_text(text) == text


def test_armenian_words_quoted_in_english_keep_their_letter() -> None:
    text = "The minister visited Երևան and the Syunik region."
    assert normalise_text(text) == text


def test_noisy_repost_quotes_are_unified_and_attached() -> None:
    noisy = "They called it ” a good sign for the region ” .Source link"
    # no Armenian noise in this line: quotes are left as written
    assert normalise_text(noisy) == "They called it ” a good sign for the region ” ."
    noisy = "Baku և Yerevan called it ” a good sign for the region ” ."
    assert normalise_text(noisy) == 'Baku and Yerevan called it "a good sign for the region".'


def test_leftover_entities_and_typewriter_quotes() -> None:
    assert fix_quotes("the &quot;Zangezur corridor&quot; and ``TRIPP''") == (
        'the "Zangezur corridor" and "TRIPP"'
    )
    assert fix_quotes("&laquo;Зангезурский коридор&raquo;") == "«Зангезурский коридор»"
    assert fix_quotes("R&D costs") == "R&D costs"


def test_regular_quotes_in_clean_text_are_kept() -> None:
    text = "„Wir sind bereit“, sagte er. «Мы готовы», — заявил он. “Ready,” he said."
    assert normalise_text(text) == text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("МОСКВА, 3 сентября. /ТАСС/. Россия готова помочь.", "Россия готова помочь."),
        ("MOSCOW, September 3. /TASS/. Russia is ready to help.", "Russia is ready to help."),
        ("Москва и Ереван договорились.", "Москва и Ереван договорились."),
        ("МОСКВА, 3 сентября. /ТАСС/.", "МОСКВА, 3 сентября. /ТАСС/."),
    ],
)
def test_wire_dateline(line: str, expected: str) -> None:
    assert strip_dateline(line) == expected


def test_date_only_lines_at_the_edges_are_dropped() -> None:
    text = "14 noyabr 2025 16:23\nBirinci cümlə.\nİkinci cümlə.\n5 նոյեմբերի 2026"
    assert normalise_text(text) == "Birinci cümlə.\nİkinci cümlə."
    # a sentence that mentions a date is content
    assert normalise_text("The statement of 9 November 2020 is in force.") == (
        "The statement of 9 November 2020 is in force."
    )


def test_title_normalisation() -> None:
    assert normalise_title("  Baku և Yerevan  agree\n on maps ") == "Baku and Yerevan agree on maps"
    assert normalise_title(None) == ""
    assert normalise_title("Երևան․ հանդիպում") == "Երևան․ հանդիպում"
