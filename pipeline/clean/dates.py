"""Publication dates: htmldate on the markup first, then localized dates near the article.

htmldate reads meta tags, JSON-LD, ``<time>`` and URL patterns well but does not know
Armenian or Azerbaijani month names (and only some Russian forms), which is how
Caucasus ministries print dates ("5 նոյեմբերի 2026", "14 noyabr 2025 16:23",
"3 сентября 2026"). Those are found with a small regex and parsed by dateparser.
Every result is an aware datetime in UTC; naive page times are read in ``tz``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import cache
from typing import Any

from htmldate import find_date
from lxml.html import HtmlElement

LOG = logging.getLogger(__name__)

# htmldate returns ISO-like strings in this format; %z is empty for naive times.
_HTMLDATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# Languages whose month names we must read; the page language is tried as well.
_BASE_LANGUAGES = ("en", "ru", "hy", "az")
# Oldest plausible publication date for the sources we monitor (the web era).
_MIN_DATE = datetime(1995, 1, 1, tzinfo=UTC)
# Pages stamped up to a day ahead exist (time zones, scheduled posts); beyond is noise.
_MAX_AHEAD = timedelta(days=1)

_WORD = r"[^\W\d_]{3,12}\.?"
# The time may follow after a comma, a bar or in brackets: "21.02.2026 [19:22]".
_TIME = r"(?:[,\s|\[(]+(?:в|at|saat|ժ\.?)?\s*(?P<time>\d{1,2}:\d{2}))?"
# "5 նոյեմբերի 2026 թ., 14:05", "26 նոյեմբերի, 2026", "14 noyabr 2025 16:23",
# "3 сентября 2026 г. в 12:40"
_DMY_WORDS = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}})(?:-?(?:го|ի|ci|cü|cu|cı))?\s+(?P<month>{_WORD}),?\s+"
    rf"(?P<year>\d{{4}})(?:\s*(?:г\.|года|թ\.?|թվականի|il|ildə))?{_TIME}"
)
# "November 5, 2026", "Noyabr 14, 2025"
_MDY_WORDS = re.compile(
    rf"(?P<month>{_WORD})\s+(?P<day>\d{{1,2}}),?\s+(?P<year>\d{{4}})(?!\d){_TIME}"
)
# "14.11.2025 16:23" (day first, as everywhere in the region)
_DMY_NUMERIC = re.compile(
    rf"(?<![\d.])(?P<day>\d{{1,2}})[./](?P<month>\d{{1,2}})[./](?P<year>\d{{4}})(?!\d){_TIME}"
)
_PATTERNS = (_DMY_WORDS, _MDY_WORDS, _DMY_NUMERIC)
# Elements that usually carry the publication date.
_DATE_XPATH = (
    "//time|//*[contains(@class,'date') or contains(@class,'time') "
    "or contains(@class,'publish') or contains(@id,'date')]"
)
_MAX_DATE_ELEMENTS = 12
_HEAD_LINES = 6
_MAX_DATE_LINE = 40
_TAIL_LINES = 3


def to_utc(value: datetime, tz: tzinfo = UTC) -> datetime:
    """Make a datetime aware (naive means ``tz``) and convert it to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _plausible(value: datetime) -> bool:
    """Reject dates before the web era or in the future."""
    return _MIN_DATE <= value <= datetime.now(UTC) + _MAX_AHEAD


def from_htmldate(tree: HtmlElement, url: str | None, tz: tzinfo) -> datetime | None:
    """Publication date htmldate finds in the markup (original date, not last-modified)."""
    found = find_date(
        tree,
        extensive_search=False,
        original_date=True,
        outputformat=_HTMLDATE_FORMAT,
        url=url,
    )
    if not found:
        return None
    try:
        value = to_utc(datetime.fromisoformat(found), tz)
    except ValueError:
        LOG.debug("htmldate returned an unparseable date %r for %s", found, url)
        return None
    return value if _plausible(value) else None


@cache
def _languages(page_language: str | None) -> tuple[str, ...]:
    """Languages to read month names in: the page's (if dateparser knows it) and ours."""
    from dateparser.data import languages_info

    extra = (page_language,) if page_language in languages_info.language_order else ()
    return tuple(dict.fromkeys((*extra, *_BASE_LANGUAGES)))


