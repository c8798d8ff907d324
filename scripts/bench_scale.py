"""Scale benchmark: store 1k, 10k and 100k synthetic documents on SQLite and PostgreSQL.

Usage::

    .venv/bin/python scripts/bench_scale.py [--sizes 1000,10000,100000]
        [--backends sqlite,postgres] [--probe 500] [--pg-admin URL]

Each (backend, size) runs in a fresh subprocess on a fresh database, so its peak memory (RSS,
``getrusage`` ``ru_maxrss``) is its own. Documents come from :mod:`pipeline.devtools.synthetic`
(en/ru/hy/az, a quarter of them republished copies, 12% mentioning a tracked topic) and go
through ``pipeline.stages.process.store_article`` with a pre-extracted ``Article``, one
transaction per document: the pipeline's path minus HTML extraction. Generation is not timed.

Sizes above ``--direct-max`` (default 1,000: at 20-30 documents/s on a busy 2-core machine, 100k
documents through store_article alone would take over an hour) are reached by a bulk preload,
untimed and in a child process: the first ``size - --direct-max``
documents get exactly the rows dedup would give them (``documents`` with content hash, MinHash
and search text, ``lsh_bands``, and ``clusters``: a copy in its original's cluster) in batched
transactions, fingerprints computed by ``pipeline.dedup``'s own code in two processes, and no
``matches``; then ``ANALYZE`` (the statistics a database in use has). The last
``--direct-max`` documents then go through ``store_article`` one by one,
and only those are timed (so every size is measured on the same number of documents, with about
``size`` already stored).

Reported per run: documents/s over the ``store_article`` documents; the per-document cost of
deduplication (``dedup.assign``) and matching (``topics.match_document``) over the last
``--probe`` documents, i.e. with about ``size`` documents already stored; peak RSS. The
headline numbers are the dedup+match cost at the largest size as a ratio to the smallest
(goal < 1.5) and the peak RSS at 100k (goal < 500 MB).
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
PG_ADMIN = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


TICK = os.sysconf("SC_CLK_TCK")


def _server_cpu(session: Any) -> float:
    """CPU seconds the PostgreSQL backend serving ``session`` has used (0 on SQLite).

    Read from /proc (the server runs on this machine): the database's share of the work, which
    this process's CPU time does not include. Tick-sampled, so only sums over many calls count.
    """
    if session.get_bind().dialect.name != "postgresql":
        return 0.0
    pid = session.connection().connection.driver_connection.info.backend_pid
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def _timed(fn: Callable[..., Any], bucket: list[float]) -> Callable[..., Any]:
    """Wrap ``fn(session, ...)``: wall time into ``bucket[0]``, this process's CPU time into
    ``bucket[1]``, the PostgreSQL backend's CPU time into ``bucket[2]``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        s0 = _server_cpu(args[0])
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            bucket[0] += time.perf_counter() - t0
            bucket[1] += time.process_time() - c0
            bucket[2] += _server_cpu(args[0]) - s0

    return wrapper


def worker(backend: str, size: int, direct: int, probe: int, pg_admin: str) -> dict[str, Any]:
    """Load ``size`` documents into a fresh database; return the measurements."""
    with tempfile.TemporaryDirectory(prefix="newsmon-bench-scale-") as name:
        return _worker(Path(name), backend, size, direct, probe, pg_admin)


def _worker(
    tmp: Path, backend: str, size: int, direct: int, probe: int, pg_admin: str
) -> dict[str, Any]:
    """The worker inside its temporary folder (the SQLite file of 100k documents is ~1 GB)."""
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
        return _load(url, size, min(size, direct), probe) | {"backend": backend, "size": size}
    finally:
        from pipeline.store import db

        db.reset_engines()
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            admin.close()


def _fingerprint(item: tuple[str, str]) -> tuple[str, bytes | None, list[int], str]:
    """What dedup and search store for a (title, text): hash, MinHash, band buckets, search key."""
    from pipeline.dedup.assign import _fingerprint as dedup_fingerprint
    from pipeline.text.normalize import search_text

    title, text = item
    fp = dedup_fingerprint(title, text)
    return fp.content_hash, fp.minhash, fp.buckets, search_text(f"{title}\n{text}")


