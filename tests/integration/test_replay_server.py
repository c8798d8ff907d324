"""The replica served on loopback: every site on its own address, robots, validators, faults."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree

from pipeline.devtools.replay import ReplayServer, start_replay

Response = tuple[int, dict[str, str], bytes]
# Parse XML the way a careful crawler must: no entity expansion, no network.
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def get(
    url: str, headers: dict[str, str] | None = None, method: str = "GET", timeout: float = 30
) -> Response:
    """One request without following redirects; (status, lower-cased headers, body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read() if method != "HEAD" else b""
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    """One replica for the module (port 0: a free port shared by all sites)."""
    with start_replay(port=0, slow_seconds=5.0, oversized_bytes=2 * 1024 * 1024) as server:
        yield server
    assert server.errors == []


def test_every_page_and_article_of_every_site_answers(replay: ReplayServer) -> None:
    checked = 0
    for site in replay.sites:
        rt = replay.runtime(site)
        paths = [
            p.path.replace("{page}", "2")
            for p in rt.site.manifest.pages
            if "{date" not in p.path and not p.fault
        ]
        paths += [a.path for a in replay.articles(site) if not a.spec.fault]
        for path in paths:
            status, headers, body = get(replay.url_for(site, path))
            assert status == 200, f"{site}{path}: {status}"
            assert headers["etag"] and headers["last-modified"]
            if "xml" in headers["content-type"]:
                etree.fromstring(body.lstrip(), SAFE_XML)  # feeds and sitemaps are well-formed
            checked += 1
    assert checked > 120
    assert replay.errors == []


def test_each_site_has_its_own_loopback_address(replay: ReplayServer) -> None:
    ips = {replay.ip_for(site) for site in replay.sites}
    assert len(ips) == len(replay.sites)
    assert all(ip.startswith("127.0.0.") for ip in ips)
    assert {urlsplit(replay.url_for(s)).port for s in replay.sites} == {replay.port}
    # A path of one site is not served by another (sites really are separate hosts).
    assert get(replay.url_for("tass.com", "/en/rss.php"))[0] == 404
    assert replay.url_for("www.mfa.am") == replay.url_for("mfa.am")
    assert replay.rewrite_url("https://www.mid.ru/en/rss.php?x=1") == replay.url_for(
        "mid.ru", "/en/rss.php?x=1"
    )
    assert replay.rewrite_url("https://example.org/a") == "https://example.org/a"


def test_robots_txt_per_site(replay: ReplayServer) -> None:
    for site in replay.sites:
        status, headers, body = get(replay.url_for(site, "/robots.txt"))
        assert status == 200 and headers["content-type"].startswith("text/plain")
        assert b"User-agent: *" in body
    assert b"Disallow: /private/" in get(replay.url_for("faults.test", "/robots.txt"))[2]
    tass = get(replay.url_for("tass.ru", "/robots.txt"))[2].decode()
    assert f"Sitemap: {replay.url_for('tass.ru', '/sitemap.xml')}" in tass


def test_conditional_get_answers_304(replay: ReplayServer) -> None:
    url = replay.url_for("tass.com", "/rss/v2.xml")
    status, headers, body = get(url)
    assert status == 200 and body
    etag, last = headers["etag"], headers["last-modified"]
    assert get(url, {"If-None-Match": etag}) == (304, get(url, {"If-None-Match": etag})[1], b"")
    assert get(url, {"If-Modified-Since": last})[0] == 304
    later = format_datetime(parsedate_to_datetime(last) + timedelta(hours=1), usegmt=True)
    assert get(url, {"If-Modified-Since": later})[0] == 304
    earlier = format_datetime(parsedate_to_datetime(last) - timedelta(seconds=1), usegmt=True)
    assert get(url, {"If-Modified-Since": earlier})[0] == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110).
    assert get(url, {"If-None-Match": '"stale"', "If-Modified-Since": last})[0] == 200
    assert get(url, method="HEAD")[0] == 200


