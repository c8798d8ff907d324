"""Parse one alias as written in topics.yaml into the word patterns the automaton needs.

Syntax (documented for analysts in the header of ``seeds/topics.yaml``):

* words separated by spaces form a phrase: the words must follow each other in the text
  (punctuation and hyphens between them are ignored, as in "Nagorno-Karabakh");
* ``word*`` is a stem: it matches any word starting with it ("коридор*": коридора, коридором);
* ``word(|а|у|ом)`` lists explicit endings (here the empty one too): Карабах, Карабаха, ...
  (parentheses and ``|`` rather than braces and commas, which YAML ``[...]`` lists reserve);
* a word written in CAPITALS (two or more letters, e.g. ``TRIPP``, ``ОБСЕ``) is an acronym
  and only matches capitalised text, so ``TRIPP`` does not match "a trip".
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

from pipeline.text.normalize import SKELETON_MIN_CONSONANTS, WORD, consonants, skeleton, word_key

# Shortest key of a one-word stem: shorter ones match too much once keys merge letters
# ("конн*" has the key "kun" and matched "контингент" in our dev set).
MIN_STEM_KEY = 4
_ENDINGS = re.compile(r"\(([^()]*)\)")


class TermSyntaxError(ValueError):
    """An alias cannot be parsed; the message says what to change."""


@dataclass(frozen=True, slots=True)
class WordPattern:
    """One word of an alias as the automaton sees it.

    ``mode`` is "k" (match the full key) or "s" (match the consonant skeleton, for long
    name-like words); ``stem`` means a prefix match; ``acronym`` requires capitals.
    """

    mode: str
    text: str
    stem: bool
    acronym: bool

    @property
    def needle(self) -> str:
        """The string searched for in a document's key text (see matcher.key_text)."""
        if self.mode == "k":
            return " " + self.text + ("" if self.stem else "/")
        return "/" + self.text + ("" if self.stem else " ")


def _expand(alias: str) -> list[str]:
    """Endings expansion: ``Карабах(|а|е)`` -> Карабах, Карабаха, Карабахе (cartesian)."""
    rest = _ENDINGS.sub("", alias)
    if "(" in rest or ")" in rest:
        raise TermSyntaxError(f"{alias!r}: unbalanced or nested parentheses; write word(|a|b)")
    parts: list[list[str]] = []
    pos = 0
    for m in _ENDINGS.finditer(alias):
        parts.append([alias[pos : m.start()]])
        parts.append([alt.strip() for alt in m.group(1).split("|")])
        pos = m.end()
    parts.append([alias[pos:]])
    return ["".join(combo) for combo in itertools.product(*parts)]


def _word(raw: str, stem: bool, alias: str) -> WordPattern:
    """Pattern for one written word."""
    key, skel = word_key(raw)
    if not key:
        raise TermSyntaxError(f"{alias!r}: the word {raw!r} has no letters or digits")
    letters = [c for c in raw if c.isalpha()]
    acronym = len(letters) >= 2 and all(c.isupper() for c in letters)
    if consonants(skel) >= SKELETON_MIN_CONSONANTS:
        return WordPattern("s", skeleton(key, stem=stem), stem, acronym)
    return WordPattern("k", key, stem, acronym)


def parse_variant(variant: str, alias: str) -> tuple[WordPattern, ...]:
    """Word patterns of one brace-expanded variant."""
    words: list[WordPattern] = []
    pos = 0
    for m in WORD.finditer(variant):
        between = variant[pos : m.start()]
        if "*" in between:
            raise TermSyntaxError(f"{alias!r}: '*' must directly follow a word (a stem: word*)")
        stem = variant.startswith("*", m.end())
        after = variant[m.end() + 1 : m.end() + 2] if stem else ""
        if after and not after.isspace():
            raise TermSyntaxError(f"{alias!r}: '*' ends a stem; put a space after it (word* word)")
        words.append(_word(m.group(0), stem, alias))
        pos = m.end() + (1 if stem else 0)
    if "*" in variant[pos:]:
        raise TermSyntaxError(f"{alias!r}: '*' must directly follow a word (a stem: word*)")
    if not words:
        raise TermSyntaxError(f"{alias!r}: no words to match")
    # A lone short stem matches a large share of all words; inside a phrase the other
    # words anchor it ("dəmir yol*"), so the limit applies to one-word aliases only.
    if len(words) == 1 and words[0].stem and len(word_key(variant.rstrip("* "))[0]) < MIN_STEM_KEY:
        raise TermSyntaxError(
            f"{alias!r}: a one-word stem this short is not selective; "
            "write a longer stem, the full word, or a phrase"
        )
    return tuple(words)


@lru_cache(maxsize=65536)
def parse_alias(alias: str) -> tuple[tuple[WordPattern, ...], ...]:
    """All variants of an alias as word-pattern tuples; raises TermSyntaxError.

    Cached: validation and compilation parse every alias, and topics share aliases.
    """
    if not alias.strip():
        raise TermSyntaxError("empty alias; remove it or write the term")
    out: list[tuple[WordPattern, ...]] = []
    for variant in _expand(alias):
        pats = parse_variant(variant, alias)
        if pats not in out:
            out.append(pats)
    return tuple(out)
