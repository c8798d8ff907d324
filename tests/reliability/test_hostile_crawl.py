"""A hostile site, crawled and processed: every page ends as one counted outcome and both end.

The site (our own small HTTP server on a loopback address) serves what a crawler meets on a bad
night: invalid UTF-8, an empty page, 50 MB pages (with and without Content-Length), deeply
nested markup, a binary file labelled text/html, a redirect loop, a redirect to another host,
a feed with billion-laughs and external entities, and a sitemap index that points to itself.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.config.settings import get_settings
from pipeline.devtools.synthetic import documents, to_html
from pipeline.errors import Outcome
from pipeline.stages.crawl import run_crawl
from pipeline.stages.ingest import process_pending
from pipeline.store.db import session_scope
from pipeline.store.models import Document, Page

HOST, OTHER = "127.0.0.77", "127.0.0.78"
FAST = {"DOWNLOAD_TIMEOUT": "30", "RETRY_TIMES": "0"}
# A 2 MB limit: the 50 MB page sent without Content-Length is cut off quickly on a busy machine.
MAXSIZE = str(2 * 1024 * 1024)
BIG = 50 * 1024 * 1024


class Site:
    """The hostile site and an "other host" that must never be contacted."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []  # (host, path)
        self.lock = threading.Lock()
        self.pages: dict[str, tuple[int, str, bytes, dict[str, str]]] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                host = self.server.server_address[0]
                with site.lock:
                    site.requests.append((host, self.path))
                if host == OTHER:
                    self._send(200, "text/html", b"<html><body>other host</body></html>", {})
                    return
                path = self.path.split("?")[0]
                if path == "/a/huge-chunked":
                    self._stream()
                    return
                status, ctype, body, headers = site.pages.get(
                    path, (404, "text/html", b"<html><body>404</body></html>", {})
                )
                if path == "/a/huge":
                    self._send(status, ctype, b"", {"Content-Length": str(BIG)}, promise=True)
                    return
                self._send(status, ctype, body, headers)

            def _send(
                self,
                status: int,
                ctype: str,
                body: bytes,
                headers: dict[str, str],
                promise: bool = False,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if not promise:
                    self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    if promise:  # announce 50 MB, send a little, then close
                        self.wfile.write(b"<html><body>" + b"x" * 65536)
                        self.close_connection = True
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _stream(self) -> None:
                """50 MB without a Content-Length: only the download limit stops it."""
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b"<p>" + b"padding " * 8000 + b"</p>\n"
                sent = 0
                try:
                    while sent < BIG:
                        self.wfile.write(chunk)
                        sent += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                return

        self.servers = [ThreadingHTTPServer((h, 0), Handler) for h in (HOST, OTHER)]
        self.port = self.servers[0].server_address[1]
        self.other_port = self.servers[1].server_address[1]
        for srv in self.servers:
            threading.Thread(target=srv.serve_forever, daemon=True).start()

    def url(self, path: str, host: str = HOST) -> str:
        port = self.port if host == HOST else self.other_port
        return f"http://{host}:{port}{path}"

    def close(self) -> None:
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()

    def hits(self, path: str, host: str = HOST) -> int:
        with self.lock:
            return sum(1 for h, p in self.requests if h == host and p.split("?")[0] == path)


def _build(site: Site) -> dict[str, Outcome]:
    """Fill the site; return article path -> the outcome it must end with."""
    stories = [d for d in documents(40, seed=23) if d.copy_of is None and d.language == "en"]
    now = datetime.now(UTC)
    html = "text/html; charset=utf-8"
    expect: dict[str, Outcome] = {}

    def page(path: str, body: bytes, outcome: Outcome, ctype: str = html, **headers: str) -> None:
        site.pages[path] = (200, ctype, body, headers)
        expect[path] = outcome

    def story_page(i: int, path: str) -> bytes:
        d = stories[i]
        return to_html(d).replace(d.url, site.url(path)).encode()

    page("/a/fine", story_page(0, "/a/fine"), Outcome.NEW)
    bad = story_page(1, "/a/invalid-utf8").replace(b"<p>", b"<p>\xff\xfe\xc3(", 2)
    page("/a/invalid-utf8", bad, Outcome.NEW)
    page(
        "/a/cp1251",
        story_page(2, "/a/cp1251"),
        Outcome.NEW,
        ctype="text/html; charset=windows-1251",
    )
    page("/a/empty", b"", Outcome.BAD_CONTENT)
    expect["/a/huge"] = Outcome.TOO_LARGE
    site.pages["/a/huge"] = (200, html, b"", {})
    expect["/a/huge-chunked"] = Outcome.TOO_LARGE
    nested = (
        b"<html><body>" + b"<div>" * 100_000 + b"deep" + b"</div>" * 100_000 + b"</body></html>"
    )
    page("/a/nested", nested, Outcome.BAD_CONTENT)
    page("/a/binary", b"%PDF-1.7\n" + bytes(range(256)) * 200, Outcome.BAD_CONTENT)
    site.pages["/a/loop"] = (302, html, b"", {"Location": site.url("/a/loop")})
    expect["/a/loop"] = Outcome.HTTP_ERROR
    site.pages["/a/offsite"] = (302, html, b"", {"Location": site.url("/landing", OTHER)})
    expect["/a/offsite"] = Outcome.OFFSITE
    items = "".join(
        f"<item><title>Item {i}</title><link>{site.url(path)}</link>"
        f"<pubDate>{(now - timedelta(hours=i + 1)):%a, %d %b %Y %H:%M:%S +0000}</pubDate></item>"
        for i, path in enumerate(expect)
    )
    site.pages["/feed.xml"] = (
        200,
        "application/rss+xml",
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Hostile</title>{items}'
        "</channel></rss>".encode(),
        {},
    )
    secret = Path(__file__).resolve()  # any local file: its content must never be read
    bomb = (
        '<?xml version="1.0"?>\n<!--' + "p" * 8000 + "-->\n"
        "<!DOCTYPE rss [\n"
        '<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">\n'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">\n'
        '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">\n'
        '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">\n'
        f'<!ENTITY xxe SYSTEM "file://{secret}">\n'
        "]>\n"
        '<rss version="2.0"><channel><title>&e;</title>'
        f"<item><title>&xxe;</title><link>{site.url('/a/entity')}</link>"
        f"<description>&e;</description><pubDate>{now:%a, %d %b %Y %H:%M:%S +0000}</pubDate>"
        "</item></channel></rss>"
    )
    site.pages["/entities.xml"] = (200, "application/rss+xml", bomb.encode(), {})
    # A sitemap index that lists itself, and a second one that lists the first.
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>{a}</loc><lastmod>{t}</lastmod></sitemap>"
        "<sitemap><loc>{b}</loc><lastmod>{t}</lastmod></sitemap></sitemapindex>"
    )
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    for path in ("/sitemap.xml", "/sitemap-2.xml"):
        body = index.format(a=site.url("/sitemap.xml"), b=site.url("/sitemap-2.xml"), t=stamp)
        site.pages[path] = (200, "application/xml", body.encode(), {})
    site.pages["/robots.txt"] = (200, "text/plain", b"User-agent: *\nDisallow: /private/\n", {})
    return expect


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    try:
        yield s
    finally:
        s.close()


