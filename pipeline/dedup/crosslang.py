"""Cross-language linking: a translation or a re-report joins the story of its source.

Shingles cannot meet across scripts, so versions of one statement in other languages are
linked on language-independent evidence, as the Europe Media Monitor links its
per-language clusters:

- *names*: capitalised words that do not open a sentence, reduced to the first
  NAME_PREFIX letters of the matching normaliser's transliteration key (Zangezur,
  Зангезур, Զանգեզուր, Zəngəzur share one key; the prefix absorbs case endings);
- *numbers* written with digits (19 000 = 19,000 = 19000);
- *dates* read in every language (9 ноября 2020 = November 9, 2020 = 9 նոյեմբերի 2020);
- *concepts*: a small bilingual word list of our own (ceasefire, border, condolences...),
  so that two statements with the same names on different subjects differ.

The feature set gets a MinHash; its 2-row bands (``xl_bands``) are looked up with the
day of arrival within XL_WINDOW_DAYS, so the lookup is one indexed
range per band whatever the size of the archive. A candidate is a version when the
languages differ, the feature sets agree (:func:`related`), no date conflicts and, when
both carry a publication time, they came out within XL_HOURS of each other. Versions in
the same language are left to the shingle verification, which sees their words.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from pipeline.dedup import sketch
from pipeline.text.normalize import WORD, word_key

# First letters of a name's key: long enough to keep names apart, short enough to
# absorb case endings (Зангезурского, Զանգեզուրի) and spelling drift in the tail.
NAME_PREFIX = 5
# Rows per band of the feature MinHash: translations share 15-50 % of their features,
# so bands must be short (J=0.15 -> 0.80 per pair, 0.25 -> 0.99 with 72 bands).
XL_ROWS = 2
XL_BANDS = sketch.NUM_PERM // XL_ROWS
# Share of the union two versions must have in common, and how many features at least.
# On crosslang-dev (scripts/eval_dedup.py --crosslang) translations share >= 0.13 in 95 %
# of pairs, different articles of the same weeks share <= 0.12.
XL_JACCARD = 0.16
XL_MIN_SHARED = 4
# Shared names, numbers or dates beyond the region's everyday names and the subjects.
XL_MIN_DISTINCTIVE = 2
# Fewer features than this carry too little evidence to link anything.
XL_MIN_FEATURES = 5
# A ministry publishes its language versions within hours, an agency re-reports within a
# day: dated versions further apart than this are different statements.
XL_HOURS = 36
# The lookup window around the day a document arrived.
XL_WINDOW_DAYS = 3
_BUCKET_MASK = (1 << 63) - 1

_NUMBER = re.compile(r"\d{1,3}(?:[ \u00a0\u202f.,]\d{3})+(?![\d])|\d+(?:[.,]\d+)?")
_THOUSANDS = re.compile(r"[ \u00a0\u202f.,]")
_SENTENCE_END = frozenset(".!?։:;…")

# Month names by language (stems: they are matched as word prefixes of the folded word).
_MONTHS: tuple[tuple[str, ...], ...] = (
    ("january", "jan", "январ", "հունվար", "yanvar"),
    ("february", "feb", "феврал", "փետրվար", "fevral"),
    ("march", "mar", "март", "մարտ", "mart"),
    ("april", "apr", "апрел", "ապրիլ", "aprel"),
    ("may", "мая", "май", "մայիս"),
    ("june", "jun", "июн", "հունիս", "iyun"),
    ("july", "jul", "июл", "հուլիս", "iyul"),
    ("august", "aug", "август", "օգոստոս", "avqust"),
    ("september", "sep", "сентябр", "սեպտեմբեր", "sentyabr"),
    ("october", "oct", "октябр", "հոկտեմբեր", "oktyabr"),
    ("november", "nov", "ноябр", "նոյեմբեր", "noyabr"),
    ("december", "dec", "декабр", "դեկտեմբեր", "dekabr"),
)
# Our own bilingual word list (en/ru/hy/az stems) for subjects that official statements
# share names across: these separate two statements with the same names on one day.
_CONCEPTS: dict[str, tuple[str, ...]] = {
    "ceasefire": ("ceasefire", "truce", "перемири", "прекращени огня", "հրադադար", "atəşkəs"),
    "border": ("border", "frontier", "границ", "пограничн", "սահման", "sərhəd"),
    "delimitation": ("delimitation", "делимитац", "սահմանազատ", "delimitasiya"),
    "peace": ("peace", "мирн", "мира ", "խաղաղ", "sülh"),
    "treaty": (
        "treaty",
        "agreement",
        "договор",
        "соглашени",
        "պայմանագր",
        "համաձայնագր",
        "müqavilə",
        "saziş",
    ),
    "condolence": ("condolence", "соболезнова", "ցավակց", "başsağlığı"),
    "earthquake": ("earthquake", "землетрясени", "երկրաշարժ", "zəlzələ"),
    "anniversary": ("anniversary", "годовщин", "юбиле", "տարեդարձ", "ildönümü"),
    "congratulate": ("congratulat", "поздрав", "շնորհավոր", "təbrik"),
    "election": ("election", "выбор", "ընտրություն", "seçki"),
    "sanction": ("sanction", "санкци", "պատժամիջոց", "sanksiya"),
    "corridor": ("corridor", "коридор", "միջանցք", "dəhliz"),
    "railway": ("railway", "railroad", "железн", "երկաթուղ", "dəmir yol"),
    "prisoner": ("prisoner", "detainee", "пленн", "задержан", "գերի", "əsir"),
    "refugee": ("refugee", "displaced", "беженц", "փախստական", "qaçqın"),
    "telephone": ("telephone", "phone", "телефон", "հեռախոս", "telefon"),
    "visit": ("visit", "визит", "այց", "səfər"),
    "meeting": (
        "meeting",
        "talks",
        "встреч",
        "переговор",
        "հանդիպ",
        "բանակցություն",
        "görüş",
        "danışıq",
    ),
    "military": ("military", "troops", "военн", "войск", "զորք", "ռազմական", "hərbi", "qoşun"),
    "attack": (
        "attack",
        "shelling",
        "strike",
        "обстрел",
        "атак",
        "удар",
        "հարձակ",
        "գնդակոծ",
        "hücum",
        "atəş",
    ),
    "killed": ("killed", "died", "погиб", "убит", "զոհ", "սպանվ", "həlak", "öldür"),
    "wounded": ("wounded", "injured", "ранен", "վիրավոր", "yaralan"),
    "humanitarian": ("humanitarian", "гуманитарн", "humanitar", "մարդասիրական"),
    "energy": ("energy", "энерг", "нефт", "էներգ", "enerji", "neft"),
    "economy": ("econom", "trade", "экономи", "торгов", "տնտես", "առևտր", "iqtisad", "ticarət"),
    "parliament": (
        "parliament",
        "парламент",
        "խորհրդարան",
        "ազգային ժողով",
        "parlament",
        "milli məclis",
    ),
    "hostage": ("hostage", "заложник", "պատանդ", "girov"),
    "drone": ("drone", "беспилотн", "дрон", "անօդաչու", "dron", "pilotsuz"),
}


# Names every statement of the region carries (countries, capitals, offices): a little
# evidence, not enough to tell one statement from another. Our own list, in en/ru/hy/az.
_COMMON_NAMES = (
    "Armenia Armenian Армения Армении армянской Հայաստան Հայաստանի Ermənistan Ermənistanın "
    "Azerbaijan Azerbaijani Азербайджан Азербайджана Ադրբեջան Ադրբեջանի Azərbaycan "
    "Russia Russian Россия России Российской Ռուսաստան Ռուսաստանի Rusiya Rusiyanın "
    "Turkey Türkiye Турция Թուրքիա Türkiyə Iran Иран Իրան İran Georgia Грузия Վրաստան Gürcüstan "
    "Yerevan Ереван Երևան Yerevan Baku Баку Բաքու Bakı Moscow Москва Մոսկվա Moskva "
    "Ministry Министерство МИД Նախարարություն Nazirlik Minister Министр Նախարար Nazir "
    "Foreign Affairs Иностранных Дел Արտաքին Գործերի Xarici İşlər "
    "President Президент Նախագահ Prezident Prime Премьер Վարչապետ Baş "
    "Republic Республика Республики Հանրապետություն Respublika Respublikası "
    "Government Правительство Կառավարություն Hökumət Federation Федерации "
    # The leaders every readout and statement of the region names.
    "Vladimir Putin Владимир Путин Վլադիմիր Պուտին Vladimir Putin "
    "Nikol Pashinyan Никол Пашинян Նիկոլ Փաշինյան Nikol Paşinyan "
    "Ilham Aliyev Ильхам Алиев Իլհամ Ալիև İlham Əliyev "
    "Sergey Lavrov Сергей Лавров Սերգեյ Լավրով Sergey Lavrov"
)
# Weights of the evidence kinds in the weighted Jaccard (distinctive names, numbers and
# dates count fully).
_WEIGHT_COMMON = 0.2
_WEIGHT_CONCEPT = 0.5
_WEIGHT_YEAR = 0.3
_YEAR = re.compile(r"d:(?:19|20)\d\d")


def _fold(text: str) -> str:
    """NFKC and casefold (the script is kept)."""
    return unicodedata.normalize("NFKC", text).casefold()


@cache
def _concept_automaton() -> Any:
    """One Aho-Corasick automaton over every concept's folded stems: one pass per text.

    Each key maps to ``(length, concepts)``; a stem counts where it starts a word.
    """
    import ahocorasick

    table: dict[str, set[str]] = {}
    for concept, stems in _CONCEPTS.items():
        for stem in stems:
            table.setdefault(_fold(stem), set()).add(concept)
    automaton = ahocorasick.Automaton()
    for key, concepts in table.items():
        automaton.add_word(key, (len(key), tuple(sorted(concepts))))
    automaton.make_automaton()
    return automaton


def _is_word_char(ch: str) -> bool:
    """What ``\\w`` matches in a str pattern: letters, digits and the underscore."""
    return ch.isalnum() or ch == "_"


def concepts(folded: str) -> set[str]:
    """Concepts whose stems start a word of the folded text."""
    found: set[str] = set()
    for end, (length, names) in _concept_automaton().iter(folded):
        start = end - length + 1
        if start == 0 or not _is_word_char(folded[start - 1]):
            found.update(names)
    return found


_MONTH_STEMS = [(tuple(_fold(s) for s in stems), n) for n, stems in enumerate(_MONTHS, start=1)]
_DAY_MONTH = re.compile(r"(?<!\d)(\d{1,2})\s*(?:-?(?:го|ին|i|ci|cı|cu|cü|th|st|nd|rd))?\s+(\w+)")
_MONTH_DAY = re.compile(r"(\w+)\s+(\d{1,2})(?!\d)")
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})[./](\d{1,2})[./](?:\d{2}){1,2}(?!\d)")
_ISO_DATE = re.compile(r"(?<!\d)\d{4}-(\d{2})-(\d{2})(?!\d)")


def _month(word: str) -> int | None:
    """The month a (folded) word names, if any; three-letter stems must be the whole word."""
    for stems, number in _MONTH_STEMS:
        for stem in stems:
            if word.startswith(stem) and (len(stem) > 3 or word == stem):
                return number
    return None


def dates(text: str) -> set[str]:
    """Day-and-month mentions ("9-11") in en/ru/hy/az wording and numeric forms."""
    folded = _fold(text)
    found = set()
    for m in _DAY_MONTH.finditer(folded):
        month = _month(m.group(2))
        if month and 1 <= int(m.group(1)) <= 31:
            found.add(f"{int(m.group(1))}-{month}")
    for m in _MONTH_DAY.finditer(folded):
        month = _month(m.group(1))
        if month and 1 <= int(m.group(2)) <= 31:
            found.add(f"{int(m.group(2))}-{month}")
    for m in _NUMERIC_DATE.finditer(folded):
        day, month = int(m.group(1)), int(m.group(2))
        if 1 <= day <= 31 and 1 <= month <= 12:
            found.add(f"{day}-{month}")
    for m in _ISO_DATE.finditer(folded):
        found.add(f"{int(m.group(2))}-{int(m.group(1))}")
    return found


def _names(text: str) -> set[str]:
    """Keys of capitalised words that do not open a sentence (names, not grammar)."""
    out = set()
    opens = True
    for chunk in text.split():
        words = WORD.findall(chunk)
        for word in words:
            if not opens and word[:1].isupper() and len(word) >= 3 and not word.isdigit():
                key = word_key(word)[0]
                if len(key) >= 3 and not any(c.isdigit() for c in key):
                    out.add("n:" + key[:NAME_PREFIX])
            opens = False
        opens = chunk.rstrip("\"'»”’)]")[-1:] in _SENTENCE_END
    return out


def _numbers(text: str) -> set[str]:
    """Numbers written with digits, thousands separators removed."""
    out = set()
    for m in _NUMBER.finditer(text):
        value = m.group(0)
        grouped = re.fullmatch(r"\d{1,3}(?:\D\d{3})+", value)
        if _THOUSANDS.search(value) and len(value) > 4 and grouped:
            value = _THOUSANDS.sub("", value)
        out.add("d:" + value.replace(",", "."))
    return out


@dataclass(frozen=True)
class Evidence:
    """The language-independent features of one document."""

    features: frozenset[str]
    dates: frozenset[str]


def evidence(title: str, text: str) -> Evidence:
    """Names, numbers, dates and concepts of a document's title and body."""
    body = f"{title}\n{text}"
    folded = _fold(body)
    found = _names(text) | _numbers(body)
    day_months = dates(body)
    found |= {"t:" + d for d in day_months}
    found |= {"c:" + concept for concept in concepts(folded)}
    return Evidence(frozenset(found), frozenset(day_months))


