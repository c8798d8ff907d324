"""Feed and sitemap parsing: formats seen on the monitored sites, and hostile XML."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from crawlers.xmlfeeds import FeedError, parse_feed, parse_feed_date, parse_sitemap

# apa.az: no XML declaration, whitespace before <rss>, empty description, guid = link.
APA_RSS = """

<rss version="2.0"><channel><title>APA</title>
<item><title>Xarici isler naziri sefirle gorusub</title><link>https://apa.az/xarici-siyaset/gorus-900001</link>
<guid>https://apa.az/xarici-siyaset/gorus-900001</guid><description></description>
<pubDate>Tue, 24 Nov 2026 16:23:00 +0400</pubDate><category>Xarici siyasət</category></item>
</channel></rss>""".encode()

# azertag.az: only title, link and pubDate.
AZERTAG_RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>AZƏRTAC</title>
<item><title>Sərhəd komissiyalarının iclası keçirilib</title>
<link>https://azertag.az/xeber/serhed_komissiyalari-3900001</link>
<pubDate>Mon, 23 Nov 2026 19:22:00 +0400</pubDate></item>
<item><title>No link here</title><pubDate>Mon, 23 Nov 2026 19:00:00 +0400</pubDate></item>
</channel></rss>""".encode()

# Kremlin Atom: full text in content, Moscow time mislabelled +04:00.
KREMLIN_ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>President of Russia</title>
<entry>
  <id>http://en.kremlin.ru/events/president/news/80001</id>
  <title>Telephone conversation with the Prime Minister of Armenia</title>
  <link rel="alternate" type="text/html" href="http://en.kremlin.ru/events/president/news/80001"/>
  <published>2026-11-26T19:30:00+04:00</published>
  <updated>2026-11-26T19:45:00+04:00</updated>
  <summary></summary>
  <content type="html">&lt;p&gt;The leaders discussed the border delimitation.&lt;/p&gt;</content>
</entry>
</feed>"""

YANDEX_RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:yandex="http://news.yandex.ru">
<channel><title>ТАСС</title>
<item><title>МИД РФ о делимитации</title><link>https://tass.ru/politika/26000001</link>
<pubDate>Wed, 25 Nov 2026 15:10:00 +0300</pubDate>
<yandex:full-text>МОСКВА, 25 ноября. /ТАСС/. Россия готова передать карты.</yandex:full-text>
</item></channel></rss>""".encode()

SITEMAP_INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://tass.com/sitemap/sitemap_news1.xml</loc><lastmod>2026-11-20T10:00:00+03:00</lastmod></sitemap>
<sitemap><loc>https://tass.com/sitemap/sitemap_news0.xml</loc><lastmod>2026-11-26T10:00:00+03:00</lastmod></sitemap>
</sitemapindex>"""

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://tass.com/politics/2201457</loc>
<news:news><news:publication_date>2026-11-25T15:25:00+03:00</news:publication_date></news:news></url>
<url><loc>https://tass.com/world/2200981</loc><lastmod>2026-11-24T08:40:00+03:00</lastmod></url>
</urlset>"""

ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY xxe SYSTEM "file:///etc/hostname">]>
<rss version="2.0"><channel><title>&b;</title><item><title>&xxe;</title>
<link>https://example.org/x</link></item></channel></rss>"""


def test_apa_feed_with_leading_whitespace_and_empty_description() -> None:
    (entry,) = parse_feed(APA_RSS)
    assert entry.link == "https://apa.az/xarici-siyaset/gorus-900001"
    assert entry.summary == "" and entry.content == ""
    assert entry.published == datetime(2026, 11, 24, 12, 23, tzinfo=UTC)


def test_azertag_items_without_guid_or_description() -> None:
    entries = parse_feed(AZERTAG_RSS)
    assert [e.link for e in entries] == ["https://azertag.az/xeber/serhed_komissiyalari-3900001"]
    assert entries[0].title.startswith("Sərhəd")


def test_kremlin_atom_full_text_and_timezone_fix() -> None:
    (plain,) = parse_feed(KREMLIN_ATOM)
    (fixed,) = parse_feed(KREMLIN_ATOM, assume_tz=ZoneInfo("Europe/Moscow"))
    assert plain.published == datetime(2026, 11, 26, 15, 30, tzinfo=UTC)  # as labelled
    assert fixed.published == datetime(2026, 11, 26, 16, 30, tzinfo=UTC)  # read as MSK
    assert "border delimitation" in fixed.content
    assert fixed.link == "http://en.kremlin.ru/events/president/news/80001"


def test_yandex_full_text() -> None:
    (entry,) = parse_feed(YANDEX_RSS)
    assert entry.content.startswith("МОСКВА, 25 ноября.")


def test_sitemap_index_and_news_sitemap() -> None:
    kind, children = parse_sitemap(SITEMAP_INDEX)
    assert kind == "sitemapindex"
    assert [c.loc.rsplit("/", 1)[1] for c in children] == ["sitemap_news1.xml", "sitemap_news0.xml"]
    kind, urls = parse_sitemap(NEWS_SITEMAP)
    assert kind == "urlset"
    assert urls[0].lastmod == datetime(2026, 11, 25, 12, 25, tzinfo=UTC)  # news:publication_date
    assert urls[1].lastmod == datetime(2026, 11, 24, 5, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        ENTITY_BOMB,
        b"<rss><channel><item><title>unclosed & broken</title></channel",
        b"",
        b"<html><body>not a feed</body></html>",
    ],
)
def test_hostile_or_malformed_xml_is_refused(body: bytes) -> None:
    with pytest.raises(FeedError):
        parse_feed(body)


def test_sitemap_refuses_feed() -> None:
    with pytest.raises(FeedError, match="not a sitemap"):
        parse_sitemap(YANDEX_RSS)


def test_feed_dates() -> None:
    assert parse_feed_date("Tue, 24 Nov 2026 16:23:00 +0400") == datetime(
        2026, 11, 24, 12, 23, tzinfo=UTC
    )
    assert parse_feed_date("2026-11-24T16:23:00Z") == datetime(2026, 11, 24, 16, 23, tzinfo=UTC)
    assert parse_feed_date("yesterday-ish") is None
    assert parse_feed_date("") is None
