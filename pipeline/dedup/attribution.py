"""Who speaks: the organisations a text names as its source, and the organisation of a publisher.

A re-report names the statement it retells ("the Russian Foreign Ministry said", "ՌԴ ԱԳՆ-ն
հայտարարություն է տարածել", "Rusiya XİN bəyanat yayıb"), so "which organisation is named" is
evidence that outlives translation: a text that names organisation S, published within a day
of a document published *by* S, probably retells it. The same table tells which organisation
a source row is (by its ``organisation`` key, else by its label or name), so that one
publisher's language sites and the ``newsmon dedup`` contract's free-text source names ("MFA
Armenia", "МИД Армении", "ՀՀ ԱԳՆ") meet as one publisher.

The table is ours: the region's foreign and defence ministries, presidencies, governments and
news agencies, in en/ru/hy/az. Each name is a sequence of word stems: a stem of four letters
or more matches the start of a word (case endings), a shorter one (МИД, XİN, ԱԳՆ) the whole
word. Connecting words (of, the, Republic, Federation) are skipped on both sides, so "Ministry
of Foreign Affairs of the Russian Federation" is the name "ministry foreign affairs russia".
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# Organisation id -> its names (stems, space-separated), en / ru / hy / az.
ORGANISATIONS: dict[str, tuple[str, ...]] = {
    "mfa-ru": (
        "russia foreign ministry",
        "russia mfa",
        "mfa russia",
        "russia ministry foreign affairs",
        "ministry foreign affairs russia",
        "foreign ministry russia",
        "мид россии",
        "мид рф",
        "российск мид",
        "мид российск",
        "министерств иностранных дел россии",
        "министерств иностранных дел рф",
        "министерств иностранных дел российск",
        "ռդ ագն",
        "ռուսաստանի ագն",
        "ռուսաստանի արտաքին գործերի նախարարութ",
        "ռդ արտաքին գործերի նախարարութ",
        "ռուսաստանի դաշնության արտաքին գործերի նախարարութ",
        "ռուսաստանի արտգործնախարարութ",
        "rusiya xin",
        "rusiya xarici işlər nazirliy",
        "rusiya federasiyas xarici işlər nazirliy",
    ),
    "president-ru": (
        "kremlin",
        "кремл",
        "пресс служб президента россии",
        "կրեմլ",
        "kreml",
    ),
    "government-ru": (
        "government russia",
        "russia government",
        "правительств россии",
        "правительств рф",
        "ռուսաստանի կառավարութ",
        "rusiya hökumət",
    ),
    "mfa-am": (
        "armenia foreign ministry",
        "armenia mfa",
        "mfa armenia",
        "ministry foreign affairs armenia",
        "armenia ministry foreign affairs",
        "foreign ministry armenia",
        "мид армении",
        "армянск мид",
        "министерств иностранных дел армении",
        "հհ ագն",
        "հայաստանի ագն",
        "հայաստանի արտաքին գործերի նախարարութ",
        "հհ արտաքին գործերի նախարարութ",
        "ermənistan xin",
        "ermənistan xarici işlər nazirliy",
    ),
    "mfa-az": (
        "azerbaijan foreign ministry",
        "azerbaijan mfa",
        "mfa azerbaijan",
        "ministry foreign affairs azerbaijan",
        "azerbaijan ministry foreign affairs",
        "foreign ministry azerbaijan",
        "мид азербайджан",
        "азербайджанск мид",
        "министерств иностранных дел азербайджан",
        "ադրբեջանի ագն",
        "ադրբեջանի արտաքին գործերի նախարարութ",
        "ադրբեջանի արտգործնախարարութ",
        "azərbaycan xin",
        "azərbaycan xarici işlər nazirliy",
    ),
    "mod-am": (
        "armenia ministry defence",
        "armenia ministry defense",
        "ministry defence armenia",
        "ministry defense armenia",
        "armenia defence ministry",
        "armenia defense ministry",
        "минобороны армении",
        "министерств обороны армении",
        "հհ պն",
        "հայաստանի պաշտպանության նախարարութ",
        "հհ պաշտպանության նախարարութ",
        "ermənistan müdafiə nazirliy",
    ),
    "mod-az": (
        "azerbaijan ministry defence",
        "azerbaijan ministry defense",
        "ministry defence azerbaijan",
        "ministry defense azerbaijan",
        "azerbaijan defence ministry",
        "azerbaijan defense ministry",
        "минобороны азербайджан",
        "министерств обороны азербайджан",
        "ադրբեջանի պաշտպանության նախարարութ",
        "ադրբեջանի պն",
        "azərbaycan müdafiə nazirliy",
    ),
    "government-am": (
        "government armenia",
        "armenia government",
        "office prime minister armenia",
        "правительств армении",
        "аппарат премьер министра армении",
        "հհ կառավարութ",
        "հայաստանի կառավարութ",
        "հհ վարչապետի աշխատակազմ",
        "ermənistan hökumət",
    ),
    "president-am": (
        "office president armenia",
        "аппарат президента армении",
        "հհ նախագահի աշխատակազմ",
    ),
    "president-az": (
        "office president azerbaijan",
        "presidential administration azerbaijan",
        "администрац президента азербайджан",
        "azərbaycan prezidentinin administrasiya",
    ),
    "government-az": (
        "government azerbaijan",
        "cabinet ministers azerbaijan",
        "кабинет министров азербайджан",
        "правительств азербайджан",
        "ադրբեջանի կառավարութ",
        "nazirlər kabinet",
    ),
    "tass": ("tass", "тасс", "տասս"),
    "ria": ("ria novosti", "риа новости", "ռիա նովոստի"),
    "interfax": ("interfax", "интерфакс", "ինտերֆաքս"),
    "armenpress": ("armenpress", "арменпресс", "արմենպրես"),
    "news-am": ("news am",),
    "apa": ("apa", "апа"),
    "azertag": ("azertag", "азертадж", "ազերթաջ", "azərtac"),
    "report-az": ("report az",),
}

# Connecting words skipped on both sides: "Ministry of Foreign Affairs of the Republic of
# Armenia" and "Armenia's MFA" are read as "ministry foreign affairs armenia", "armenia mfa".
_SKIP = frozenset("of the s and".split())
_SKIP_STEMS = ("republic", "федерац", "республик", "դաշնութ", "հանրապետութ", "respublika")
_TOKEN = re.compile(r"\w+")
# Stems of at most this many letters must be whole words (МИД, XİN, ԱԳՆ, APA).
_WHOLE_WORD = 3
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_RU_ENDINGS = frozenset(("а", "у", "е", "ом"))
# Names are looked up by the first letters of their first word.
_KEY = 2


# Casefolded "İ" keeps its dot as a combining mark (XİN -> xi̇n): dropped, so XİN = XIN; the
# apostrophe goes so that "Russia's" reads as one word.
_FOLD = str.maketrans({"\u0307": None, "ё": "е", "'": None, "\u2019": None})


def _fold(text: str) -> str:
    """NFKC, casefold, the dot of İ dropped, ё read as е, apostrophes removed."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)


