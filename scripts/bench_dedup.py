"""Benchmark: dedup cost per document with 1k and with 100k stored documents.

Pre-extracted synthetic texts (no HTML) carrying names, numbers and dates, so that they
have cross-language evidence: two databases are filled by bulk insert with background
documents (1k and 100k, in English, arriving at ARRIVALS_PER_DAY), their content hash,
MinHash, LSH band and ``xl_bands`` rows computed by pipeline.dedup's own code, each in its
own cluster. Then the same new documents (half edited copies of stored ones, half new
stories, declared Russian, arriving the day after the archive's last document) are
assigned with ``pipeline.dedup.assign``, one transaction per document as the store does,
and removed again. A new story finds no copy, so it also runs the cross-language lookup
(``xl_bands`` within the day window) and weighs the evidence of every candidate in
another language. Rounds alternate between the two databases so that load from other
work on the machine hits both alike, and each size keeps its best round. The goal is a
ratio (100k / 1k) of at most 1.5: lookups on the indexed (band, bucket[, day]) pairs must
not grow with the number of stored documents.

    python scripts/bench_dedup.py [--small 1000] [--large 100000] [--new 500] [--rounds 3]
                                  [--database-url URL --small-database-url URL] [--markdown FILE]

Without database URLs it runs on two temporary SQLite files and judges the CPU
ratio (Python + SQLite work in this process, immune to other processes' load);
with PostgreSQL URLs (empty scratch databases: their tables are dropped and
recreated) it judges the wall-clock ratio, since the server does the work.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEED = 424242
VOCABULARY = 30_000
_SYLLABLES = [c + v for c in "bdgklmnprstvz" for v in "aeiou"] + ["ar", "en", "ov", "yan", "li"]
_LEADS = ["TASS reported that", "According to Armenpress,", "news.am reports:"]
_BOILERPLATE = [
    "Source link",
    "Read more:",
    "Subscribe to our Telegram channel for the latest news.",
]
# Names (capitalised mid-sentence), numbers and dates per sentence: the cross-language
# evidence a statement carries. A few names are frequent, most rare, as in the news.
NAMES = 3_000
_MONTHS = ["January", "March", "May", "June", "September", "November"]
# Stored documents arrive at this rate (about fifty sources); the version lookup looks
# at a window of days around a document, so its cost follows the rate, not the archive.
ARRIVALS_PER_DAY = 300
ARCHIVE_START = datetime(2024, 1, 1, tzinfo=UTC)


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """Pseudo-words with Zipf-like cumulative weights (a few very common, a long tail)."""
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4))))
    ordered = sorted(words)
    rng.shuffle(ordered)
    cum, total = [], 0.0
    for rank in range(1, len(ordered) + 1):
        total += 1 / rank**1.05
        cum.append(total)
    return ordered, cum


def _texts(n: int, seed: int) -> Iterator[tuple[str, str]]:
    """``n`` synthetic (title, text) pairs: 3-6 paragraphs of 2-4 sentences of 8-22 words.

    Each sentence names one or two people or places and may carry a figure or a date.
    """
    rng = random.Random(seed)
    words, cum = _vocabulary(rng)
    names = [w.capitalize() for w in words[:NAMES]]
    name_cum = [1 / rank for rank in range(1, NAMES + 1)]
    name_cum = [sum(name_cum[: i + 1]) for i in range(NAMES)]

    def sentence() -> str:
        s = rng.choices(words, cum_weights=cum, k=rng.randint(8, 22))
        for name in rng.choices(names, cum_weights=name_cum, k=rng.randint(1, 2)):
            s.insert(rng.randint(1, len(s)), name)
        if rng.random() < 0.3:
            s.insert(rng.randint(1, len(s)), str(rng.randint(2, 5000)))
        if rng.random() < 0.15:
            s.insert(rng.randint(1, len(s)), f"{rng.randint(1, 28)} {rng.choice(_MONTHS)}")
        text = " ".join(s)
        return text[0].upper() + text[1:] + "."

    for _ in range(n):
        paragraphs = [
            " ".join(sentence() for _ in range(rng.randint(2, 4))) for _ in range(rng.randint(3, 6))
        ]
        yield sentence()[:-1], "\n\n".join(paragraphs)


def _edit(title: str, text: str, rng: random.Random) -> tuple[str, str]:
    """A republished copy: new headline, lead line, maybe cut to >= 60%, boilerplate."""
    paragraphs = text.split("\n\n")
    if rng.random() < 0.5 and len(paragraphs) > 3:
        paragraphs = paragraphs[: max(3, int(len(paragraphs) * 0.75))]
    paragraphs[0] = f"{rng.choice(_LEADS)} {paragraphs[0]}"
    paragraphs.append(rng.choice(_BOILERPLATE))
    return "Copy: " + title, "\n\n".join(paragraphs)


def _bulk_insert(engine: Any, texts: list[tuple[str, str]], start: int) -> None:
    """Insert background documents, their clusters and LSH rows in bulk."""
    from sqlalchemy import insert, update

    from pipeline.dedup import fingerprint
    from pipeline.dedup.versions import EPOCH
    from pipeline.store.models import Cluster, Document, LshBand, XlBand

    docs, clusters, bands, xl = [], [], [], []
    for i, (title, text) in enumerate(texts, start=start):
        fp = fingerprint(title, text)
        seen = _arrival(i)
        day = (seen.date() - EPOCH).days
        url = f"https://bench.example/{i}"
        clusters.append(
            {
                "id": i,
                "origin_document_id": None,
                "size": 1,
                "first_seen_at": seen,
                "updated_at": seen,
            }
        )
        docs.append(
            {
                "id": i,
                "url_hash": f"{i:064x}",
                "url": url,
                "canonical_url": url,
                "title": title,
                "text": text,
                "extraction_method": "bench",
                "content_hash": fp.content_hash,
                "search_text": "",
                "minhash": fp.minhash,
                "cluster_id": i,
                "language": "en",
                "first_seen_at": seen,
                "update_count": 0,
            }
        )
        bands.extend({"document_id": i, "band": b, "bucket": k} for b, k in enumerate(fp.buckets))
        xl.extend(
            {"document_id": i, "band": b, "bucket": k, "day": day}
            for b, k in enumerate(fp.xl_buckets)
        )
    with engine.begin() as conn:
        conn.execute(insert(Cluster), clusters)
        conn.execute(insert(Document), docs)
        for chunk in range(0, len(bands), 50_000):
            conn.execute(insert(LshBand), bands[chunk : chunk + 50_000])
        for chunk in range(0, len(xl), 50_000):
            conn.execute(insert(XlBand), xl[chunk : chunk + 50_000])
        conn.execute(
            update(Cluster)
            .where(Cluster.id >= start, Cluster.origin_document_id.is_(None))
            .values(origin_document_id=Cluster.id)
        )


def _arrival(i: int) -> datetime:
    """When stored document ``i`` (from 1) arrived: ARRIVALS_PER_DAY from ARCHIVE_START."""
    return ARCHIVE_START + timedelta(days=(i - 1) / ARRIVALS_PER_DAY)


def _round(
    engine: Any, new: list[tuple[str, str]], first_id: int, arrived: datetime
) -> tuple[float, float, dict[str, int]]:
    """Assign ``new`` one document per transaction, as the store does; undo it afterwards.

    Returns wall-clock and CPU seconds per document for assign + commit, and the
    result kinds. CPU time (this process: Python and SQLite) is what the work
    costs whatever else the machine runs; wall time includes waiting for it.
    """
    from sqlalchemy.orm import Session

    from pipeline.dedup import assign
    from pipeline.store.models import Document

    kinds: dict[str, int] = {}
    wall = cpu = 0.0
    with Session(engine) as session:
        for n, (title, body) in enumerate(new, start=first_id):
            url = f"https://bench.example/new/{n}"
            doc = Document(
                id=n,
                url_hash=f"{n:064x}",
                url=url,
                canonical_url=url,
                title=title,
                text=body,
                extraction_method="bench",
                content_hash="",
                search_text="",
                language="ru",
                first_seen_at=arrived,
                update_count=0,
            )
            session.add(doc)
            session.flush()
            w0, c0 = time.perf_counter(), time.process_time()
            result = assign(session, doc)
            session.commit()
            wall += time.perf_counter() - w0
            cpu += time.process_time() - c0
            kinds[result.kind] = kinds.get(result.kind, 0) + 1
    _undo(engine, first_id)
    return wall / len(new), cpu / len(new), kinds


def _undo(engine: Any, first_id: int) -> None:
    """Delete the timed documents, their bands and the clusters they started.

    Foreign-key checks are off meanwhile: ``documents.duplicate_of_id`` has no
    index, so checking each deleted row would scan every stored document.
    """
    from sqlalchemy import delete

    from pipeline.store.models import Cluster, Document, LshBand, XlBand

    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        else:
            conn.exec_driver_sql("SET session_replication_role = replica")
        try:
            new_clusters = Cluster.origin_document_id >= first_id
            conn.execute(delete(Cluster).where(new_clusters))
            conn.execute(delete(LshBand).where(LshBand.document_id >= first_id))
            conn.execute(delete(XlBand).where(XlBand.document_id >= first_id))
            conn.execute(delete(Document).where(Document.id >= first_id))
            conn.commit()
        finally:
            conn.rollback()
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            else:
                conn.exec_driver_sql("SET session_replication_role = DEFAULT")
                conn.commit()


def _prepare(url: str) -> Any:
    """A migrated, empty database at ``url``."""
    from sqlalchemy import text

    from pipeline.store import db

    engine = db.get_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    db.ensure_schema(url)
    return engine


def _build(url: str, background: list[tuple[str, str]]) -> Any:
    """A database holding ``background`` (bulk-inserted), analysed for the planner."""
    from sqlalchemy import text

    engine = _prepare(url)
    t0 = time.perf_counter()
    for chunk in range(0, len(background), 10_000):
        _bulk_insert(engine, background[chunk : chunk + 10_000], chunk + 1)
        if len(background) > 10_000:
            print(f"  stored {min(chunk + 10_000, len(background)):,}", flush=True)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Explicit ids do not advance PostgreSQL's sequences; new rows must come after them.
            for table in ("documents", "clusters"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT MAX(id) FROM {table}))"
                    )
                )
        conn.execute(text("ANALYZE"))
    print(f"stored {len(background):,} in {time.perf_counter() - t0:.0f}s", flush=True)
    return engine


def run(
    small_url: str, large_url: str, small: int, large: int, n_new: int, rounds: int
) -> dict[str, Any]:
    """Measure both sizes in alternating rounds; keep each size's best round."""
    rng = random.Random(SEED)
    print(f"generating {large:,} background texts and {n_new} new documents ...", flush=True)
    background = list(_texts(large, SEED))
    fresh = list(_texts(n_new // 2, SEED + 1))
    # Copies of documents stored at both sizes, so both do the same work.
    copies = [_edit(*background[rng.randrange(small)], rng) for _ in range(n_new - len(fresh))]
    new = copies + fresh
    rng.shuffle(new)
    engines = {
        "small": _build(small_url, background[:small]),
        "large": _build(large_url, background),
    }
    first_new = large + 1_000
    # New documents arrive the day after each archive's last document.
    arrived = {
        "small": _arrival(small) + timedelta(days=1),
        "large": _arrival(large) + timedelta(days=1),
    }
    for size, engine in engines.items():
        _round(engine, new[:50], first_new, arrived[size])  # warm-up: caches, compiled SQL
    best: dict[str, tuple[float, float]] = {}
    kinds: dict[str, dict[str, int]] = {}
    for r in range(rounds):
        for size, engine in engines.items():
            wall, cpu, kinds[size] = _round(engine, new, first_new, arrived[size])
            prev = best.get(size, (float("inf"), float("inf")))
            best[size] = (min(prev[0], wall), min(prev[1], cpu))
            print(
                f"  round {r + 1} {size}: {wall * 1000:.2f} ms/doc wall, "
                f"{cpu * 1000:.2f} ms/doc CPU",
                flush=True,
            )
    if kinds["small"] != kinds["large"]:
        print(f"  note: results differ by size (versions found in the larger archive): {kinds}")
    backend = engines["large"].dialect.name
    for engine in engines.values():
        engine.dispose()
    return {
        "backend": backend,
        "kinds": kinds["large"],
        "kinds_small": kinds["small"],
        "small": best["small"],
        "large": best["large"],
        "ratio_wall": best["large"][0] / best["small"][0],
        "ratio_cpu": best["large"][1] / best["small"][1],
    }


def main() -> int:
    """Run the benchmark and print the markdown row."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=500, help="documents timed at each size")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (best kept)")
    parser.add_argument("--database-url", help="scratch database for the large size")
    parser.add_argument("--small-database-url", help="scratch database for the small size")
    parser.add_argument("--markdown", type=Path, help="append the result row to this file")
    args = parser.parse_args()
    if bool(args.database_url) != bool(args.small_database_url):
        parser.error("give both --database-url and --small-database-url, or neither (SQLite)")
    with tempfile.TemporaryDirectory(prefix="newsmon-bench-dedup-") as tmp:
        small_url = args.small_database_url or f"sqlite:///{Path(tmp) / 'small.db'}"
        large_url = args.database_url or f"sqlite:///{Path(tmp) / 'large.db'}"
        res = run(small_url, large_url, args.small, args.large, args.new, args.rounds)
    (sw, sc), (lw, lc) = res["small"], res["large"]
    row = (
        f"| dedup assign + commit, {res['backend']} "
        f"| {args.small:,} stored: {sw * 1000:.2f} ms/doc ({sc * 1000:.2f} CPU) "
        f"| {args.large:,} stored: {lw * 1000:.2f} ms/doc ({lc * 1000:.2f} CPU) "
        f"| ratio {res['ratio_wall']:.2f} wall, {res['ratio_cpu']:.2f} CPU (goal <= 1.5) "
        f"| {datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {args.new} docs "
        f"({res['kinds']}), best of {args.rounds} alternating rounds |"
    )
    print(f"ratio {res['ratio_wall']:.2f} wall-clock, {res['ratio_cpu']:.2f} CPU (goal <= 1.5)")
    print(row)
    if args.markdown:
        with args.markdown.open("a", encoding="utf-8") as fh:
            fh.write(row + "\n")
    goal = res["ratio_cpu"] if res["backend"] == "sqlite" else res["ratio_wall"]
    return 0 if goal <= 1.5 else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
