"""Text normalisation for deduplication: what counts as "the same words".

Two republished copies of a statement differ in ways that carry no meaning for
dedup: Unicode forms, letter case, quotes and punctuation, the Armenian `և`/`․`
that machine-translated reposts carry, line breaks, a repeated headline, short
boilerplate lines. Everything here folds those away so that exact copies hash
the same and near copies share word shingles.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

# Word shingle length. Each word that differs between two texts removes k
# shingles, so a larger k separates two statements built from one template (same
# frame sentences, other names, dates and places every few words) while a copy,
# whose words are the original's, loses only the k-1 shingles at each edit point.
# On the development set (scripts/eval_dedup.py --margins) same-template siblings
# share at most 0.63 of their 3-shingles but 0.56 of their 5-shingles, while every
# copy stays >= 0.87 made of its original; k=6 would make very short copies with a
# lead line and boilerplate fragile (0.84) for little gain.
SHINGLE_WORDS = 5

# A line of fewer words than this is heading-like ("Source link", "Read more",
# a dateline, a subheading) and is left out of the shingles and the hash.
SHORT_LINE_WORDS = 5
# A line without sentence-final punctuation and at most this many words is a
# headline, a repeated title or a subheading, not prose.
HEADING_MAX_WORDS = 20
# Keep every line when dropping heading-like lines would remove more than this
# share of the words: the text is a list or was extracted without punctuation.
MAX_DROPPED_SHARE = 0.5

# Characters that end a sentence, after NFKC (which maps the Armenian `․` U+2024
# to "."); "։" is the Armenian full stop, "。" the CJK one.
_SENTENCE_END = frozenset(".!?…։:;。")
# Closing quotes and brackets that may follow the final punctuation.
_TRAILERS = "\"'»”’)]›」 \t"
# Characters deleted outright (not turned into a space) because they sit inside
# words: Armenian emphasis/exclamation/question marks, modifier apostrophes used
# in Azerbaijani and Ukrainian transliteration, soft hyphen.
_DELETE = "\u055b\u055c\u055e\u02bc\u02bb\u02b9\u00ad"
# After NFKC the ligature `և` (U+0587) becomes "եւ"; standing alone it is the
# Armenian word "and", which machine-translated English reposts print in place of
# "and". Folding it to "and" makes "Baku և Yerevan" equal "Baku and Yerevan"; in
# Armenian text it is the same conjunction on both sides, so nothing is lost.
_ARMENIAN_AND = "\u0565\u0582"
_WS = re.compile(r"\s+")


class _FoldTable(dict[int, str | None]):
    """Punctuation, symbols -> space; format codes -> nothing; filled lazily per code point.

    Building the full table up front walks all 1.1M code points (~1.5 s per process);
    ``str.translate`` calls ``__missing__`` only for characters it actually meets.
    """

    def __missing__(self, cp: int) -> str | None:
        """Classify one code point and remember it."""
        cat = unicodedata.category(chr(cp))
        value: str | None = " " if cat[0] in "PS" else (None if cat == "Cf" else chr(cp))
        self[cp] = value
        return value


@cache
def _translation_table() -> dict[int, str | None]:
    """Map every punctuation, symbol and format code point to a space or to nothing."""
    table = _FoldTable()
    for ch in _DELETE:
        table[ord(ch)] = None  # zero-width joiners, BOM, direction marks come via Cf
    # ё/е are used interchangeably in Russian copies of the same text.
    table[ord("ё")] = "е"
    return table


def normalise(text: str) -> str:
    """NFKC, casefold, punctuation and symbols to spaces, `և` folded, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_translation_table())
    words = [("and" if w == _ARMENIAN_AND else w) for w in text.split()]
    return " ".join(words)


def tokens(text: str) -> list[str]:
    """The normalised words of ``text``."""
    return normalise(text).split()


def _is_heading_like(line: str, words: int) -> bool:
    """Short lines, and medium lines without sentence-final punctuation, are not prose."""
    if words < SHORT_LINE_WORDS:
        return True
    if words > HEADING_MAX_WORDS:
        return False
    stripped = unicodedata.normalize("NFKC", line).rstrip(_TRAILERS)
    return not stripped or stripped[-1] not in _SENTENCE_END


@dataclass(frozen=True)
class Shingles:
    """Word shingles in text order, each with the index of the line it starts in."""

    seq: list[str]
    line_of: list[int]
    line_words: list[int]
    # Per line: ends like a sentence (prose) rather than a heading, list item or byline.
    line_prose: tuple[bool, ...] = ()

    def is_prose(self, line: int) -> bool:
        """Whether ``line`` reads as a sentence (unknown lines count as prose)."""
        return line >= len(self.line_prose) or self.line_prose[line]


@dataclass(frozen=True)
class Content:
    """The words dedup compares, by line: the body without repeated titles and headings."""

    lines: tuple[tuple[str, ...], ...]
    # Per line: whether it reads as prose (see ``_is_heading_like``); empty = all prose.
    prose: tuple[bool, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        """All words in order."""
        return tuple(w for line in self.lines for w in line)

    def shingled(self, k: int | None = None) -> Shingles:
        """Word k-shingles across line breaks (one shingle of everything when shorter than k)."""
        k = k or SHINGLE_WORDS
        words = self.words
        line_words = [len(line) for line in self.lines]
        if not words:
            return Shingles([], [], line_words, self.prose)
        starts = [i for i, line in enumerate(self.lines) for _ in line]
        if len(words) < k:
            return Shingles([" ".join(words)], [0], line_words, self.prose)
        n = len(words) - k + 1
        seq = [" ".join(words[i : i + k]) for i in range(n)]
        return Shingles(seq, starts[:n], line_words, self.prose)

    def shingles(self, k: int | None = None) -> list[str]:
        """Word k-shingles in text order."""
        return self.shingled(k).seq

    def digest(self) -> str:
        """SHA-256 (hex) of the words joined by single spaces."""
        return hashlib.sha256(" ".join(self.words).encode("utf-8")).hexdigest()


def content_of(title: str, text: str) -> Content:
    """Select the words of a document that dedup compares.

    The title is not part of it: a word-for-word copy under another headline is
    still an exact copy. Leading body lines equal to the title (reposts repeat
    it, sometimes twice) are dropped; heading-like lines (see ``_is_heading_like``)
    are dropped unless that would remove most of the text. A document with no
    body falls back to its title.
    """
    title_words = tokens(title)
    lines = [(line, tokens(line)) for line in text.splitlines()]
    lines = [(line, words) for line, words in lines if words]
    while lines and title_words and lines[0][1] == title_words:
        lines.pop(0)
    total = sum(len(words) for _, words in lines)
    marked = [(words, not _is_heading_like(line, len(words))) for line, words in lines]
    kept: list[tuple[list[str], bool]] = [(w, prose) for w, prose in marked if prose]
    kept_total = sum(len(words) for words, _ in kept)
    if total and kept_total < total * (1 - MAX_DROPPED_SHARE):
        kept = marked
    if not any(words for words, _ in kept):
        kept = [(title_words, True)]
    kept = [(words, prose) for words, prose in kept if words]
    return Content(tuple(tuple(words) for words, _ in kept), tuple(prose for _, prose in kept))


def content_hash(title: str, text: str) -> str:
    """Hash of the normalised body (title excluded): equal for word-for-word copies.

    Copies that differ only in headline, quotes, punctuation, case, line breaks,
    the `և`/`․` noise, a repeated title line or short boilerplate lines hash equal.
    """
    return content_of(title, text).digest()
