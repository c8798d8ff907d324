"""Web view benchmark: Today and Search response times on a large SQLite archive.

Usage::

    .venv/bin/python scripts/bench_web.py [--size 100000] [--repeat 15] [--db PATH]

The archive is the scale benchmark's (``scripts/bench_scale.py``'s bulk preload of
:mod:`pipeline.devtools.synthetic` documents: en/ru/hy/az, a quarter of them copies, stories as
dedup would fold them), then matched as the pipeline would (``topics reprocess`` over every
document) and alerted (the seeded subscribers' alerts planned). Its documents' first-seen times are
spread over the last 30 days, so "today" holds about a thirtieth of them. ``--db PATH`` keeps the
database and reuses it on the next run.

Timed on the server side: each request goes through the whole application in-process
(FastAPI's test client: routing, queries, rendering; no network), ``--repeat`` times after one
warm-up; the median is reported with the p90. Goal: under 200 ms each.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ("Zangezur", "Нахичевань", "border delimitation", "Карабах")
PAGES = ("/", "/?topic=zangezur-corridor", "/api/stories")


def _bench_scale() -> Any:
    """scripts/bench_scale.py as a module (its preload builds the archive)."""
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "scripts/bench_scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scale"] = module  # its worker pool pickles its functions by module name
    spec.loader.exec_module(module)
    return module


def build(url: str, size: int) -> dict[str, float]:
    """Preload ``size`` documents, spread their times, match them and plan alerts; seconds each."""
    from datetime import timedelta

    from sqlalchemy import text

    from pipeline.alerts import load_subscribers
    from pipeline.alerts.ledger import plan_alerts
    from pipeline.devtools.synthetic import Generator
    from pipeline.stages.ingest import synced_sources
    from pipeline.store import db
    from pipeline.store.models import utcnow
    from pipeline.topics import get_matcher
    from pipeline.topics.reprocess import reprocess

    took: dict[str, float] = {}
    db.ensure_schema(url)
    with db.session_scope(url) as session:
        ids = {name: src.id for name, src in synced_sources(session).items()}
    t0 = time.perf_counter()
    _bench_scale().preload(url, Generator(seed=8), size, ids)
    took["preload_s"] = time.perf_counter() - t0
    now = utcnow()
    with db.session_scope(url) as session:
        # Arrival times over the last 30 days (by id, so copies follow their originals).
        span = timedelta(days=30).total_seconds()
        start = (now - timedelta(days=30)).timestamp()
        for table in ("documents", "clusters"):  # fixed names: no input reaches the SQL
            session.execute(
                text(
                    f"UPDATE {table} SET first_seen_at = datetime(:start + "
                    f"(id * :span) / :n, 'unixepoch')"
                ),
                {"start": start, "span": span, "n": size},
            )
        session.execute(
            text(
                "UPDATE clusters SET first_seen_at = (SELECT min(first_seen_at) FROM documents "
                "WHERE documents.cluster_id = clusters.id), updated_at = first_seen_at"
            )
        )
    t0 = time.perf_counter()
    report = reprocess(get_matcher(), batch=500)
    took["match_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with db.session_scope(url) as session:
        plan_alerts(session, load_subscribers(), caught_up_after=None)
    took["alerts_s"] = time.perf_counter() - t0
    with db.session_scope(url) as session:
        session.execute(text("ANALYZE"))
    took["documents_matched"] = float(report.documents)
    return took


def timed(client: Any, path: str, repeat: int) -> dict[str, float]:
    """Median and p90 (ms) of ``repeat`` GETs after one warm-up."""
    assert client.get(path).status_code == 200, path
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        resp = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200, path
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": round(times[int(len(times) * 0.9) - 1], 1),
        "bytes": len(resp.content),
    }


def main() -> None:
    """Build (or reuse) the archive and time the pages."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--db", type=Path, help="database file to build or reuse")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-web-"))
    path = args.db or work / "web.db"
    os.environ["NEWSMON_VAR_DIR"] = str(work / "var")
    os.environ["NEWSMON_DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("NEWSMON_MODE", "test")
    from fastapi.testclient import TestClient

    from pipeline.store import db
    from pipeline.web.app import create_app

    url = f"sqlite:///{path}"
    built = {} if path.exists() else build(url, args.size)
    db.reset_engines()
    client = TestClient(create_app(secret_key="bench"))
    result: dict[str, Any] = {"size": args.size, "database": str(path), "build": built}
    for page in PAGES:
        result[page] = timed(client, page, args.repeat)
    for q in QUERIES:
        result[f"/search?q={q}"] = timed(client, f"/search?q={q}", args.repeat)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
