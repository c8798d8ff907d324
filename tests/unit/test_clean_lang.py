"""Language detection: declarations checked against the script, en/ru/hy/az reliable."""

from __future__ import annotations

import pytest

from pipeline.clean import parse_page
from pipeline.clean.lang import declared_language, detect_language, normalise_code, script_counts

EN = (
    "The foreign ministers agreed to instruct their working groups to continue "
    "consultations on the remaining articles of the draft peace treaty next month."
)
RU = (
    "Министры иностранных дел договорились поручить рабочим группам продолжить "
    "консультации по оставшимся статьям проекта мирного договора в следующем месяце."
)
HY = (
    "Արտաքին գործերի նախարարները պայմանավորվել են հանձնարարել աշխատանքային "
    "խմբերին շարունակել խորհրդակցությունները խաղաղության պայմանագրի նախագծի շուրջ։"
)
AZ = (
    "Xarici işlər nazirləri işçi qruplarına sülh sazişi layihəsinin qalan maddələri "
    "üzrə məsləhətləşmələri gələn ay davam etdirməyi tapşırmağa razılaşıblar."
)
TR = (
    "Dışişleri bakanları çalışma gruplarına barış anlaşması taslağının kalan maddeleri "
    "üzerindeki istişarelere gelecek ay devam etmeleri talimatını vermeyi kabul etti."
)


@pytest.mark.parametrize(
    ("text", "code"), [(EN, "en"), (RU, "ru"), (HY, "hy"), (AZ, "az"), (TR, "tr")]
)
def test_detection_without_declaration(text: str, code: str) -> None:
    assert detect_language(text) == code


@pytest.mark.parametrize("declared", ["hy", "ru", "az", "de"])
def test_english_text_beats_a_wrong_declaration(declared: str) -> None:
    assert detect_language(EN, declared) == "en"


def test_russian_text_under_an_english_template() -> None:
    assert detect_language(RU, "en") == "ru"


def test_fitting_declaration_is_kept() -> None:
    # Cyrillic text declared Ukrainian-script-compatible: the declaration is trusted
    assert detect_language(RU, "ru") == "ru"
    assert detect_language(HY, "am") == "hy"  # "am" (Amharic) is a common mistake for Armenia


def test_english_mentioning_azerbaijani_names_is_still_english() -> None:
    text = EN + " The talks took place in Bakı and the Zəngəzur region was mentioned."
    assert detect_language(text) == "en"


def test_no_letters() -> None:
    assert detect_language("2026 — 11 — 05", "en") == "en"
    assert detect_language("12345") is None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("en-US", "en"),
        ("ru_RU", "ru"),
        ("hye", "hy"),
        ("AZ", "az"),
        ("x-klingon", None),
        ("", None),
    ],
)
def test_normalise_code(raw: str, code: str | None) -> None:
    assert normalise_code(raw) == code


def test_declared_language_sources() -> None:
    html = (
        '<html lang="hy-AM"><head><meta property="og:locale" content="ru_RU"></head>'
        "<body><p>x</p></body></html>"
    )
    assert declared_language(parse_page(html, None)) == "hy"
    html = (
        '<html><head><meta property="og:locale" content="az_AZ"></head><body><p>x</p></body></html>'
    )
    assert declared_language(parse_page(html, None)) == "az"
    html = "<html><head></head><body><p>x</p><p>y</p></body></html>"
    assert declared_language(parse_page(html, None)) is None


def test_script_counts() -> None:
    counts = script_counts("Baku Բաքու Баку")
    assert counts == {"latin": 4, "armenian": 5, "cyrillic": 4}
