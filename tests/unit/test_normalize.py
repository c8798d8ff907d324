"""pipeline.text.normalize: folding, the cross-script key, word spans, the search key."""

from __future__ import annotations

import pytest

from pipeline.text.normalize import fold, search_key, skeleton, tokens, word_key

# Spellings of one name in Latin, Cyrillic, Armenian and Azerbaijani Latin.
SAME_NAME = {
    "Zangezur": ["Зангезур", "Զանգեզուր", "Zəngəzur", "Zangezour", "ZANGEZUR", "Zangazur"],
    "Karabakh": ["Карабах", "Ղարաբաղ", "Qarabağ", "Qarabag", "KARABAKH"],
    "Syunik": ["Сюник", "Սյունիք"],
    "Meghri": ["Мегри", "Մեղրի", "Mehri"],
    "Lachin": ["Лачин", "Լաչին", "Laçın"],
    "Baku": ["Баку", "Բաքու"],
    "Yerevan": ["Ереван", "Երևան", "Երեւան"],
    "Azerbaijan": ["Азербайджан", "Azərbaycan"],
    "Aliyev": ["Алиев", "Əliyev", "Ալիև"],
    "Pashinyan": ["Пашинян", "Փաշինյան", "Paşinyan"],
    "Hajiyev": ["Гаджиев", "Hacıyev"],
    "Artsakh": ["Арцах", "Արցախ"],
    "Vorotan": ["Воротан", "Որոտան"],
}
# Vowel-shifted spellings: different keys, one skeleton (the matcher uses it for long names).
SAME_SKELETON = {"Nakhchivan": ["Нахичевань", "Նախիջևան", "Naxçıvan", "Nakhichevan"]}


def test_fold_unifies_compatibility_forms_case_accents_quotes_and_dashes() -> None:
    assert fold("«Zəngəzur» — “Ｋａｒａｂａｋｈ” ﬁnal İSTANBUL Café") == (
        '"zəngəzur" - "karabakh" final istanbul cafe'
    )
    assert fold("‘a’ ‐ b – c ― d − e") == "'a' - b - c - d - e"


def test_fold_splits_the_armenian_ligature_and_keeps_scripts() -> None:
    assert fold("Երևան") == "երեւան"
    assert fold("ԵՐԵՒԱՆ") == "երեւան"
    assert fold("Ёлка ЗАНГЕЗУР") == "елка зангезур"


@pytest.mark.parametrize("latin", sorted(SAME_NAME))
def test_one_name_has_one_key_in_every_script(latin: str) -> None:
    want = word_key(latin)
    for other in SAME_NAME[latin]:
        assert word_key(other) == want, other


def test_vowel_shifted_spellings_share_the_skeleton_not_the_key() -> None:
    key, skel = word_key("Nakhchivan")
    for other in SAME_SKELETON["Nakhchivan"]:
        assert word_key(other)[1] == skel, other
    assert word_key("Нахичевань")[0] != key


def test_short_words_keep_their_vowels_apart() -> None:
    keys = {word_key(w)[0] for w in ("Baku", "book", "bike", "bake", "Bakı")}
    assert len(keys) == 5


def test_skeleton_keeps_a_final_inflection_vowel_except_for_stems() -> None:
    assert word_key("Qarabağla")[1] != word_key("Qarabağlı")[1]
    assert skeleton("karabakla") == "krbkla"
    assert skeleton("karabakla", stem=True) == "krbkl"


def test_yo_and_ye_spellings_agree() -> None:
    assert word_key("трёхсторонней") == word_key("трехсторонней")


def test_tokens_carry_spans_into_the_original_string() -> None:
    text = "«Zangezur»-corridor, Bakuriani; Ինչո՞ւ Երևան"
    toks = tokens(text)
    words = [text[t.start : t.end] for t in toks]
    assert words == ["Zangezur", "corridor", "Bakuriani", "Ինչո՞ւ", "Երևան"]
    # The Armenian question mark sits inside the word and does not split or change it.
    assert toks[3].key == word_key("Ինչու")[0]


def test_tokens_skip_marks_without_letters() -> None:
    assert tokens("— ... ՛ ‒ ") == []


def test_search_key_is_a_prefix_across_scripts_and_cases() -> None:
    query = search_key("Zangezur")
    for text in ("Зангезурского коридора", "Zəngəzur dəhlizi", "Զանգեզուրի միջանցք"):
        assert search_key(text).split()[0].startswith(query), text
    assert search_key("Karabakh") == search_key("Карабах") == search_key("Qarabağ")


def test_search_key_is_ascii_words_separated_by_single_spaces() -> None:
    key = search_key("Ереван,  Баку — Yerevan!\n Baku")
    assert key == "aravan baku aravan baku"
    assert key.isascii()