def xl_buckets(ev: Evidence) -> list[int]:
    """One 63-bit bucket per 2-row band of the feature MinHash (empty when too little evidence)."""
    if len(ev.features) < XL_MIN_FEATURES:
        return []
    mh = sketch.signature(sorted(ev.features))
    if mh is None:
        return []
    values = mh.hashvalues.astype("<u4")
    out = []
    for band in range(XL_BANDS):
        chunk = values[band * XL_ROWS : (band + 1) * XL_ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8, person=b"newsmon-xl").digest()
        out.append(int.from_bytes(digest, "big") & _BUCKET_MASK)
    return out


_ARMENIAN = re.compile(r"[\u0531-\u0587]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[a-zA-Z\u00c0-\u024f]")


def script_language(text: str) -> str:
    """hy, ru or az when the script says so, else "latin" or "other" (not told apart)."""
    sample = text[:2000]
    counts = {
        "hy": len(_ARMENIAN.findall(sample)),
        "ru": len(_CYRILLIC.findall(sample)),
        "latin": len(_LATIN.findall(sample)),
    }
    best = max(counts, key=lambda k: counts[k])
    if counts[best] == 0:
        return "other"  # another script (Arabic, Georgian...): never "the same as" these
    if best == "latin" and "ə" in sample.casefold():
        return "az"
    return best