@pytest.mark.slow
def test_hostile_site_each_page_one_outcome_and_the_crawl_ends(
    site: Site, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expect = _build(site)
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"""\
sources:
  - name: hostile
    type: media
    country: ZZ
    languages: [en]
    homepage: {site.url("/")}
    allowed_domains: [{HOST}]
    discovery:
      - {{method: feed, url: "{site.url("/feed.xml")}", language: en}}
      - {{method: feed, url: "{site.url("/entities.xml")}", language: en}}
      - {{method: sitemap, url: "{site.url("/sitemap.xml")}", language: en}}
    crawl: {{delay: 0, concurrency: 2}}
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("NEWSMON_SOURCES_FILE", str(sources))
    monkeypatch.setenv("NEWSMON_DOWNLOAD_MAXSIZE", MAXSIZE)
    get_settings.cache_clear()
    report = run_crawl(
        ["hostile"], sources_file=sources, polite=False, scrapy_settings=FAST, timeout=240
    )
    (crawl,) = report.crawls
    assert crawl.returncode in (0, 1), crawl.log_path.read_text(encoding="utf-8")[-3000:]
    counts = report.counts["hostile"]
    # Articles: exactly one counted outcome each (discovery pages are counted apart). Every
    # page served as HTML is recorded; reading it is the process stage's job.
    read_later = (Outcome.NEW, Outcome.BAD_CONTENT)
    crawled = Counter(str(Outcome.RECORDED if o in read_later else o) for o in expect.values())
    crawled[str(Outcome.BAD_CONTENT)] += 1  # the entity feed is refused as bad content
    assert {o: counts[o] for o in crawled} == dict(crawled), dict(counts)
    assert sum(counts.values()) == sum(crawled.values()) + counts[Outcome.LISTED]
    # Processing ends each recorded page with its own outcome, and ends.
    processed = process_pending().outcomes
    assert processed == dict(Counter(str(o) for o in expect.values() if o in read_later))
    with session_scope() as session:
        pages = {p.url: p.outcome for p in session.query(Page)}
    assert pages == {site.url(p): str(o) for p, o in expect.items() if o in read_later}
    for path in expect:
        # Fetched once, no retry storm; a redirect loop stops after REDIRECT_MAX_TIMES hops.
        limit = 6 if path == "/a/loop" else 1
        assert 1 <= site.hits(path) <= limit, (path, site.hits(path))
    assert [r for r in site.requests if r[0] == OTHER] == []  # the other host: never
    assert site.hits("/sitemap.xml") == 1 and site.hits("/sitemap-2.xml") == 1  # no loop
    assert site.hits("/a/entity") == 0  # the refused feed's items are not followed
    with session_scope() as session:
        titles = [d.title for d in session.query(Document)]
    assert not any("newsmon" in t and "import" in t for t in titles)  # no file was read
