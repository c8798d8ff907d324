"""Article language (ISO 639-1): the page's declaration when the text agrees, else detection.

Declarations are often wrong on the sites we watch: an Armenian outlet serves its
English reposts under ``lang="hy"`` (or the invalid ``"am"``), Russian sections keep
an English template's ``lang="en"``. So a declaration is accepted only if the text
is written in the script that language uses. Scripts settle Armenian outright, the
letter ``ə`` marks Azerbaijani among Latin-script texts, and py3langid decides the rest
(overriding a Latin-script declaration only when it is confident).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import cache
from typing import Any

from lxml.html import HtmlElement

# Only <html> and <head> are searched: declarations never sit in the body.
_DECLARED_XPATH = (
    "/html/@lang|/html/@*[name()='xml:lang']|/html/head/meta[@http-equiv='content-language' "
    "or @http-equiv='Content-Language']/@content|/html/head/meta[@property='og:locale']/@content"
    "|/html/head/meta[@name='language']/@content"
)
# ISO 639-2/3 codes and common misspellings seen in lang attributes -> ISO 639-1.
_ALIASES = {
    "hye": "hy",
    "arm": "hy",
    "aze": "az",
    "rus": "ru",
    "eng": "en",
    "ukr": "uk",
    "geo": "ka",
    "kat": "ka",
    "tur": "tr",
}
# Languages not written in the Latin alphabet (others default to Latin).
_SCRIPT_OF_LANGUAGE = {
    "hy": "armenian",
    "ru": "cyrillic",
    "uk": "cyrillic",
    "be": "cyrillic",
    "bg": "cyrillic",
    "mk": "cyrillic",
    "kk": "cyrillic",
    "ky": "cyrillic",
    "tg": "cyrillic",
    "mn": "cyrillic",
    "sr": "cyrillic",
    "ka": "georgian",
    "el": "greek",
    "ar": "arabic",
    "fa": "arabic",
    "ur": "arabic",
    "he": "hebrew",
    "zh": "cjk",
    "ja": "cjk",
    "ko": "hangul",
}
_SAMPLE_CHARS = 2000
# py3langid is reliable on a paragraph or two; its cost grows with the input.
_LANGID_CHARS = 1500
# In Azerbaijani ə is among the most frequent letters (7-9 % of all letters); an
# English or Turkish text naming "Azərbaycan" a few times stays far below this share.
_SCHWA_SHARE = 0.03
_MIN_CONFIDENCE = 0.5
_OVERRIDE_CONFIDENCE = 0.95


def normalise_code(raw: str | None) -> str | None:
    """ISO 639-1 code from a declaration like "en-US", "ru_RU", "hye"; None if unusable."""
    if not raw:
        return None
    code = raw.strip().replace("_", "-").split("-")[0].lower()
    code = _ALIASES.get(code, code)
    return code if len(code) == 2 and code.isascii() and code.isalpha() else None


def declared_language(tree: HtmlElement) -> str | None:
    """The first usable language declared in the markup (html lang, meta tags)."""
    for value in tree.xpath(_DECLARED_XPATH):
        code = normalise_code(str(value))
        if code:
            return code
    return None


# Letter ranges of the scripts that decide most cases, counted with regexes (fast);
# other letters are named through unicodedata on a small sample only.
_SCRIPT_RANGES = {
    "latin": re.compile("[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02af\u1e00-\u1eff]"),
    "cyrillic": re.compile("[\u0400-\u04ff]"),
    "armenian": re.compile("[\u0531-\u0556\u0561-\u0587]"),
}
_LETTER = re.compile(r"[^\W\d_]")
_NAMED_PREFIXES = (
    ("GEORGIAN", "georgian"),
    ("GREEK", "greek"),
    ("ARABIC", "arabic"),
    ("HEBREW", "hebrew"),
    ("CJK", "cjk"),
    ("HIRAGANA", "cjk"),
    ("KATAKANA", "cjk"),
    ("HANGUL", "hangul"),
)
_NAMED_SAMPLE = 200


def _named_script(ch: str) -> str:
    """Script of a letter outside the regex ranges, from its Unicode name."""
    name = unicodedata.name(ch, "")
    for prefix, script in _NAMED_PREFIXES:
        if name.startswith(prefix):
            return script
    return "other"


def script_counts(text: str) -> Counter[str]:
    """Letters per script in ``text`` (scripts outside the main three estimated from a sample)."""
    counts: Counter[str] = Counter(
        {name: len(pattern.findall(text)) for name, pattern in _SCRIPT_RANGES.items()}
    )
    rest = len(_LETTER.findall(text)) - sum(counts.values())
    if rest > 0:
        known = "".join(p.pattern.strip("[]") for p in _SCRIPT_RANGES.values())
        others = re.findall(f"[^\\W\\d_{known}]", text)[:_NAMED_SAMPLE]
        sample = Counter(_named_script(ch) for ch in others)
        for script, seen in sample.items():
            counts[script] += round(rest * seen / len(others))
    return +counts


def _fits(code: str, script: str) -> bool:
    """True when language ``code`` is written in ``script``."""
    return _SCRIPT_OF_LANGUAGE.get(code, "latin") == script


@cache
def _identifier() -> Any:
    """py3langid model with normalised probabilities (loaded once per process, from the cache)."""
    from pipeline.clean.langmodel import load_identifier
    from pipeline.config.settings import get_settings

    return load_identifier(get_settings().cache_path)


def guess_language(text: str) -> tuple[str | None, float]:
    """py3langid's best ISO 639-1 guess for ``text`` and its probability."""
    identifier = _identifier()
    sample = text[:_LANGID_CHARS]
    code, prob = identifier.classify(sample)
    if len(code) == 2:
        return str(code), float(prob)
    # the model also knows languages without a 2-letter code: take the best that has one
    for code, prob in identifier.rank(sample)[:5]:
        if len(code) == 2:
            return str(code), float(prob)
    return None, 0.0


def detect_language(text: str, declared: str | None = None) -> str | None:
    """Language of ``text``: Armenian script, Azerbaijani ə, a fitting declaration, py3langid."""
    sample = text[:_SAMPLE_CHARS]
    counts = script_counts(sample)
    if not counts:
        return declared
    script = counts.most_common(1)[0][0]
    if script == "armenian":
        return "hy"
    schwas = sample.count("ə") + sample.count("Ə")
    if script == "latin" and schwas >= max(3.0, _SCHWA_SHARE * counts["latin"]):
        return "az"
    if declared and _fits(declared, script) and script != "latin":
        return declared
    guess, prob = guess_language(sample)
    if declared and _fits(declared, script):
        # Latin-script sites often keep one lang attribute for all their sections
        # (an English page under lang="az"): only a confident detection overrides it.
        return guess if guess and prob >= _OVERRIDE_CONFIDENCE else declared
    return guess if guess and prob >= _MIN_CONFIDENCE else None