def preload(url: str, gen: Any, n: int, ids: dict[str, int], batch: int = 2000) -> None:
    """Bulk-insert ``n`` documents with their dedup rows (see module docstring); untimed."""
    from multiprocessing import Pool

    from sqlalchemy import insert, update

    from pipeline.store.db import session_scope
    from pipeline.store.models import Cluster, Document
    from pipeline.text.urls import canonical_url, url_hash

    placed: dict[int, tuple[int, int]] = {}  # generator id -> (document id, cluster id)
    with Pool(2) as pool:
        done = 0
        while done < n:
            docs = [gen.next() for _ in range(min(batch, n - done))]
            fps = pool.map(_fingerprint, [(d.title, d.text) for d in docs], chunksize=50)
            with session_scope(url) as session:
                rows = [
                    {
                        "url_hash": url_hash(d.url),
                        "url": d.url,
                        "canonical_url": canonical_url(d.url),
                        "source_id": ids[d.source],
                        "title": d.title,
                        "text": d.text,
                        "published_at": d.published,
                        "language": d.language,
                        "extraction_method": "synthetic",
                        "content_hash": fp[0],
                        "search_text": fp[3],
                        "minhash": fp[1],
                        "first_seen_at": d.published,
                        "update_count": 0,
                    }
                    for d, fp in zip(docs, fps, strict=True)
                ]
                doc_ids = list(
                    session.scalars(
                        insert(Document).returning(Document.id, sort_by_parameter_order=True), rows
                    )
                )
                originals = [
                    (d, i) for d, i in zip(docs, doc_ids, strict=True) if d.copy_of is None
                ]
                cluster_ids = list(
                    session.scalars(
                        insert(Cluster).returning(Cluster.id, sort_by_parameter_order=True),
                        [
                            {
                                "origin_document_id": i,
                                "size": 1,
                                "first_seen_at": d.published,
                                "updated_at": d.published,
                            }
                            for d, i in originals
                        ],
                    )
                )
                for (d, i), c in zip(originals, cluster_ids, strict=True):
                    placed[d.id] = (i, c)
                links = []
                for d, i in zip(docs, doc_ids, strict=True):
                    if d.id in placed and placed[d.id][0] == i:
                        links.append({"id": i, "cluster_id": placed[d.id][1]})
                    else:
                        orig_doc, cluster = placed[d.copy_of]  # type: ignore[index]
                        placed[d.id] = (i, cluster)
                        links.append({"id": i, "cluster_id": cluster, "duplicate_of_id": orig_doc})
                session.execute(update(Document), [x for x in links if len(x) == 2])
                session.execute(update(Document), [x for x in links if len(x) == 3])
                bands = [
                    {"document_id": i, "band": b, "bucket": bucket}
                    for i, fp in zip(doc_ids, fps, strict=True)
                    for b, bucket in enumerate(fp[2])
                ]
                _insert_bands(session, bands)
            done += len(docs)
        # Cluster sizes as dedup keeps them.
        with session_scope(url) as session:
            from sqlalchemy import func, select

            counts = select(Document.cluster_id, func.count(Document.id).label("n")).group_by(
                Document.cluster_id
            )
            sizes = [{"id": c, "size": k} for c, k in session.execute(counts) if k > 1]
            if sizes:
                session.execute(update(Cluster), sizes)
    # Planner statistics, as a database in use has them (PostgreSQL's autovacuum would take a
    # while to notice a bulk load; SQLite never gathers them by itself).
    from pipeline.store.db import get_engine

    with get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


def _insert_bands(session: Any, bands: list[dict[str, int]]) -> None:
    """Insert LSH rows; COPY on PostgreSQL (48 rows a document: plain INSERTs are the cost)."""
    from sqlalchemy import insert

    from pipeline.store.models import LshBand

    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(LshBand), bands)
        return
    raw = session.connection().connection.driver_connection
    with (
        raw.cursor() as cur,
        cur.copy("COPY lsh_bands (document_id, band, bucket) FROM STDIN") as copy,
    ):
        for row in bands:
            copy.write_row((row["document_id"], row["band"], row["bucket"]))


def _preload_job(url: str, gen_file: str, n: int, ids: dict[str, int]) -> None:
    """Child process: preload ``n`` documents, then hand the generator's state back."""
    import pickle

    from pipeline.devtools.synthetic import Generator

    gen = Generator(seed=8)
    preload(url, gen, n, ids)
    Path(gen_file).write_bytes(pickle.dumps(gen))


