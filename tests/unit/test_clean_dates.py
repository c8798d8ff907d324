"""Publication dates: localized month names, zones, htmldate markup, plausibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline.clean import parse_page
from pipeline.clean.dates import find_published, is_date_line, parse_text_date, to_utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14 noyabr 2025 16:23", datetime(2025, 11, 14, 16, 23)),
        ("Yayımlanıb: 2 dekabr 2025, 09:05", datetime(2025, 12, 2, 9, 5)),
        ("3 сентября 2026", datetime(2026, 9, 3)),
        ("Опубликовано 12 августа 2025 г. в 18:40", datetime(2025, 8, 12, 18, 40)),
        ("5 նոյեմբերի 2026", datetime(2026, 11, 5)),
        ("12 հոկտեմբերի 2026 թ., 11:30", datetime(2026, 10, 12, 11, 30)),
        ("November 5, 2026", datetime(2026, 11, 5)),
        ("Noyabr 14, 2025", datetime(2025, 11, 14)),
        ("14.11.2025 16:23", datetime(2025, 11, 14, 16, 23)),
        ("05.11.2026", datetime(2026, 11, 5)),  # day first, as in the region
        ("26 նոյեմբերի, 2026", datetime(2026, 11, 26)),
        ("21.02.2026 [19:22]", datetime(2026, 2, 21, 19, 22)),
        ("14.11.2025 | 16:23", datetime(2025, 11, 14, 16, 23)),
    ],
)
def test_localized_dates_parse(text: str, expected: datetime) -> None:
    assert parse_text_date(text) == expected.replace(tzinfo=UTC)


def test_no_date_in_text() -> None:
    assert parse_text_date("The ministers met for 3 hours in room 2025.") is None
    assert parse_text_date("") is None


def test_future_and_ancient_dates_are_rejected() -> None:
    future = datetime.now(UTC) + timedelta(days=30)
    assert parse_text_date(future.strftime("%d.%m.%Y")) is None
    assert parse_text_date("1 January 1850") is None


def test_naive_page_time_is_read_in_the_source_zone() -> None:
    baku = ZoneInfo("Asia/Baku")
    assert parse_text_date("14 noyabr 2025 16:23", tz=baku) == datetime(
        2025, 11, 14, 12, 23, tzinfo=UTC
    )
    assert to_utc(datetime(2026, 1, 1, 3, 0), baku) == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    aware = datetime(2026, 1, 1, 3, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    assert to_utc(aware, baku) == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


def _tree(body: str, head: str = "") -> object:
    return parse_page(f"<html><head>{head}</head><body>{body}</body></html>", None)


def test_meta_date_wins_and_is_converted_to_utc() -> None:
    tree = _tree(
        "<h1>Title</h1><p class='date'>3 сентября 2026</p><p>Text of the article.</p>",
        '<meta property="article:published_time" content="2026-09-03T10:15:00+03:00">',
    )
    assert find_published(tree, None, "") == datetime(2026, 9, 3, 7, 15, tzinfo=UTC)  # type: ignore[arg-type]


def test_date_element_in_page_is_used_when_markup_has_none() -> None:
    tree = _tree("<h1>Başlıq</h1><div class='news-date'>14 noyabr 2025 16:23</div><p>Mətn.</p>")
    found = find_published(tree, None, "Mətn.", language="az")  # type: ignore[arg-type]
    assert found == datetime(2025, 11, 14, 16, 23, tzinfo=UTC)


def test_date_in_first_lines_of_text() -> None:
    tree = _tree("<p>Նախարարությունը հայտարարություն է տարածել։</p>")
    text = "5 նոյեմբերի 2026\nՆախարարությունը հայտարարություն է տարածել։"
    found = find_published(tree, None, text, language="hy")  # type: ignore[arg-type]
    assert found == datetime(2026, 11, 5, tzinfo=UTC)


def test_url_day_is_refined_by_a_same_day_time_only() -> None:
    tree = _tree("<span class='date'>5 նոյեմբերի 2026, 14:05</span><p>Text.</p>")
    url = "https://news.example.am/2026/11/05/item"
    found = find_published(tree, url, "Text.")  # type: ignore[arg-type]
    assert found == datetime(2026, 11, 5, 14, 5, tzinfo=UTC)
    other_day = "https://news.example.am/2026/11/04/item"
    found = find_published(tree, other_day, "Text.")  # type: ignore[arg-type]
    assert found == datetime(2026, 11, 4, tzinfo=UTC)


def test_no_date_anywhere() -> None:
    tree = _tree("<h1>Title</h1><p>No date is printed on this page at all.</p>")
    assert find_published(tree, None, "No date is printed on this page at all.") is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("5 նոյեմբերի 2026, 14:05", True),
        ("14.11.2025 16:23", True),
        ("November 08, 2023", True),
        ("The statement of 9 November 2020 is in force.", False),
        ("Termin: 21.02.2020, 19 Uhr", False),
        ("Plain words only", False),
    ],
)
def test_is_date_line(line: str, expected: bool) -> None:
    assert is_date_line(line) is expected
