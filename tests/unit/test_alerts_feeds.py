"""Per-topic Atom feeds: valid RFC 4287 structure, newest 100, passages, muted stories left out."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from lxml import etree

from pipeline.alerts.feeds import FEED_SIZE, write_feeds
from pipeline.alerts.ledger import mute_cluster
from pipeline.store.db import session_scope
from tests.alerts_data import DAY1, story

A = "{http://www.w3.org/2005/Atom}"
# RFC 3339 date-time (section 5.6).
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def assert_valid_atom(path: Path) -> etree._Element:
    """The RFC 4287 rules a feed reader relies on."""
    root = etree.parse(str(path)).getroot()
    assert root.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{A}{name}")) == 1, name
    feed_author = root.find(f"{A}author/{A}name") is not None
    assert RFC3339.match(root.findtext(f"{A}updated") or "")
    ids = [root.findtext(f"{A}id")]
    for entry in root.findall(f"{A}entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{A}{name}")) == 1, name
        ids.append(entry.findtext(f"{A}id"))
        assert RFC3339.match(entry.findtext(f"{A}updated") or "")
        published = entry.findtext(f"{A}published")
        assert published is None or RFC3339.match(published)
        assert feed_author or entry.find(f"{A}author/{A}name") is not None
        alternate = [
            ln for ln in entry.findall(f"{A}link") if ln.get("rel", "alternate") == "alternate"
        ]
        content = entry.find(f"{A}content")
        assert alternate or content is not None
        assert all(ln.get("href") for ln in entry.findall(f"{A}link"))
        if content is not None:
            assert content.get("type") in {"text", "html", "xhtml"}
    assert all(i and re.match(r"^[a-z][a-z0-9+.-]*:", i) for i in ids)  # IRIs
    assert len(ids) == len(set(ids)), "ids must be unique"
    return root


def test_feed_is_valid_atom_with_passages(db_url: str, tmp_path: Path) -> None:
    with session_scope(db_url) as s:
        for n in range(1, 4):
            story(
                s,
                n=n,
                published=DAY1 + timedelta(hours=n),
                title=f"Statement {n} <script>evil()</script>",
            )
        story(s, n=9, topic_id="peace-treaty", term="peace agreement")
        paths = write_feeds(s, out_dir=tmp_path)
    assert sorted(p.name for p in paths) == ["peace-treaty.xml", "zangezur-corridor.xml"]
    root = assert_valid_atom(tmp_path / "zangezur-corridor.xml")
    entries = root.findall(f"{A}entry")
    assert len(entries) == 3
    content = entries[0].findtext(f"{A}content") or ""
    assert "<mark>Zangezur corridor</mark>" in content  # html content, escaped in the XML
    assert "<script>" not in (entries[0].findtext(f"{A}content") or "")
    assert entries[0].findtext(f"{A}title", "").startswith("Statement")
    assert entries[0].find(f"{A}link").get("href").startswith("https://mfa.example.org/")
    assert root.findtext(f"{A}title") == "newsmon: Zangezur corridor"


def test_feed_keeps_newest_100_and_drops_muted(db_url: str, tmp_path: Path) -> None:
    with session_scope(db_url) as s:
        clusters = [
            story(s, n=n, published=DAY1 + timedelta(minutes=n))[0] for n in range(FEED_SIZE + 5)
        ]
        mute_cluster(s, clusters[-1].id)
        write_feeds(s, out_dir=tmp_path)
    root = assert_valid_atom(tmp_path / "zangezur-corridor.xml")
    entries = root.findall(f"{A}entry")
    assert len(entries) == FEED_SIZE
    titles = [e.findtext(f"{A}title") for e in entries]
    assert f"Statement {FEED_SIZE + 4} on regional transport" not in titles  # muted
    assert titles[0] == f"Statement {FEED_SIZE + 3} on regional transport"  # newest first


def test_rewrite_is_deterministic(db_url: str, tmp_path: Path) -> None:
    with session_scope(db_url) as s:
        story(s, n=1)
        (path,) = write_feeds(s, out_dir=tmp_path)
        before = path.read_bytes()
        mtime = path.stat().st_mtime_ns
        write_feeds(s, out_dir=tmp_path)
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
