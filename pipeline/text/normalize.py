"""Normalisation for matching and search: folding plus a cross-script spelling key.

Two layers:

* :func:`fold` is plain Unicode folding (NFKC, casefold, diacritics, quote and dash
  variants, the Armenian ``և`` ligature). It keeps the script.
* The *key* of a word transliterates Cyrillic, Armenian and Azerbaijani/Turkish Latin
  into one ASCII spelling and then merges the sounds that spellings of the same name
  disagree on, so that Zangezur, Зангезур, Զանգեզուր, Zəngəzur and Zangezour share
  one key (``zankazur``). The merges:

  - velars: k g q x h kh gh ğ х г խ ղ ք -> ``k`` (Meghri/Мегри, Karabakh/Ղարաբաղ/Qarabağ)
  - affricates: ch c ç j zh dzh ч ж дж ճ չ ջ ժ -> ``j`` (Lachin/Laçın, Nakhijevan)
  - sh ş ш щ շ -> ``x``;  ts tz dz ц ծ ց ձ -> ``c``;  w -> ``v``;  ph -> ``f``; th -> ``t``
  - vowels fall into three classes: a e ə -> ``a``; i ı ы -> ``i``; o u ö ü ou -> ``u``
  - ``y`` before a vowel is a glide and is dropped (Yerevan/Ереван, Syunik/Сюник/Սյունիք),
    otherwise it is the vowel ``i``; soft and hard signs vanish
  - runs of the same letter collapse (``Hovhannisyan``/``Оганесян`` style doubling).

A word also has a *skeleton*: its key without inner vowels (the first letter and a
final vowel are kept, see :func:`skeleton`). Long names whose spellings differ in
vowels, not consonants (Nakhchivan / Нахичевань / Նախիջևան / Naxçıvan all give
``nkjvn``) are matched on the skeleton; short words are matched on the full key so that
``Baku`` never matches ``book``. See :data:`SKELETON_MIN_CONSONANTS`.

The offset map back to the original is per word: :func:`tokens` splits the ORIGINAL
text and gives each word's character span there with its key, so passages are always
cut from the original string, whatever the folding changed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

# Quote and dash variants folded to ASCII (typographic, guillemets, primes, minus sign).
_PUNCT = str.maketrans(
    {
        **dict.fromkeys("‘’‚‛′ʼ`´", "'"),
        **dict.fromkeys("“”„‟″«»", '"'),
        **dict.fromkeys("‐‑‒–—―−﹘﹣－", "-"),
    }
)

# Script letters -> an intermediate Latin spelling, applied BEFORE diacritics are stripped
# (stripping would turn ş into s and й into и and lose the sound). Russian follows the
# common passport-style romanisation (ё as е, since Russian text often writes е for ё);
# Armenian the Hübschmann-Meillet-based practical one.
_LETTERS: dict[str, str] = {
    # Cyrillic (Russian, plus the Ukrainian letters that appear in names)
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u", "ә": "e", "ғ": "gh",
    "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h",
    # Armenian (ու and word-initial ո are handled before this table)
    "ա": "a", "բ": "b", "գ": "g", "դ": "d", "ե": "e", "զ": "z", "է": "e", "ը": "e",
    "թ": "t", "ժ": "zh", "ի": "i", "լ": "l", "խ": "kh", "ծ": "ts", "կ": "k", "հ": "h",
    "ձ": "dz", "ղ": "gh", "ճ": "ch", "մ": "m", "յ": "y", "ն": "n", "շ": "sh", "ո": "o",
    "չ": "ch", "պ": "p", "ջ": "j", "ռ": "r", "ս": "s", "վ": "v", "տ": "t", "ր": "r",
    "ց": "ts", "ւ": "v", "փ": "p", "ք": "k", "օ": "o", "ֆ": "f", "և": "ev",
    # Azerbaijani / Turkish and other Latin letters whose diacritic carries a sound
    "ə": "e", "ı": "i", "ş": "sh", "ç": "ch", "ğ": "gh", "ö": "o", "ü": "u",
    "š": "sh", "č": "ch", "ž": "zh", "ć": "ch", "đ": "dj", "ł": "l", "ø": "o",
    "æ": "ae", "œ": "oe", "þ": "th", "ð": "d",
}  # fmt: skip
_LETTER_TABLE = str.maketrans(_LETTERS)
# Marks that sit inside a word and carry no sound: Armenian apostrophe, emphasis,
# exclamation, question (placed over a vowel: Ինչո՞ւ) and abbreviation marks, the soft
# hyphen and zero-width (non-)joiners. Removed first so "ո՞ւ" is still the digraph "ու".
_IN_WORD = str.maketrans(dict.fromkeys("\u055a\u055b\u055c\u055e\u055f\u00ad\u200c\u200d"))

# Latin spelling -> key letters, longest match first (one pass, so outputs are never
# re-read: "ts" -> "c" must not then become "j" like an input "c").
_LATIN: dict[str, str] = {
    "shch": "x", "dzh": "j", "tch": "j", "sh": "x", "zh": "j", "ch": "j", "dj": "j",
    "kh": "k", "gh": "k", "ck": "k", "ph": "f", "th": "t", "ts": "c", "tz": "c", "dz": "c",
    "ou": "u",
    "a": "a", "e": "a", "i": "i", "o": "u", "u": "u",
    "b": "b", "c": "j", "d": "d", "f": "f", "g": "k", "h": "k", "j": "j", "k": "k",
    "l": "l", "m": "m", "n": "n", "p": "p", "q": "k", "r": "r", "s": "s", "t": "t",
    "v": "v", "w": "v", "x": "k", "z": "z",
}  # fmt: skip
_LATIN_RE = re.compile(
    "|".join(sorted((re.escape(k) for k in _LATIN), key=len, reverse=True)) + r"|."
)
VOWELS = frozenset("aiu")
_GLIDE_BEFORE = frozenset("aeiou")
_RUNS = re.compile(r"(.)\1+")
_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

# A word: letters/digits plus the marks that may sit inside one (combining accents,
# Armenian emphasis/question marks placed over a vowel, soft hyphen, zero-width joiners).
WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f\u055a-\u055c\u055e\u055f\u00ad\u200c\u200d])+")

# A skeleton with fewer consonants than this is too unselective to match on by itself:
# "border" and "broader" share "brdr" (4), "Baku" and "book" share "bk". Five or more
# (Nakhchivan "nkjvn", Zangezur "znkzr") are name-like and rarely collide.
SKELETON_MIN_CONSONANTS = 5

# Per-word keys repeat heavily across documents; cache them (bounded, cleared when full).
_CACHE_MAX = 200_000
_cache: dict[str, tuple[str, str]] = {}


def fold(text: str) -> str:
    """NFKC, casefold, no diacritics, ASCII quotes/dashes, ``և`` -> ``եւ``; keeps the script."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_PUNCT)
    # casefold already expands the ligature; keep the rule explicit for clarity.
    text = text.replace("և", "եւ")
    return unicodedata.normalize("NFC", _MARKS.sub("", unicodedata.normalize("NFD", text)))