def _tokens(text: str) -> list[str]:
    """Folded words without the connecting words."""
    return [
        t for t in _TOKEN.findall(_fold(text)) if t not in _SKIP and not t.startswith(_SKIP_STEMS)
    ]


def _fits(stem: str, token: str) -> bool:
    """Whether a word is the stem: its start, or (short stems) the whole word."""
    if len(stem) > _WHOLE_WORD:
        return token.startswith(stem)
    if token == stem:
        return True
    # Russian declines acronyms: МИДа, МИДом.
    ending = token[len(stem) :]
    return token.startswith(stem) and ending in _RU_ENDINGS and _CYRILLIC.match(stem) is not None


@cache
def _index() -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """Every name by the first two letters of its first stem: one dict probe per word."""
    index: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for org, table in ORGANISATIONS.items():
        for name in table:
            stems = tuple(_tokens(name))
            index.setdefault(stems[0][:_KEY], []).append((org, stems))
    return index


def named(text: str) -> frozenset[str]:
    """The organisations the text names (by any of their names in the table)."""
    index = _index()
    tokens = _tokens(text)
    found = set()
    for i, token in enumerate(tokens):
        for org, stems in index.get(token[:_KEY], ()):
            window = tokens[i : i + len(stems)]
            if len(window) == len(stems) and all(map(_fits, stems, window)):
                found.add(org)
    return frozenset(found)


def organisation(key: str | None, *names: str | None) -> str | None:
    """A publisher's organisation: its ``organisation`` key, else the one its names name alone.

    ``names`` are the source's label and name; a name that names no organisation of the table,
    or more than one, says nothing (None), and the caller falls back to the source itself.
    """
    if key:
        return key
    for name in names:
        if name:
            orgs = named(name)
            if len(orgs) == 1:
                return next(iter(orgs))
    return None
