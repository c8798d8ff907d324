"""The one window-bound parser: whole days in a zone, timestamps to UTC, clear errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline.errors import InputError
from pipeline.text.window import parse_moment

YEREVAN = ZoneInfo("Asia/Yerevan")  # UTC+4 all year: no DST since 2012
NEW_YORK = ZoneInfo("America/New_York")  # UTC-5 / UTC-4: a negative offset with DST
LAST = timedelta(microseconds=1)


def test_a_day_in_a_dst_free_zone_runs_from_its_midnight_to_its_last_microsecond() -> None:
    start = parse_moment("2026-03-01", YEREVAN)
    end = parse_moment("2026-03-01", YEREVAN, end=True)
    assert start == datetime(2026, 2, 28, 20, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 1, 20, 0, tzinfo=UTC) - LAST
    assert end - start == timedelta(days=1) - LAST


def test_a_day_in_a_negative_offset_zone_ends_after_utc_midnight() -> None:
    assert parse_moment("2026-01-15", NEW_YORK) == datetime(2026, 1, 15, 5, 0, tzinfo=UTC)
    assert parse_moment("2026-01-15", NEW_YORK, end=True) == (
        datetime(2026, 1, 16, 5, 0, tzinfo=UTC) - LAST
    )


def test_a_dst_change_day_is_whole_with_23_hours() -> None:
    start = parse_moment("2026-03-08", NEW_YORK)  # clocks go from 02:00 EST to 03:00 EDT
    end = parse_moment("2026-03-08", NEW_YORK, end=True)
    assert start == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 9, 4, 0, tzinfo=UTC) - LAST
    assert end - start == timedelta(hours=23) - LAST


def test_consecutive_days_tile_the_time_line() -> None:
    end = parse_moment("2026-03-08", NEW_YORK, end=True)
    assert end is not None and end + LAST == parse_moment("2026-03-09", NEW_YORK)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01T09:30:00+04:00", datetime(2026, 3, 1, 5, 30, tzinfo=UTC)),
        ("2026-03-01T09:30:00Z", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("2026-03-01 09:30", datetime(2026, 3, 1, 14, 30, tzinfo=UTC)),  # naive: New York
        (" 2026-03-01T09:30:00-03:00 ", datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(value: str, expected: datetime) -> None:
    got = parse_moment(value, NEW_YORK)
    assert got == expected and got.tzinfo is UTC
    assert parse_moment(value, NEW_YORK, end=True) == expected  # a moment is not widened


def test_date_and_datetime_objects_follow_the_same_rule() -> None:
    assert parse_moment(date(2026, 3, 1), YEREVAN) == parse_moment("2026-03-01", YEREVAN)
    naive = datetime(2026, 3, 1, 12, 0)
    assert parse_moment(naive, YEREVAN) == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    aware = datetime(2026, 3, 1, 12, 0, tzinfo=NEW_YORK)
    assert parse_moment(aware, YEREVAN) == datetime(2026, 3, 1, 17, 0, tzinfo=UTC)


def test_missing_bounds_are_open() -> None:
    assert parse_moment(None, UTC) is None
    assert parse_moment("", UTC, end=True) is None


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-02-30", "tomorrow", "20260301", "03/01/2026"])
def test_bad_values_are_named_in_the_error(bad: str) -> None:
    with pytest.raises(InputError, match=rf"--until: '{bad}' is not a date \(YYYY-MM-DD\)"):
        parse_moment(bad, UTC, end=True, name="--until")
