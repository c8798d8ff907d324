"""Scale benchmark: store 1k, 10k and 100k synthetic documents on SQLite and PostgreSQL.

Usage::

    .venv/bin/python scripts/bench_scale.py [--sizes 1000,10000,100000]
        [--backends sqlite,postgres] [--probe 500] [--pg-admin URL]

Each (backend, size) runs in a fresh subprocess on a fresh database, so its peak memory (RSS,
``getrusage`` ``ru_maxrss``) is its own. Documents come from :mod:`pipeline.synthetic`
(en/ru/hy/az, a quarter of them republished copies, 12% mentioning a tracked topic) and go
through ``pipeline.store.store_article`` with a pre-extracted ``Article``, one transaction per
document: the pipeline's path minus HTML extraction. Generation is not timed.

Reported per run: documents/s over the whole load; the per-document cost of deduplication
(``dedup.assign``) and matching (``topics.match_document``) over the last ``--probe`` documents,
i.e. with about ``size`` documents already stored; peak RSS. The headline numbers are the
dedup+match cost at the largest size as a ratio to the smallest (goal < 1.5) and the peak RSS
at 100k (goal < 500 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("NEWSMON_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _timed(fn: Callable[..., Any], bucket: list[float]) -> Callable[..., Any]:
    """Wrap ``fn`` so that its wall time is added to ``bucket[0]``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            bucket[0] += time.perf_counter() - t0

    return wrapper


def worker(backend: str, size: int, probe: int, pg_admin: str) -> dict[str, Any]:
    """Load ``size`` documents into a fresh database; return the measurements."""
    tmp = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    os.environ["NEWSMON_VAR_DIR"] = str(tmp / "var")
    os.environ["NEWSMON_MODE"] = "test"
    admin = None
    dbname = ""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        import psycopg

        dbname = f"newsmon_bench_{uuid.uuid4().hex[:8]}"
        admin = psycopg.connect(pg_admin, autocommit=True)
        admin.execute(f'CREATE DATABASE "{dbname}"')
        url = pg_admin.rsplit("/", 1)[0] + "/" + dbname
    os.environ["NEWSMON_DATABASE_URL"] = url
    try:
        return _load(url, size, probe) | {"backend": backend, "size": size}
    finally:
        from pipeline import db

        db.reset_engines()
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            admin.close()


def _load(url: str, size: int, probe: int) -> dict[str, Any]:
    """The timed load (see module docstring)."""
    from sqlalchemy import func, select

    from pipeline import dedup, topics
    from pipeline.clean import Article
    from pipeline.db import session_scope
    from pipeline.ingest import synced_sources
    from pipeline.models import Cluster, Document, Match, Source
    from pipeline.store import store_article
    from pipeline.synthetic import Generator

    with session_scope(url) as session:
        known = synced_sources(session)
        ids = {name: src.id for name, src in known.items()}
    dedup_time, match_time = [0.0], [0.0]
    dedup.assign = _timed(dedup.assign, dedup_time)  # type: ignore[method-assign]
    topics.match_document = _timed(topics.match_document, match_time)  # type: ignore[method-assign]
    gen = Generator(seed=8)
    store_time = 0.0
    probe_from = max(0, size - probe)
    probe_dedup = probe_match = 0.0
    copies = 0
    for i in range(size):
        if i == probe_from:
            probe_dedup, probe_match = dedup_time[0], match_time[0]
        doc = gen.next()
        copies += doc.copy_of is not None
        article = Article(doc.title, doc.text, doc.published, doc.language, None, "synthetic")
        t0 = time.perf_counter()
        with session_scope(url) as session:
            source = session.get(Source, ids[doc.source])
            store_article(session, doc.url, article, source=source)
        store_time += time.perf_counter() - t0
    probed = size - probe_from
    with session_scope(url) as session:
        stored = session.scalar(select(func.count(Document.id))) or 0
        clusters = session.scalar(select(func.count(Cluster.id))) or 0
        matches = session.scalar(select(func.count(Match.id))) or 0
    return {
        "documents": stored,
        "clusters": clusters,
        "copies": copies,
        "matches": matches,
        "seconds": round(store_time, 2),
        "docs_per_s": round(size / store_time, 1),
        "dedup_ms": round(1000 * (dedup_time[0] - probe_dedup) / probed, 3),
        "match_ms": round(1000 * (match_time[0] - probe_match) / probed, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_one(backend: str, size: int, probe: int, pg_admin: str, timeout: float) -> dict[str, Any]:
    """One measurement in its own process (its own peak RSS)."""
    cmd = [sys.executable, __file__, "--worker", backend, "--sizes", str(size)]
    cmd += ["--probe", str(probe), "--pg-admin", pg_admin]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"backend": backend, "size": size, "error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"backend": backend, "size": size, "error": proc.stderr.strip()[-500:]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    return result


def main() -> None:
    """Run the grid, print JSON lines and a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--probe", type=int, default=500, help="documents the per-doc cost is taken on")
    ap.add_argument("--pg-admin", default=PG_ADMIN, help="PostgreSQL URL allowed to CREATE DATABASE")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per (backend, size)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.worker:
        print(json.dumps(worker(args.worker, sizes[0], args.probe, args.pg_admin)))
        return
    results = []
    for backend in args.backends.split(","):
        for size in sizes:
            res = run_one(backend, size, args.probe, args.pg_admin, args.timeout)
            print(json.dumps(res), flush=True)
            results.append(res)
    print()
    print("| backend | documents | docs/s | dedup ms/doc | match ms/doc | peak RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        if "error" in r:
            print(f"| {r['backend']} | {r['size']:,} | error: {r['error'][:60]} | | | |")
            continue
        print(
            f"| {r['backend']} | {r['size']:,} | {r['docs_per_s']} | {r['dedup_ms']} | "
            f"{r['match_ms']} | {r['peak_rss_mb']} |"
        )
    for backend in args.backends.split(","):
        ok = [r for r in results if r["backend"] == backend and "error" not in r]
        if len(ok) >= 2:
            small, large = ok[0], ok[-1]
            ratio = (large["dedup_ms"] + large["match_ms"]) / (small["dedup_ms"] + small["match_ms"])
            print(
                f"{backend}: dedup+match per document at {large['size']:,} / at {small['size']:,}"
                f" = {ratio:.2f} (goal < 1.5)"
            )


if __name__ == "__main__":
    main()