def test_dates_are_ages_before_the_start(replay: ReplayServer) -> None:
    # The statement is 33h20m old (its file's age) counted from the minute the replica started.
    assert datetime.now(UTC) - replay.now < timedelta(hours=1)
    want = replay.now - timedelta(hours=33, minutes=20)
    body = get(replay.url_for("mid.ru", "/en/rss.php"))[2]
    items = etree.fromstring(body, SAFE_XML).findall("channel/item")
    statement = next(i for i in items if i.findtext("link", "").endswith("/2051874/"))
    published = parsedate_to_datetime(statement.findtext("pubDate", ""))
    assert published == want and published.utcoffset() == timedelta(hours=3)
    listing = get(replay.url_for("mid.ru", "/en/foreign_policy/news/"))[2].decode()
    assert f'<span class="announce__date">{published:%d.%m.%Y}</span>' in listing
    assert replay.today == replay.now.date()


def test_a_published_draft_changes_feed_and_listing(replay: ReplayServer) -> None:
    feed = replay.url_for("tass.com", "/rss/v2.xml")
    hot = replay.url_for("tass.com", "/sitemap/sitemap_hot.xml")
    etag = get(feed)[1]["etag"]
    hot_etag = get(hot)[1]["etag"]
    draft = "/economy/2201850"
    assert get(replay.url_for("tass.com", draft))[0] == 404
    replay.publish("tass.com", "2201850")
    status, headers, body = get(feed, {"If-None-Match": etag})
    assert status == 200 and draft.encode() in body and headers["etag"] != etag
    assert draft.encode() in get(hot, {"If-None-Match": hot_etag})[2]
    assert get(replay.url_for("tass.com", draft))[0] == 200
    article = replay.add_article(
        "news.am",
        id="eng-999001",
        lang="en",
        path="/eng/news/999001.html",
        title="A test item",
        body="Added between two crawls.",
    )
    assert article.published.date() <= datetime.now(article.published.tzinfo).date()
    assert b"/eng/news/999001.html" in get(replay.url_for("news.am", "/eng/rss/"))[2]


def test_request_log_records_conditional_headers(replay: ReplayServer, tmp_path: Path) -> None:
    replay.clear_requests()
    get(replay.url_for("mfa.am", "/en/news?page=2"), {"If-None-Match": '"x"', "User-Agent": "t/1"})
    (rec,) = replay.requests_for("www.mfa.am")
    assert (rec.site, rec.path, rec.status, rec.if_none_match, rec.user_agent) == (
        "mfa.am",
        "/en/news?page=2",
        200,
        '"x"',
        "t/1",
    )
    assert replay.requests_for("mid.ru") == []