def _load(url: str, size: int, direct: int, probe: int) -> dict[str, Any]:
    """The load: an untimed bulk preload, then ``direct`` timed store_article calls."""
    from sqlalchemy import func, select

    from pipeline import dedup, topics
    from pipeline.clean import Article
    from pipeline.devtools.synthetic import Generator
    from pipeline.stages.ingest import synced_sources
    from pipeline.stages.process import store_article
    from pipeline.store.db import session_scope
    from pipeline.store.models import Cluster, Document, Match, Source

    with session_scope(url) as session:
        known = synced_sources(session)
        ids = {name: src.id for name, src in known.items()}
    gen = Generator(seed=8)
    t0 = time.perf_counter()
    if size > direct:
        # In a child process, so that this process's peak RSS is the pipeline's alone.
        import multiprocessing
        import pickle

        gen_file = str(Path(os.environ["NEWSMON_VAR_DIR"]) / "generator.pickle")
        Path(gen_file).parent.mkdir(parents=True, exist_ok=True)
        from pipeline.store import db

        db.reset_engines()  # the child must not share this process's connections
        job = multiprocessing.get_context("fork").Process(
            target=_preload_job, args=(url, gen_file, size - direct, ids)
        )
        job.start()
        job.join()
        if job.exitcode != 0:
            raise RuntimeError(f"preload failed (exit {job.exitcode})")
        gen = pickle.loads(Path(gen_file).read_bytes())
    preload_s = time.perf_counter() - t0
    dedup_time, match_time = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
    dedup.assign = _timed(dedup.assign, dedup_time)  # type: ignore[method-assign]
    topics.match_document = _timed(topics.match_document, match_time)  # type: ignore[method-assign]
    store_time = 0.0
    probe_from = max(0, direct - probe)
    probe_dedup, probe_match = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
    copies = 0
    for i in range(direct):
        if i == probe_from:
            probe_dedup, probe_match = list(dedup_time), list(match_time)
        doc = gen.next()
        copies += doc.copy_of is not None
        article = Article(doc.title, doc.text, doc.published, doc.language, None, "synthetic")
        t1 = time.perf_counter()
        with session_scope(url) as session:
            source = session.get(Source, ids[doc.source])
            store_article(session, doc.url, article, source=source)
        store_time += time.perf_counter() - t1
    probed = direct - probe_from
    with session_scope(url) as session:
        stored = session.scalar(select(func.count(Document.id))) or 0
        clusters = session.scalar(select(func.count(Cluster.id))) or 0
        matches = session.scalar(select(func.count(Match.id))) or 0
    return {
        "documents": stored,
        "preloaded": size - direct,
        "preload_s": round(preload_s, 1),
        "stored_via_store_article": direct,
        "copies_among_them": copies,
        "clusters": clusters,
        "matches": matches,
        "seconds": round(store_time, 2),
        "docs_per_s": round(direct / store_time, 1),
        "dedup_ms": round(1000 * (dedup_time[0] - probe_dedup[0]) / probed, 3),
        "match_ms": round(1000 * (match_time[0] - probe_match[0]) / probed, 3),
        # CPU time of this process: insensitive to other load on the machine, but blind to the
        # PostgreSQL server's share of the work.
        "dedup_cpu_ms": round(1000 * (dedup_time[1] - probe_dedup[1]) / probed, 3),
        "match_cpu_ms": round(1000 * (match_time[1] - probe_match[1]) / probed, 3),
        # ...and the PostgreSQL server's CPU time for the same calls (0 on SQLite).
        "dedup_server_cpu_ms": round(1000 * (dedup_time[2] - probe_dedup[2]) / probed, 3),
        "match_server_cpu_ms": round(1000 * (match_time[2] - probe_match[2]) / probed, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_one(
    backend: str, size: int, direct: int, probe: int, pg_admin: str, timeout: float
) -> dict[str, Any]:
    """One measurement in its own process (its own peak RSS)."""
    cmd = [sys.executable, __file__, "--worker", backend, "--sizes", str(size)]
    cmd += ["--direct-max", str(direct), "--probe", str(probe), "--pg-admin", pg_admin]
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


def _cpu(r: dict[str, Any]) -> float:
    """Dedup + match CPU ms per document: this process and the PostgreSQL server together."""
    keys = ("dedup_cpu_ms", "match_cpu_ms", "dedup_server_cpu_ms", "match_server_cpu_ms")
    return float(sum(r.get(k, 0.0) for k in keys))


def main() -> None:
    """Run the grid, print JSON lines and a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--probe", type=int, default=500, help="documents the per-doc cost is taken on")
    ap.add_argument(
        "--pg-admin", default=PG_ADMIN, help="PostgreSQL URL allowed to CREATE DATABASE"
    )
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per (backend, size)")
    ap.add_argument(
        "--direct-max",
        help="documents stored through store_article (more are preloaded in bulk); default 1000",
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    direct = {"sqlite": 1_000, "postgres": 1_000}
    if args.direct_max:
        if args.direct_max.isdigit():
            direct = dict.fromkeys(direct, int(args.direct_max))
        else:
            direct |= {k: int(v) for k, v in (p.split("=") for p in args.direct_max.split(","))}
    if args.worker:
        res = worker(args.worker, sizes[0], direct[args.worker], args.probe, args.pg_admin)
        print(json.dumps(res))
        return
    results = []
    for backend in args.backends.split(","):
        for size in sizes:
            res = run_one(backend, size, direct[backend], args.probe, args.pg_admin, args.timeout)
            print(json.dumps(res), flush=True)
            results.append(res)
    print()
    print(
        "| backend | documents stored | of which preloaded | docs/s (store_article) "
        "| dedup ms/doc | match ms/doc | dedup+match CPU ms/doc (incl. server) | peak RSS MB |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        if "error" in r:
            print(f"| {r['backend']} | {r['size']:,} | error: {r['error'][:60]} | | | | | |")
            continue
        print(
            f"| {r['backend']} | {r['documents']:,} | {r['preloaded']:,} | {r['docs_per_s']} "
            f"| {r['dedup_ms']} | {r['match_ms']} "
            f"| {round(_cpu(r), 2)} | {r['peak_rss_mb']} |"
        )
    for backend in args.backends.split(","):
        ok = [r for r in results if r["backend"] == backend and "error" not in r]
        if len(ok) >= 2:
            small, large = ok[0], ok[-1]
            ratio = (large["dedup_ms"] + large["match_ms"]) / (
                small["dedup_ms"] + small["match_ms"]
            )
            print(
                f"{backend}: dedup+match per document at {large['size']:,} / at {small['size']:,}"
                f" = {ratio:.2f} (goal < 1.5)"
            )


if __name__ == "__main__":
    main()