def _latin_class(m: re.Match[str]) -> str:
    """Map one Latin spelling unit to its key letter(s)."""
    unit = m.group(0)
    if unit == "y":
        # A glide before a vowel ("ya", "yu") disappears; elsewhere y is the vowel i.
        return "" if m.string[m.end() : m.end() + 1] in _GLIDE_BEFORE else "i"
    return _LATIN.get(unit, unit)


def _compute(word: str) -> tuple[str, str]:
    """Key and skeleton of one word (see module docstring)."""
    w = unicodedata.normalize("NFKC", word).casefold().translate(_IN_WORD)
    if "дж" in w:
        w = w.replace("дж", "j")
    if "ու" in w:
        w = w.replace("ու", "u")
    if w.startswith("ո"):
        # Word-initial Armenian ո is pronounced (and romanised) "vo": Որոտան = Vorotan.
        w = "vo" + w[1:]
    w = w.translate(_LETTER_TABLE)
    w = _MARKS.sub("", unicodedata.normalize("NFD", w))
    key = _RUNS.sub(r"\1", _LATIN_RE.sub(_latin_class, w))
    if not key:
        return "", ""
    return key, skeleton(key)


def skeleton(key: str, *, stem: bool = False) -> str:
    """A key without its inner vowels: the first letter and a final vowel are kept.

    The final vowel is usually an inflection (Azerbaijani Qarabağla "with Karabakh" vs the
    surname Qarabağlı), so it must still count. A stem's skeleton drops it: in a
    document the word continues after the stem.
    """
    inner = "".join(c for c in key[1:-1] if c not in VOWELS)
    if len(key) == 1:
        return key
    last = key[-1]
    if last in VOWELS:
        return key[0] + inner if stem else key[0] + inner + last
    return key[0] + inner + last