def test_log_file_gets_json_lines(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with start_replay(port=0, sites=["apa.az"], log_file=log) as server:
        get(server.url_for("apa.az", "/rss"))
    (line,) = log.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["path"] == "/rss"


def test_fault_pages(replay: ReplayServer) -> None:
    f = "faults.test"
    assert get(replay.url_for(f, "/news/server-error"))[0] == 500
    assert get(replay.url_for(f, "/news/missing"))[0] == 404
    status, headers, _ = get(replay.url_for(f, "/news/loop"))
    assert (
        status == 302 and get(replay.url_for(f, headers["location"]))[1]["location"] == "/news/loop"
    )
    status, headers, body = get(replay.url_for(f, "/news/binary"))
    assert headers["content-type"].startswith("text/html") and body.startswith(b"%PDF")
    assert get(replay.url_for(f, "/news/report.pdf"))[1]["content-type"] == "application/pdf"
    status, headers, _ = get(replay.url_for(f, "/news/elsewhere"))
    assert status == 302 and headers["location"].startswith(
        replay.url_for("offsite.test", "/landing")
    )
    status, headers, body = get(replay.url_for(f, "/news/huge"))
    assert int(headers["content-length"]) == len(body) == replay.oversized_bytes
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(get(replay.url_for(f, "/broken-feed.xml"))[2], SAFE_XML)
    bomb = get(replay.url_for(f, "/entity-feed.xml"))[2]
    assert b"<!ENTITY" in bomb and b"SYSTEM" in bomb
    assert get(replay.url_for("mfa.gov.az", "/en/news/rss"))[0] == 500  # as on the real site


def test_slow_page_times_out_and_stop_does_not_hang() -> None:
    server = start_replay(port=0, sites=["faults.test"], slow_seconds=600)
    with server, pytest.raises(socket.timeout):
        get(server.url_for("faults.test", "/news/slow"), timeout=0.5)
    # Leaving the block stopped the server although a slow request was still waiting.
    assert server.requests_for("faults.test")[-1].status == 0


def test_set_fault_on_a_real_site_path(replay: ReplayServer) -> None:
    path = "/politics/2198760"
    replay.set_fault("tass.com", path, "http_500")
    assert get(replay.url_for("tass.com", path))[0] == 500
    replay.set_fault("tass.com", path, None)
    assert get(replay.url_for("tass.com", path))[0] == 200


def test_windows_1251_page_declares_its_charset_only_in_meta(replay: ReplayServer) -> None:
    _, headers, body = get(replay.url_for("mid.ru", "/ru/foreign_policy/news/2048500/"))
    assert headers["content-type"] == "text/html"
    assert b'<meta charset="windows-1251">' in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert "демаркационной комиссии" in body.decode("cp1251")


def test_kremlin_feed_pages_and_archive(replay: ReplayServer) -> None:
    site = "en.kremlin.ru"
    first = etree.fromstring(get(replay.url_for(site, "/events/all/feed"))[2], SAFE_XML)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert first.find("a:link[@rel='next']", ns) is not None
    entry = first.find("a:entry", ns)
    assert entry is not None and entry.findtext("a:published", "", ns).endswith("+04:00")
    assert "<p>" in entry.findtext("a:content", "", ns)  # full text, as HTML
    assert get(replay.url_for(site, "/events/all/feed/page/2"))[0] == 200
    assert get(replay.url_for(site, "/events/all/feed/page/9"))[0] == 404
    # 81210 and 81234 are 52 h apart: never on the same day.
    day = next(a for a in replay.articles(site) if a.id == "81210").published.date()
    archive = get(replay.url_for(site, f"/events/president/news/by-date/{day:%d.%m.%Y}"))[
        2
    ].decode()
    assert (
        "/events/president/news/81210" in archive and "/events/president/news/81234" not in archive
    )


def test_news_am_day_archive_lists_only_that_day(replay: ReplayServer) -> None:
    # 905447 and 905512 are 34 h apart: never on the same day.
    day = next(a for a in replay.articles("news.am") if a.id == "eng-905447").published.date()
    body = get(replay.url_for("news.am", f"/eng/news/allregions/allthemes/{day:%Y/%m/%d}/"))[2]
    assert b"/eng/news/905447.html" in body and b"/eng/news/905512.html" not in body


def test_tass_sitemap_index_and_news_sitemaps(replay: ReplayServer) -> None:
    ns = {
        "s": "http://www.sitemaps.org/schemas/sitemap/0.9",
        "n": "http://www.google.com/schemas/sitemap-news/0.9",
    }
    index = etree.fromstring(get(replay.url_for("tass.ru", "/sitemap.xml"))[2], SAFE_XML)
    children = [loc.text for loc in index.findall("s:sitemap/s:loc", ns)]
    assert children == [replay.url_for("tass.ru", f"/sitemap/sitemap_news{i}.xml") for i in (0, 1)]
    newest = etree.fromstring(get(children[0] or "")[2], SAFE_XML)
    assert newest.findall("s:url/n:news/n:title", ns)
    older = etree.fromstring(get(children[1] or "")[2], SAFE_XML)
    assert [u.text for u in older.findall("s:url/s:loc", ns)] == [
        replay.url_for("tass.ru", "/mezhdunarodnaya-panorama/25110544")
    ]


def test_cli_serve_writes_sources_and_stops_on_sigterm(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from pipeline.config.sources import load_sources

    out = tmp_path / "sources.yaml"
    env = {**os.environ, "NEWSMON_VAR_DIR": str(tmp_path / "var"), "NEWSMON_MODE": "test"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from pipeline.cli import main; main()",
            "replay",
            "serve",
            "--port",
            "0",
            "--sources-out",
            str(out),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120  # generous: start-up imports on a busy machine
        while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert out.exists(), proc.stdout.read().decode() if proc.stdout else ""
        home = load_sources(out).get("mid-ru").homepage
        assert get(urljoin_root(home, "/robots.txt"))[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def urljoin_root(url: str, path: str) -> str:
    """Same scheme/host/port, another path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{path}"


def test_cli_sites_lists_addresses() -> None:
    from typer.testing import CliRunner

    from pipeline.cli import _register, app

    _register()
    result = CliRunner().invoke(app, ["replay", "sites"])
    assert result.exit_code == 0, result.output
    assert "127.0.0.11" in result.output and "mid.ru" in result.output
