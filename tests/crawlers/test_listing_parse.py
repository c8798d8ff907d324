"""Listing pages: items, links and localized dates read with the source's selectors."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from scrapy.http import HtmlResponse

from crawlers.spiders.listing import listed_items, parse_listing_date
from pipeline.clean.dates import better_date
from pipeline.config.sources import ListingMethod

MID_LISTING = """<html><body><ul class="announce">
<li class="announce__item">
<a class="announce__link announce__link_fix_en"
   href="/en/foreign_policy/news/2052101/">Talks</a>
<span class="announce__date">25.11.2026</span> <span class="announce__time">18:40</span></li>
<li class="announce__item">
<a class="announce__link" href="/en/foreign_policy/news/2051874/">Statement</a>
<span class="announce__date">24.11.2026</span></li>
<li class="announce__item">
<a class="announce__link" href="/en/foreign_policy/news/2052101/">Talks (copy)</a>
<span class="announce__date">25.11.2026</span> <span class="announce__time">18:40</span></li>
</ul></body></html>"""

MFA_AM_HY = """<html><body><div class="news-list"><ul>
<li><div class="date italic">26 նոյեմբերի, 2026</div>
<a href="/hy/press-releases/2026/11/26/x/13455">Ա</a></li>
<li><div class="date italic">no date here</div><a href="javascript:void(0)">skip</a></li>
</ul></div></body></html>"""


def response(url: str, body: str) -> HtmlResponse:
    """A Scrapy response built from our own markup."""
    return HtmlResponse(url=url, body=body.encode("utf-8"), encoding="utf-8")


def mid_method() -> ListingMethod:
    """The shipped mid.ru listing selectors."""
    return ListingMethod(
        method="listing",
        url="https://mid.ru/en/foreign_policy/news/",
        language="en",
        item="ul.announce li.announce__item",
        link="a.announce__link::attr(href)",
        date="span.announce__date::text, span.announce__time::text",
        date_format="%d.%m.%Y %H:%M",
    )


def test_mid_listing_items_dates_and_duplicates() -> None:
    items = listed_items(
        response("https://mid.ru/en/foreign_policy/news/", MID_LISTING),
        mid_method(),
        ZoneInfo("Europe/Moscow"),
    )
    assert [i.url for i in items] == [
        "https://mid.ru/en/foreign_policy/news/2052101/",
        "https://mid.ru/en/foreign_policy/news/2051874/",
    ]
    first, second = items
    assert first.published == datetime(2026, 11, 25, 15, 40, tzinfo=UTC) and not first.date_only
    # No time printed: the format does not fit, the localized parser reads the day.
    assert second.published == datetime(2026, 11, 23, 21, 0, tzinfo=UTC) and second.date_only
    # The link's text is the title the listing gives (recorded with the page).
    assert [i.title for i in items] == ["Talks", "Statement"]


def test_listing_titles_from_the_title_selector_or_the_item_itself() -> None:
    body = """<html><body>
<a class="card" href="/news/1"><div class="card__head">  Border
  commission meets </div><span class="card__date">25.11.2026</span></a>
<a class="card" href="/news/2"><span class="card__date">24.11.2026</span></a>
</body></html>"""
    page = response("https://example.org/news/", body)
    tz = ZoneInfo("Asia/Baku")
    with_title = ListingMethod(
        method="listing",
        url="https://example.org/news/",
        item="a.card",
        link="::attr(href)",
        title="div.card__head::text",
    )
    assert [i.title for i in listed_items(page, with_title, tz)] == [
        "Border commission meets",
        None,  # no title element and no text of its own beyond the date: no title
    ]
    # Without a title selector the item (which is the link) gives its text, less its date.
    plain = with_title.model_copy(update={"title": None, "date": "span.card__date::text"})
    assert [i.title for i in listed_items(page, plain, tz)] == ["Border commission meets", None]
    undated = with_title.model_copy(update={"title": None})
    assert listed_items(page, undated, tz)[1].title == "24.11.2026"


def test_armenian_listing_date_with_comma() -> None:
    m = ListingMethod(
        method="listing",
        url="https://www.mfa.am/hy/news",
        language="hy",
        item="div.news-list li",
        date="div.date::text",
        date_locale="hy",
    )
    items = listed_items(
        response("https://www.mfa.am/hy/news", MFA_AM_HY), m, ZoneInfo("Asia/Yerevan")
    )
    assert len(items) == 1
    assert items[0].published == datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
    assert items[0].date_only


def test_iso_attribute_dates() -> None:
    m = ListingMethod(
        method="listing",
        url="http://kremlin.ru/events/president/news",
        item="div.hentry",
        date="time::attr(datetime)",
    )
    tz = ZoneInfo("Europe/Moscow")
    assert parse_listing_date("2026-11-26", m, tz) == (
        datetime(2026, 11, 25, 21, 0, tzinfo=UTC),
        True,
    )
    assert parse_listing_date("2026-11-26T13:25:00+03:00", m, tz) == (
        datetime(2026, 11, 26, 10, 25, tzinfo=UTC),
        False,
    )
    assert parse_listing_date("   ", m, tz) == (None, False)


def test_better_date_prefers_discovered_time_on_same_day() -> None:
    tz = ZoneInfo("Europe/Moscow")
    midnight = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)  # 25 Nov 00:00 MSK: a bare day
    feed_time = datetime(2026, 11, 25, 15, 40, tzinfo=UTC)
    assert better_date(midnight, feed_time, tz) == feed_time
    assert better_date(None, feed_time, tz) == feed_time
    precise = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert better_date(precise, feed_time, tz) == precise
    other_day = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
    assert better_date(other_day, feed_time, tz) == other_day
    assert better_date(precise, feed_time, tz, trust_discovered=True) == feed_time
    assert better_date(precise, None, tz) == precise
