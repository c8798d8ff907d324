"""Date formatting in each replica site's own style (month names per language, offsets)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from email.utils import format_datetime

# Genitive month names: Russian and Armenian sites print "3 сентября", "3 սեպտեմբերի".
MONTHS: dict[str, tuple[str, ...]] = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "ru": (
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ),
    "hy": (
        "հունվարի",
        "փետրվարի",
        "մարտի",
        "ապրիլի",
        "մայիսի",
        "հունիսի",
        "հուլիսի",
        "օգոստոսի",
        "սեպտեմբերի",
        "հոկտեմբերի",
        "նոյեմբերի",
        "դեկտեմբերի",
    ),
    # Azerbaijani sites print lower-case Latin month names (research notes: "14 noyabr 2025").
    "az": (
        "yanvar",
        "fevral",
        "mart",
        "aprel",
        "may",
        "iyun",
        "iyul",
        "avqust",
        "sentyabr",
        "oktyabr",
        "noyabr",
        "dekabr",
    ),
}
_TOKEN = re.compile(r"%(-?)([a-zA-Z%])")


def parse_offset(value: str) -> timezone:
    """``+03:00`` -> a fixed-offset tzinfo (sites print fixed offsets, not zone names)."""
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", value.strip())
    if not m:
        raise ValueError(f"{value!r}: expected an offset such as +03:00")
    sign = 1 if m.group(1) == "+" else -1
    return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))


def at(anchor: date, days_ago: int, clock: str, tz: timezone) -> datetime:
    """The moment ``days_ago`` days before ``anchor`` at ``clock`` (``HH:MM``) in ``tz``."""
    hh, mm = (int(x) for x in clock.split(":"))
    return datetime.combine(anchor - timedelta(days=days_ago), time(hh, mm), tzinfo=tz)


def fmt(moment: datetime | date, pattern: str, lang: str = "en") -> str:
    """strftime with month names in ``lang``; ``%-d`` drops the zero; ``%Z`` prints ``+03:00``."""

    def repl(m: re.Match[str]) -> str:
        nopad, code = m.group(1) == "-", m.group(2)
        if code == "B":
            return MONTHS[lang][moment.month - 1]
        if code == "b":
            return MONTHS["en"][moment.month - 1][:3]
        if code == "Z" and isinstance(moment, datetime):
            return moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:]
        out = moment.strftime(f"%{code}")
        return (out.lstrip("0") or "0") if nopad else out

    return _TOKEN.sub(repl, pattern)


def rfc822(moment: datetime) -> str:
    """RSS ``pubDate`` in the site's own offset (``Tue, 03 Sep 2025 17:40:00 +0300``)."""
    return format_datetime(moment)


def http_date(moment: datetime) -> str:
    """An HTTP-date (always GMT) for Last-Modified."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def iso(moment: datetime) -> str:
    """ISO-8601 with offset, seconds precision (sitemaps, Atom)."""
    return moment.replace(microsecond=0).isoformat()


def relabel(moment: datetime, offset: str) -> datetime:
    """Same wall-clock time, different printed offset (the Kremlin feed's +04:00 label)."""
    return moment.replace(tzinfo=parse_offset(offset))
