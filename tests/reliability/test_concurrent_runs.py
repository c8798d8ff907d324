"""A daily run and a backfill at the same time over overlapping pages (two processes).

Each process stores its pages and then runs the alert stage, as the DAG's tasks do. The two
together must store exactly what one run over all pages stores, and alert each story once.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from pipeline.alerts import run_alerts
from pipeline.alerts.subscribers import load_subscribers
from pipeline.clean import Article
from pipeline.config.settings import get_settings
from pipeline.devtools.synthetic import Generator, SyntheticDoc, to_html
from pipeline.stages.ingest import ingest_paths
from pipeline.stages.process import store_article
from pipeline.store.db import reset_engines, session_scope
from pipeline.store.models import Alert, Document, utcnow
from tests.reliability.helpers import consistency_problems, count, start, stored_result

SUBSCRIBERS = """\
subscribers:
  - id: desk
    email: desk@example.org
    mode: instant
    topics: ["*"]
    since: 2026-01-01
  - id: daily
    email: daily@example.org
    mode: digest
    digest_hour: 8
    topics: ["*"]
    since: 2026-01-01
"""
# One process = one DAG run: store the pages, then send what is due.
RUN = """
import sys
from pathlib import Path
from pipeline.alerts import run_alerts
from pipeline.stages.ingest import ingest_paths
ingest_paths([Path(sys.argv[1])])
run_alerts(mode=sys.argv[2])
"""


class Sink:
    """Loopback SMTP server keeping every message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Sink]:
    from tests.integration.test_alerts_smtp import free_port

    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    subs = tmp_path / "subscribers.yaml"
    subs.write_text(SUBSCRIBERS, encoding="utf-8")
    monkeypatch.setenv("NEWSMON_SUBSCRIBERS_FILE", str(subs))
    monkeypatch.setenv("NEWSMON_SMTP_URL", f"smtp://127.0.0.1:{port}?starttls=0&timeout=30")
    get_settings.cache_clear()
    try:
        yield handler
    finally:
        controller.stop()


def _pages(tmp_path: Path) -> tuple[Path, Path, Path]:
    """All pages, the daily run's and the backfill's (the worst case for races).

    Both runs start with the same shared pages, at the same moment; then the daily run stores
    originals while the backfill stores, in step, republished copies of those originals.
    """
    start_at = utcnow() - timedelta(hours=6)  # fresh: instant alerts go out at once
    gen = Generator(seed=31, copy_rate=0.5, topic_rate=0.6, start=start_at)
    docs = [gen.next() for _ in range(80)]
    by_id = {d.id: d for d in docs}
    first_copy: dict[int, SyntheticDoc] = {}
    for d in docs:
        if d.copy_of is not None:
            first_copy.setdefault(d.copy_of, d)
    pairs = [(by_id[o], c) for o, c in first_copy.items()][:12]
    paired = {d.id for pair in pairs for d in pair}
    shared = [d for d in docs if d.id not in paired and d.copy_of is None][:12]
    folders = {name: tmp_path / name for name in ("all", "daily", "backfill")}
    for f in folders.values():
        f.mkdir()

    def put(folder: str, name: str, doc: SyntheticDoc) -> None:
        (folders[folder] / name).write_text(to_html(doc), encoding="utf-8")

    for i, d in enumerate(shared):
        for folder in ("all", "daily", "backfill"):
            put(folder, f"a-{i:03d}.html", d)
    for i, (orig, copy) in enumerate(pairs):
        put("daily", f"b-{i:03d}.html", orig)
        put("backfill", f"b-{i:03d}.html", copy)
        put("all", f"b-{i:03d}-1.html", orig)
        put("all", f"b-{i:03d}-2.html", copy)
    return folders["all"], folders["daily"], folders["backfill"]


def _read_links(messages: list[Any], to: str) -> list[str]:
    """Every story link ("Read: URL") in the plain-text parts of the emails to ``to``."""
    links = []
    for m in messages:
        if m["To"] is None or to not in str(m["To"]):
            continue
        part = m.get_body(preferencelist=("plain",))
        lines = part.get_content().splitlines()
        links += [ln.split("Read: ", 1)[1] for ln in lines if "Read: " in ln]
    return links


