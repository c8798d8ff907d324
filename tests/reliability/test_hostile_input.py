"""Hostile and broken pages: each ends as one counted outcome and the run goes on.

The pages go through ``newsmon ingest``'s code (the crawler hands fetched pages to the same
functions; its own defences are in test_hostile_crawl.py).
"""

from __future__ import annotations

import gzip
import html
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import select

from crawlers.xmlfeeds import FeedError, parse_feed, parse_sitemap
from pipeline.devtools.synthetic import SyntheticDoc, documents, to_html
from pipeline.stages.ingest import ingest_paths
from pipeline.stages.process import StoreResult
from pipeline.store.db import session_scope
from pipeline.store.models import Document, Match, RunCount
from pipeline.topics import get_matcher
from pipeline.topics.compile import CNear
from pipeline.topics.passages import MAX_PASSAGES
from pipeline.topics.rules import MAX_NEAR_PAIRS, _near

SENTENCE = (
    "The Syunik route and the Zangezur corridor, border delimitation and the peace treaty "
    "between Armenia and Azerbaijan in Karabakh were discussed."
)


@cache
def _stream() -> list[SyntheticDoc]:
    """Synthetic stories to dress up as hostile pages."""
    return [d for d in documents(200, seed=17) if d.copy_of is None]


def _doc(n: int, lang: str) -> SyntheticDoc:
    """The ``n``-th synthetic story in ``lang``."""
    return [d for d in _stream() if d.language == lang][n]


def _page(doc: SyntheticDoc, **changes: str) -> str:
    """The page of ``doc`` with text replacements applied."""
    page = to_html(doc)
    for old, new in changes.items():
        page = page.replace(old, new)
    return page


def _hostile_pages(folder: Path) -> tuple[dict[str, str], dict[str, SyntheticDoc]]:
    """Write the hostile pages; return file name -> expected outcome, and -> its story."""
    folder.mkdir()
    expect: dict[str, str] = {}
    stories: dict[str, SyntheticDoc] = {}

    def put(name: str, data: bytes, outcome: str, doc: SyntheticDoc | None = None) -> None:
        (folder / name).write_bytes(data)
        expect[name] = outcome
        if doc is not None:
            stories[name] = doc

    base = _doc(1, "en")
    put(
        "01-invalid-utf8.html",
        to_html(base).encode().replace(b"<p>", b"<p>\xff\xfe\xc3(", 2),
        "new",
    )
    ru = _doc(2, "ru")
    # Cyrillic bytes in windows-1251 that claim to be UTF-8, and UTF-8 that claims windows-1251.
    put("02-cp1251-says-utf8.html", to_html(ru).encode("cp1251"), "new", ru)
    ru2 = _doc(3, "ru")
    put(
        "03-utf8-says-cp1251.html",
        to_html(ru2, charset="windows-1251").encode("utf-8"),
        "new",
        ru2,
    )
    put("04-empty.html", b"", "bad_content")
    # 50 MB: refused by size (NEWSMON_DOWNLOAD_MAXSIZE, 10 MiB by default) before it is read.
    put("05-huge.html", b"<html><body>" + b"<p>padding padding</p>" * 2_400_000, "too_large")
    # A small gzip file that would decompress to 20 MB.
    put("06-gzip-bomb.html.gz", gzip.compress(b"<p>" + b"a" * 20_000_000), "too_large")
    nested = "<html><body>" + "<div>" * 100_000 + "<p>deep</p>" + "</div>" * 100_000
    put("07-nested.html", (nested + "</body></html>").encode(), "bad_content")
    put("08-binary-as-html.html", b"%PDF-1.7\n" + bytes(range(256)) * 400, "bad_content")
    evil = _doc(4, "en")
    evil_title = 'Talks <script>alert("x")</script>\r\nBcc: victim@example.org'
    page = to_html(evil).replace(evil.title, html.escape(evil_title))
    page = page.replace("<p>", "<p>&lt;script&gt;document.cookie&lt;/script&gt; ", 1)
    put("09-script-title.html", page.encode(), "new", evil)
    far, epoch = _doc(5, "en"), _doc(6, "en")
    for name, doc, stamp in (
        ("10-far-future.html", far, datetime(2999, 5, 1, 10, 0, tzinfo=UTC)),
        ("11-epoch.html", epoch, datetime(1970, 1, 1, tzinfo=UTC)),
    ):
        page = _page(
            doc,
            **{
                doc.published.isoformat(): stamp.isoformat(),
                f"{doc.published:%d.%m.%Y %H:%M}": f"{stamp:%d.%m.%Y %H:%M}",
            },
        )
        put(name, page.encode(), "new", doc)
    many = _doc(7, "en")
    flood = " ".join([SENTENCE] * 1500)  # about 10,000 topic terms
    put("12-ten-thousand-terms.html", _page(many, **{"<p>": f"<p>{flood} "}).encode(), "new", many)
    put("13-fine.html", to_html(_doc(8, "en")).encode(), "new")
    return expect, stories