@cache
def _date_parser(languages: tuple[str, ...]) -> Any:
    """One dateparser parser per language set: building one (what ``dateparser.parse`` does on
    every call given languages) costs more than parsing the phrase."""
    from dateparser.date import DateDataParser  # imported lazily: its language data is slow

    return DateDataParser(
        languages=list(languages),
        settings={"DATE_ORDER": "DMY", "REQUIRE_PARTS": ["day", "month", "year"]},
    )


def _parse_match(match: re.Match[str], languages: tuple[str, ...], tz: tzinfo) -> datetime | None:
    """Parse one regex match with dateparser (day-month-year order)."""
    parts = match.groupdict()
    phrase = f"{parts['day']} {parts['month'].rstrip('.')} {parts['year']}"
    if parts.get("time"):
        phrase += f" {parts['time']}"
    parsed = _date_parser(languages).get_date_data(phrase).date_obj
    if parsed is None:
        return None
    value = to_utc(parsed, tz)
    return value if _plausible(value) else None


def parse_text_date(text: str, *, language: str | None = None, tz: tzinfo = UTC) -> datetime | None:
    """First localized date found in ``text`` (e.g. "14 noyabr 2025 16:23"), in UTC."""
    languages = _languages(language)
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            value = _parse_match(match, languages, tz)
            if value is not None:
                return value
    return None


def is_date_line(line: str) -> bool:
    """True when a line is nothing but a date (and time), e.g. "5 նոյեմբերի 2026, 14:05"."""
    line = line.strip()
    if len(line) > _MAX_DATE_LINE:
        return False
    for pattern in _PATTERNS:
        match = pattern.search(line)
        if match is not None:
            rest = line[: match.start()] + line[match.end() :]
            return not any(ch.isalnum() for ch in rest)
    return False


def _candidate_texts(tree: HtmlElement, text: str) -> Iterable[str]:
    """Texts likely to hold the date: date-ish elements, then the article's first and last lines."""
    for element in tree.xpath(_DATE_XPATH)[:_MAX_DATE_ELEMENTS]:
        yield " ".join(element.itertext())
    lines = text.splitlines()
    yield "\n".join(lines[:_HEAD_LINES])
    yield "\n".join(lines[-_TAIL_LINES:])


def find_published(
    tree: HtmlElement,
    url: str | None,
    text: str,
    *,
    language: str | None = None,
    tz: tzinfo = UTC,
) -> datetime | None:
    """Publication date in UTC: htmldate's markup search, then localized dates in the text.

    A date-only htmldate result (a URL date, a bare day in the markup) is refined by a
    same-day date with a time printed near the article. htmldate's "extensive" mode is
    not used: it hands free text to dateparser with every locale loaded (seconds per
    process) and guesses from stray years; the localized search below reads the few
    languages that matter, near the article.
    """
    found = from_htmldate(tree, url, tz)
    if found is not None and found.time() != time(0, 0):
        return found
    for candidate in _candidate_texts(tree, text):
        if candidate.strip():
            in_text = parse_text_date(candidate, language=language, tz=tz)
            if in_text is not None and (found is None or _same_day(found, in_text, tz)):
                return in_text
    return found


def _same_day(day_only: datetime, timed: datetime, tz: tzinfo) -> bool:
    """True when ``timed`` falls on the calendar day a date-only result stands for."""
    return day_only.date() == timed.date() or day_only.date() == timed.astimezone(tz).date()


def better_date(
    extracted: datetime | None,
    discovered: datetime | None,
    tz: tzinfo,
    *,
    trust_discovered: bool = False,
) -> datetime | None:
    """The publication date to store: the page's, unless the feed/listing knows better.

    The discovered date wins when the page has none, when it is a feed's own entry
    (``trust_discovered``), or when the page gives only the day (local midnight) and the
    feed or listing gives a time on that same day.
    """
    if discovered is None:
        return extracted
    if extracted is None or trust_discovered:
        return discovered
    local = extracted.astimezone(tz)
    if local.time() == time(0, 0) and discovered.astimezone(tz).date() == local.date():
        return discovered
    return extracted