def base_language(code: str | None, text: str) -> str:
    """The declared language's base code ("ru-RU" -> "ru"), else the script's guess."""
    if code:
        return code.split("-")[0].split("_")[0].casefold()
    return script_language(text)


@cache
def _common_keys() -> frozenset[str]:
    """Name features of :data:`_COMMON_NAMES`."""
    return frozenset(
        "n:" + word_key(w)[0][:NAME_PREFIX] for w in _COMMON_NAMES.split() if word_key(w)[0]
    )


def weight(feature: str) -> float:
    """How much a shared feature says that two documents are one statement."""
    if feature.startswith("c:"):
        return _WEIGHT_CONCEPT
    if feature in _common_keys():
        return _WEIGHT_COMMON
    if _YEAR.fullmatch(feature):
        return _WEIGHT_YEAR
    return 1.0


def distinctive(feature: str) -> bool:
    """Whether the feature names something particular (a person, a place, a figure, a day)."""
    return weight(feature) == 1.0


def related(
    a: Evidence,
    b: Evidence,
    *,
    when_a: datetime | None = None,
    when_b: datetime | None = None,
) -> float | None:
    """Feature Jaccard when ``a`` and ``b`` are versions of one statement, else None."""
    if len(a.features) < XL_MIN_FEATURES or len(b.features) < XL_MIN_FEATURES:
        return None
    if a.dates and b.dates and not a.dates & b.dates:
        return None  # the readouts of 27 and 29 September
    apart = abs((when_a - when_b).total_seconds()) if when_a and when_b else 0.0
    if apart > XL_HOURS * 3600:
        return None
    common = a.features & b.features
    if sum(1 for f in common if distinctive(f)) < XL_MIN_DISTINCTIVE:
        return None
    union = sum(weight(f) for f in a.features | b.features)
    jaccard = sum(weight(f) for f in common) / union
    if len(common) < XL_MIN_SHARED or jaccard < XL_JACCARD:
        return None
    return jaccard