def test_hostile_pages_each_counted_once_and_the_run_goes_on(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    expect, by_file = _hostile_pages(folder)
    got: dict[str, str] = {}

    def seen(path: Path, result: StoreResult) -> None:
        assert path.name not in got, f"{path.name} counted twice"
        got[path.name] = str(result.outcome)

    report = ingest_paths([folder], on_item=seen)
    assert got == expect
    assert report.total == len(expect)
    with session_scope() as session:
        counted = session.scalars(select(RunCount).where(RunCount.run_id == report.run_id))
        assert sum(r.count for r in counted) == len(
            expect
        )  # one counted outcome per page, in the DB too
        docs = {d.url: d for d in session.scalars(select(Document))}

        def stored_doc(name: str) -> Document:
            return docs[by_file[name].url]

        # Mislabelled charsets decode to the real Cyrillic text.
        for name in ("02-cp1251-says-utf8.html", "03-utf8-says-cp1251.html"):
            doc = stored_doc(name)
            assert doc.title == by_file[name].title
            assert by_file[name].text.split("\n\n")[0][:60] in doc.text
        # Scraped markup is kept as text; no CR/LF survives in a title.
        evil = stored_doc("09-script-title.html")
        assert "<script>" in evil.title and "\r" not in evil.title and "\n" not in evil.title
        # Dates outside the plausible range are not believed.
        now = datetime.now(UTC)
        for name in ("10-far-future.html", "11-epoch.html"):
            published = stored_doc(name).published_at
            assert published is None or datetime(
                1995, 1, 1, tzinfo=UTC
            ) < published < now + timedelta(days=2)
        # A page flooded with topic terms matches, with at most three passages.
        flood = stored_doc("12-ten-thousand-terms.html")
        found = list(session.scalars(select(Match).where(Match.document_id == flood.id)))
        assert {m.topic_id for m in found} >= {"zangezur-corridor", "peace-treaty"}
        assert all(1 <= len(m.passages) <= MAX_PASSAGES for m in found)
        assert all(len(m.terms) <= 40 for m in found)


def test_near_evidence_is_bounded_however_often_the_words_repeat() -> None:
    """10,000 "corridor" and 10,000 "Syunik" hits side by side: a bounded list of pairs."""
    a, b = 0, 1
    hits = {
        a: [(a, 1, 2 * i, 2 * i) for i in range(10_000)],
        b: [(b, 1, 2 * i + 1, 2 * i + 1) for i in range(10_000)],
    }
    found = _near(CNear(a=(a,), b=(b,), within=4), hits)
    assert found is not None and len(found) <= 2 * MAX_NEAR_PAIRS


@pytest.mark.timeout(60)  # a guard against the quadratic scan (~10^9 steps), not a speed test
def test_near_with_far_apart_words_does_not_scan_every_pair() -> None:
    a, b = 0, 1
    hits = {
        a: [(a, 1, i, i) for i in range(30_000)],
        b: [(b, 1, 100_000 + i, 100_000 + i) for i in range(30_000)],
    }
    assert _near(CNear(a=(a,), b=(b,), within=4), hits) is None


def test_matcher_on_a_flooded_page_keeps_three_passages() -> None:
    text = " ".join([SENTENCE] * 1500)
    found = get_matcher().match("A flooded page", text, language="en")
    assert {m.topic for m in found} >= {"zangezur-corridor", "peace-treaty", "karabakh"}
    for m in found:
        assert 1 <= len(m.passages) <= MAX_PASSAGES
        assert all(text[p.start : p.end] == p.text for p in m.passages if p.field == "text")


BILLION_LAUGHS = """<?xml version="1.0" encoding="utf-8"?>
<!--{pad}-->
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY xxe SYSTEM "file://{secret}">
]>
<rss version="2.0"><channel><title>&lol8;</title>
<item><title>&xxe;</title><link>http://example.invalid/entity</link>
<description>&lol8;</description></item>
</channel></rss>
"""


@pytest.mark.parametrize("pad", [0, 8000], ids=["entities-up-front", "entities-after-8k-comment"])
def test_feed_entities_are_never_expanded(pad: int, tmp_path: Path) -> None:
    """Billion laughs and an external entity: refused or left unexpanded, never read."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT", encoding="utf-8")
    body = BILLION_LAUGHS.format(pad="x" * pad, secret=secret).encode()
    try:
        entries = parse_feed(body)
    except FeedError:
        return  # refused outright: fine
    text = " ".join(f"{e.title} {e.summary} {e.content}" for e in entries)
    assert "TOP-SECRET-CONTENT" not in text
    assert "lollol" not in text


def test_sitemap_entities_are_never_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT", encoding="utf-8")
    body = (
        '<?xml version="1.0"?>\n<!--' + "y" * 6000 + "-->\n"
        f'<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>http://example.invalid/&xxe;</loc></url></urlset>"
    ).encode()
    try:
        _kind, entries = parse_sitemap(body)
    except FeedError:
        return
    assert all("TOP-SECRET" not in e.loc for e in entries)