def word_key(word: str) -> tuple[str, str]:
    """``(key, skeleton)`` of a single word, cached."""
    hit = _cache.get(word)
    if hit is None:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        hit = _cache[word] = _compute(word)
    return hit


def consonants(skel: str) -> int:
    """Number of consonant letters in a skeleton (kept vowels do not count)."""
    return sum(1 for c in skel if c not in VOWELS)


class Token(NamedTuple):
    """One word of an original string: its span there, its key and skeleton."""

    start: int
    end: int
    key: str
    skeleton: str


# Builds a Token from one (start, end, key, skeleton) tuple without a Python-level call: tokens()
# makes one per word of every document matched.
_new_token = tuple.__new__


def tokens(text: str) -> list[Token]:
    """Words of ``text`` with spans into ``text`` (the offset map back to the original)."""
    out: list[Token] = []
    append = out.append
    cached = _cache.get
    for m in WORD.finditer(text):
        word = m.group()
        hit = cached(word) or word_key(word)
        if hit[0]:
            append(_new_token(Token, m.span() + hit))
    return out


# Search indexes a long word's skeleton as one more token, marked with a letter no key contains
# (``q`` always becomes ``k``), so that a skeleton never prefix-matches a key or the reverse.
SKELETON_MARK = "q"


def marked_skeleton(skel: str) -> str | None:
    """The search token of a skeleton; None when it is too unselective to search on."""
    if consonants(skel) < SKELETON_MIN_CONSONANTS:
        return None
    return SKELETON_MARK + skel


def skeleton_token(key: str, *, stem: bool = False) -> str | None:
    """The marked skeleton search indexes or queries for a key; None when it is too unselective."""
    return marked_skeleton(skeleton(key, stem=stem))


def search_key(text: str) -> str:
    """The word keys of ``text``, space-separated: how a search query is read.

    "Zangezur" -> "zankazur", a prefix of the key of "Зангезурского" ("zankazurskuku"),
    so a ``zankazur*`` prefix query finds every script and spelling. Vowel-shifted
    spellings (Nakhchivan vs Нахичевань) share a skeleton but not a key: stored text is
    indexed with :func:`search_text`, which adds the skeletons.
    """
    return " ".join(k for k in (word_key(m.group(0))[0] for m in WORD.finditer(text)) if k)


def search_text(text: str) -> str:
    """What full-text search indexes: the word keys, then each long word's marked skeleton once.

    The skeletons (:func:`skeleton_token`) let a query find vowel-shifted spellings the way
    the topic matcher does: "Нахичевань" finds "Nakhchivan" through ``qnkjvn``.
    """
    keys: list[str] = []
    skeletons: dict[str, None] = {}
    for m in WORD.finditer(text):
        key, skel = word_key(m.group(0))
        if key:
            keys.append(key)
            skeletons[skel] = None  # the cached skeleton is skeleton(key): no second pass
    marked = [t for t in map(marked_skeleton, skeletons) if t is not None]
    return " ".join([*keys, *marked])
