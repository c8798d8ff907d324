"""The one parser of window bounds (``--since``/``--until``, DAG params, spider arguments).

Windows are closed intervals: every stage keeps an item when ``since <= when <= until``. So a
day ``YYYY-MM-DD`` read in a time zone starts at its 00:00 and, as an end (``end=True``), ends at
its last microsecond, 23:59:59.999999 (the databases keep microseconds, so nothing of the day is
lost and nothing of the next day gets in). A day is whole whatever its length: on a DST change
in ``tz`` it has 23 or 25 hours. An ISO timestamp is that moment; without an offset it is read
in ``tz``. Results are aware UTC datetimes.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo

from pipeline.errors import InputError

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_moment(
    value: str | date | None, tz: tzinfo, *, end: bool = False, name: str = ""
) -> datetime | None:
    """A window bound as aware UTC: a day (its start, or its last moment with ``end``) or a time.

    ``value`` is ``YYYY-MM-DD``, an ISO 8601 timestamp, or a ``date``/``datetime``; None and ""
    mean an open bound (None). ``name`` (e.g. ``--since``) prefixes the error message.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if _DAY.fullmatch(text) else _timestamp(text)
        except ValueError:
            where = f"{name}: " if name else ""
            raise InputError(
                f"{where}{value!r} is not a date (YYYY-MM-DD) or an ISO timestamp "
                "(e.g. 2026-03-01T09:30:00+04:00)"
            ) from None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.max if end else time.min, tz)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    utc = value.astimezone(UTC)
    # A plain datetime even when given a subclass (Airflow hands pendulum DateTimes).
    return datetime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, UTC
    )


def _timestamp(text: str) -> datetime:
    """An ISO 8601 date-time (a date alone is handled by the caller)."""
    if "T" not in text and " " not in text:
        raise ValueError(text)  # "20260301" and the like: not a form we document
    return datetime.fromisoformat(text)