@pytest.mark.slow
@pytest.mark.postgres
def test_daily_run_and_backfill_at_once_store_once_and_alert_once(
    pg_url: str, sink: Sink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, daily, backfill = _pages(tmp_path)
    total = len(list(folder.iterdir()))
    runs = [
        start([sys.executable, "-c", RUN, str(daily), "scheduled"]),
        start([sys.executable, "-c", RUN, str(backfill), "backfill"]),
    ]
    for proc in runs:
        _out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    assert count(pg_url, Document) == total
    assert consistency_problems(pg_url) == []

    # The same stored result as one run over every page.
    once = f"sqlite:///{tmp_path / 'once.db'}"
    monkeypatch.setenv("NEWSMON_DATABASE_URL", once)
    get_settings.cache_clear()
    reset_engines()
    ingest_paths([folder])
    assert stored_result(pg_url) == stored_result(once)

    # Each story alerted once per subscriber, topic and channel; no story emailed twice.
    monkeypatch.setenv("NEWSMON_DATABASE_URL", pg_url)
    get_settings.cache_clear()
    reset_engines()
    with session_scope() as session:
        rows = list(session.scalars(select(Alert)))
        cluster_of = dict(session.execute(select(Document.id, Document.cluster_id)).all())
    assert rows, "no alerts planned: the pages should match topics"
    keys = Counter((r.subscriber, r.topic_id, cluster_of[r.document_id], r.channel) for r in rows)
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]
    ids = [str(m["Message-ID"]) for m in sink.messages]
    assert len(ids) == len(set(ids))
    # The next morning's digests carry the rest; still no repeat.
    subs = load_subscribers()
    run_alerts(now=utcnow() + timedelta(days=1, hours=2), subscribers=subs)
    ids = [str(m["Message-ID"]) for m in sink.messages]
    assert len(ids) == len(set(ids))
    with session_scope() as session:
        assert {r.status for r in session.scalars(select(Alert))} <= {"sent", "suppressed"}
    # Whichever run planned a story first (an instant email, or a "caught up" digest entry),
    # each subscriber got each story once.
    for address in ("desk@example.org", "daily@example.org"):
        links = _read_links(sink.messages, address)
        assert links, address
        assert len(links) == len(set(links)), address


STORE = """
import json, sys
from datetime import datetime
from pipeline.clean import Article
from pipeline.store.db import session_scope, with_retries
from pipeline.stages.process import store_article
for line in open(sys.argv[1], encoding="utf-8"):
    d = json.loads(line)
    art = Article(d["title"], d["text"], datetime.fromisoformat(d["published"]), d["language"],
                  None, "synthetic")
    def one(d=d, art=art):
        with session_scope() as session:
            store_article(session, d["url"], art, source=None)
    with_retries(one)
"""


@pytest.mark.postgres
def test_copies_stored_while_their_originals_are_stored_join_them(
    pg_url: str, tmp_path: Path
) -> None:
    """Two writers in lockstep, one storing originals, the other their copies: one story each."""
    import json

    gen = Generator(seed=41, copy_rate=0.5)
    docs = [gen.next() for _ in range(150)]
    by_id = {d.id: d for d in docs}
    first_copy: dict[int, SyntheticDoc] = {}
    for d in docs:
        if d.copy_of is not None:
            first_copy.setdefault(d.copy_of, d)
    pairs = [(by_id[o], c) for o, c in first_copy.items()][:30]
    files = []
    for k, name in enumerate(("originals", "copies")):
        path = tmp_path / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for pair in pairs:
                d = pair[k]
                row = {
                    "url": d.url,
                    "title": d.title,
                    "text": d.text,
                    "language": d.language,
                    "published": d.published.isoformat(),
                }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        files.append(path)
    procs = [start([sys.executable, "-c", STORE, str(f)]) for f in files]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert consistency_problems(pg_url) == []
    # The stories one writer makes storing each original and then its copy.
    once = f"sqlite:///{tmp_path / 'once.db'}"
    with session_scope(once) as session:
        for pair in pairs:
            for d in pair:
                art = Article(d.title, d.text, d.published, d.language, None, "synthetic")
                store_article(session, d.url, art, source=None)
    want = stored_result(once)["stories"]
    assert sum(len(s) == 2 for s in want) >= 25  # copies do join their originals
    assert stored_result(pg_url)["stories"] == want
