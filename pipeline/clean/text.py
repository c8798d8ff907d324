"""Normalisation of extracted article text and titles.

Monitored pages are often reposts: machine-translated English copies on Armenian
sites carry the title twice, Armenian ``և`` ("and") and ``․``/``։`` (full stop) inside
English sentences, broken quotes and a trailing "Source link". These rules repair
that noise while leaving real Armenian-language text untouched, and they remove
only whole lines that are known boilerplate, so article text is never cut.
"""

from __future__ import annotations

import re
import unicodedata
from html import unescape

from pipeline.clean.dates import is_date_line

# Horizontal whitespace of all kinds (NBSP, thin/figure/ideographic spaces) -> one space.
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
# Control characters and line/paragraph separators: a title is one line (og:title, <title> and
# feed titles arrive with CR, LF, tabs or stray C0/C1 controls).
_TITLE_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Invisible characters that break matching: zero-width space, word joiner, BOM, soft hyphen.
# ZWJ/ZWNJ are kept: they are meaningful in some scripts.
_INVISIBLE = re.compile("[\u200b\u2060\ufeff\u00ad]")
# Entities left escaped by double-encoding CMSs ("&quot;Zangezur corridor&quot;").
_LEFTOVER_ENTITY = re.compile(
    r"&(?:quot|amp|apos|laquo|raquo|ldquo|rdquo|bdquo|lsquo|rsquo|nbsp|mdash|ndash|hellip"
    r"|#\d{2,5}|#x[0-9a-fA-F]{2,4});"
)
# Typewriter/TeX double quotes (`` and '') -> a real double quote.
_TEX_QUOTES = re.compile(r"``|''")
_CURLY_DOUBLE = re.compile("[“”„‟«»]")
# MT output puts a space before sentence punctuation ("South Caucasus " .").
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([.,;:!?])(?=[\s\"]|$)")

# Armenian letters (U+0531-U+0556 capitals, U+0561-U+0587 small incl. the ligature և).
_ARMENIAN_LETTER = re.compile("[\u0531-\u0556\u0561-\u0587]")
_ARMENIAN_AND = "\u0587"  # և
# U+2024 ONE DOT LEADER is what Armenian keyboards and MT output use as a full stop;
# U+0589 is the proper Armenian full stop (verjaket).
_ARMENIAN_STOP = re.compile(r"[ \t]*[\u2024\u0589]")
_AND_IN = {"latin": "and", "cyrillic": "и"}
# Above this share of Armenian letters the text is Armenian: never touch its punctuation.
_ARMENIAN_TEXT_SHARE = 0.3
_NEIGHBOUR_WINDOW = 40

# Whole lines that outlets append or insert (compared casefolded, end punctuation stripped).
# Casefolded like the lines they are compared with (casefold turns "և" into "եւ").
BOILERPLATE_LINES: frozenset[str] = frozenset(
    phrase.casefold()
    for phrase in {
        # English
        "source link",
        "read more",
        "read also",
        "see also",
        "continue reading",
        "share this article",
        "share",
        "print",
        "advertisement",
        # Russian
        "читайте также",
        "читать также",
        "читать далее",
        "подробнее",
        "смотрите также",
        "источник",
        "поделиться",
        "версия для печати",
        "реклама",
        # Armenian
        "կարդացեք նաև",
        "կարդալ ավելին",
        "աղբյուրը",
        "աղբյուր",
        "տպել",
        # Azerbaijani
        "daha ətraflı",
        "həmçinin oxuyun",
        "həmçinin bax",
        "mənbə",
        "paylaş",
        "çap et",
    }
)
# WordPress's own share/like widget strings (many regional outlets run WordPress).
_WORDPRESS_LINES = frozenset(
    {"share this", "like this", "loading", "поделиться ссылкой", "нравится", "загрузка"}
)
# A cross-link inserted inside the article: "Read more: <headline>", "Читайте также: <...>".
_LINK_LINE = re.compile(
    r"^(?:read more|read also|also read|see also|related|читайте также|также читайте"
    r"|смотрите также|по теме|կարդացեք նաև|կարդացեք նաեւ|həmçinin oxuyun|həmçinin bax)"
    r"\s*[:>»→]\s*\S.{0,200}$",
    re.IGNORECASE,
)
# Boilerplate that MT reposts glue onto the last sentence ("...reality.Source link").
_GLUED_TAIL = re.compile(
    r"(?<=[.!?…\"”»)])[ \t]*(?:Source link|Read more|Читайте также|Կարդացեք նաև)[ \t]*$",
    re.IGNORECASE,
)
_ANY_QUOTE = re.compile("[\"'“”„‟«»‘’‚‹›]")
_KEY_STRIP = " \t.,:;!?…-–—|/\\\"'«»“”„()[]<>→»›"
# Wire dateline lead: "МОСКВА, 3 сентября. /ТАСС/." or "MOSCOW, September 3. /TASS/."
_DATELINE = re.compile(
    r"^(?:[A-Z][A-Z .\-]{2,30}|[А-ЯЁ][А-ЯЁ .\-]{2,30}), "
    r"(?:\d{1,2} [а-яё]{3,9}|[A-Z][a-z]{2,8} \d{1,2})\. /(?:[A-Z\-]{2,12}|[А-ЯЁ\-]{2,12})/\.\s+"
)
_MAX_TITLE_REPEATS = 3
# Boilerplate phrases are short; longer lines are never compared against the sets.
_SHORT_LINE = 40
# Date-only lines are dropped among the first and last few lines only.
_DATE_LINE_EDGE = 3


def _line_key(line: str) -> str:
    """Comparison key for a line: casefolded, no quotes, single-spaced, end punctuation stripped."""
    return " ".join(_ANY_QUOTE.sub("", line).casefold().split()).strip(_KEY_STRIP)


def _script_of(ch: str) -> str:
    """Coarse script of a letter: armenian, latin, cyrillic or other."""
    if _ARMENIAN_LETTER.match(ch):
        return "armenian"
    name = unicodedata.name(ch, "")
    if name.startswith("LATIN"):
        return "latin"
    if name.startswith("CYRILLIC"):
        return "cyrillic"
    return "other"


def _neighbour_script(text: str, start: int, step: int) -> str | None:
    """Script of the nearest letter from ``start`` going in direction ``step``."""
    i = start
    for _ in range(_NEIGHBOUR_WINDOW):
        if not 0 <= i < len(text):
            return None
        if text[i].isalpha() and text[i] != _ARMENIAN_AND:
            return _script_of(text[i])
        i += step
    return None


def armenian_share(text: str) -> float:
    """Share of Armenian letters among all letters of ``text``."""
    letters = sum(1 for ch in text if ch.isalpha())
    if not letters:
        return 0.0
    return len(_ARMENIAN_LETTER.findall(text)) / letters


def _foreign_context(text: str, start: int, end: int) -> str | None:
    """Script around a match if it is non-Armenian on both sides (Latin/Cyrillic), else None."""
    left = _neighbour_script(text, start - 1, -1)
    right = _neighbour_script(text, end, 1)
    scripts = {s for s in (left, right) if s is not None}
    if len(scripts) != 1 or not scripts <= {"latin", "cyrillic"}:
        return None
    return scripts.pop()


def fix_armenian_noise(text: str) -> str:
    """Replace Armenian ``և``/``․``/``։`` used inside Latin or Cyrillic sentences.

    Armenian-language text (a high share of Armenian letters) is returned as is, and
    a ``և`` touching an Armenian letter is part of an Armenian word, so it is kept.
    """
    if _ARMENIAN_AND not in text and "\u2024" not in text and "\u0589" not in text:
        return text
    if armenian_share(text) >= _ARMENIAN_TEXT_SHARE:
        return text

    def _and(match: re.Match[str]) -> str:
        script = _foreign_context(text, match.start(), match.end())
        return f" {_AND_IN[script]} " if script else match.group()

    def _stop(match: re.Match[str]) -> str:
        script = _foreign_context(text, match.start(), match.end())
        return "." if script else match.group()

    fixed = re.sub(_ARMENIAN_AND, _and, text)
    text = fixed
    return _ARMENIAN_STOP.sub(_stop, text)


def _space_quotes(line: str) -> str:
    """Attach free-standing straight quotes (' " ') to their words; count decides open/close."""
    parts = line.split('"')
    for i in range(1, len(parts)):
        before, after = parts[i - 1], parts[i]
        if before.endswith(" ") and after.startswith(" "):
            if i % 2:  # an odd quote opens
                parts[i] = after.lstrip(" ")
            else:
                parts[i - 1] = before.rstrip(" ")
    return _SPACE_BEFORE_PUNCT.sub(r"\1", '"'.join(parts))


def fix_quotes(text: str, *, noisy: bool = False) -> str:
    """Repair quotes: leftover entities, typewriter quotes; in MT noise, one quote style."""
    if "&" in text:
        text = _LEFTOVER_ENTITY.sub(lambda m: unescape(m.group()), text)
    text = _TEX_QUOTES.sub('"', text)
    if noisy:
        # MT reposts mix “ ” « » at random positions; a single straight style is the
        # only consistent rendering (which one opens or closes is unrecoverable), and
        # quotes standing between spaces are attached to their words.
        text = _CURLY_DOUBLE.sub('"', text)
        text = "\n".join(_space_quotes(line) for line in text.split("\n"))
    return text


def _clean_line(line: str) -> str:
    """Collapse horizontal whitespace and trim a line."""
    return _SPACES.sub(" ", line).strip()


def _repeats_head(lines: list[str], title_key: str) -> bool:
    """True when the first line repeats the title or the line after it."""
    first = _line_key(lines[0])
    if not first:
        return False
    return first == title_key or (len(lines) > 1 and first == _line_key(lines[1]))


def _drop_title_repeats(lines: list[str], title: str) -> list[str]:
    """Remove leading lines that repeat the title or each other (at most a few)."""
    title_key = _line_key(title)
    kept = list(lines)
    for _ in range(_MAX_TITLE_REPEATS):
        if not kept or not _repeats_head(kept, title_key):
            break
        kept.pop(0)
    return kept


def _is_boilerplate(line: str) -> bool:
    """True for a whole line that is an outlet's boilerplate phrase."""
    if len(line) < _SHORT_LINE:
        key = _line_key(line)
        if key in BOILERPLATE_LINES or key in _WORDPRESS_LINES:
            return True
    return _LINK_LINE.match(line) is not None


def strip_dateline(line: str) -> str:
    """Remove a wire dateline lead ("МОСКВА, 3 сентября. /ТАСС/.") from the first line."""
    rest = _DATELINE.sub("", line, count=1)
    return rest if rest.strip() else line


def _drop_date_lines(lines: list[str]) -> list[str]:
    """Remove lines at the start or end that only state the date (metadata, kept apart)."""
    edge = _DATE_LINE_EDGE
    head = [line for line in lines[:edge] if not is_date_line(line)]
    middle = lines[edge:-edge] if len(lines) > 2 * edge else []
    tail = lines[max(edge, len(lines) - edge) :]
    return head + middle + [line for line in tail if not is_date_line(line)]


def normalise_text(text: str, title: str = "") -> str:
    """Normalise article text: NFC, whitespace, title repeats, boilerplate, quotes, MT noise."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    fixed = fix_armenian_noise(text)
    noisy = fixed != text
    lines = [_clean_line(line) for line in fixed.replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line and not _is_boilerplate(line)]
    if lines:
        lines[-1] = _GLUED_TAIL.sub("", lines[-1]).rstrip()
    lines = _drop_date_lines(_drop_title_repeats(lines, normalise_title(title)))
    if lines:
        lines[0] = strip_dateline(lines[0])
    text = fix_quotes("\n".join(line for line in lines if line), noisy=noisy)
    return "\n".join(_clean_line(line) for line in text.split("\n"))


def normalise_title(title: str | None) -> str:
    """Normalise a title the same way as text (single line)."""
    if not title:
        return ""
    text = _TITLE_BREAKS.sub(" ", _INVISIBLE.sub("", unicodedata.normalize("NFC", title)))
    fixed = fix_armenian_noise(text)
    return _clean_line(fix_quotes(fixed, noisy=fixed != text).replace("\n", " "))
