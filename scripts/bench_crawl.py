"""Benchmark: `newsmon crawl` throughput against the offline replica, as a ratio to bare Scrapy.

    .venv/bin/python scripts/bench_crawl.py [--group] [--parallel N] [--no-write]
                                            [--benchmarks FILE]

In one invocation, against the replica on loopback (``pipeline.devtools.replay``, every shipped
source it serves, fresh var dir and SQLite database, politeness off):

1. a first ``run_crawl`` over all replica sources (subprocess spiders, storing, cleaning,
   dedup and topic matching included), timed end to end;
2. a bare Scrapy spider in a subprocess that GETs exactly the URLs the first run requested
   (taken from the replica's request log, robots.txt included), with the same concurrency
   settings but no robots check, retries, redirects, middlewares of ours or pipelines;
3. an unchanged second ``run_crawl``: its request count, split into 304s, robots.txt and
   article pages (the incremental design says: no article page again, feeds answer 304).

Pages/s = HTTP requests answered by the replica / wall-clock seconds of the whole crawl
(process start-up included). The "in-crawl" figures use Scrapy's own ``elapsed_time_seconds``
(reactor running, start-up excluded), summed over newsmon's spiders. The markdown table is
printed and written as the ``## Crawling`` section of BENCHMARKS.md (unless --no-write).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Newsmon's impolite settings (crawlers/commands/crawlsource.py `--impolite` and
# crawlers/settings.py): the bare spider gets the same concurrency and timeouts.
CONCURRENCY = {"CONCURRENT_REQUESTS": 8, "CONCURRENT_REQUESTS_PER_DOMAIN": 8}

# The bare spider: only downloads. Runs with explicit settings (no project settings) in a
# fresh process, like newsmon's own spiders.
BARE_SPIDER = """
import json, sys
import scrapy
from scrapy.crawler import CrawlerProcess

urls = json.load(open(sys.argv[1], encoding="utf-8"))
settings = json.load(open(sys.argv[2], encoding="utf-8"))


class Bare(scrapy.Spider):
    name = "bare"

    async def start(self):
        for url in urls:
            yield scrapy.Request(url, callback=self.parse, errback=self.failed, dont_filter=True)

    def parse(self, response):
        return None

    def failed(self, failure):
        return None


process = CrawlerProcess(settings)
crawler = process.create_crawler(Bare)
process.crawl(crawler)
process.start()
json.dump(crawler.stats.get_stats(), open(sys.argv[3], "w", encoding="utf-8"), default=str)
"""


@dataclass
class Timing:
    """One measured crawl."""

    requests: int
    wall_s: float
    crawl_s: float  # Scrapy's elapsed_time_seconds (summed over spiders)

    @property
    def rate(self) -> float:
        """Requests per wall-clock second."""
        return self.requests / self.wall_s if self.wall_s else 0.0

    @property
    def crawl_rate(self) -> float:
        """Requests per second of running crawl."""
        return self.requests / self.crawl_s if self.crawl_s else 0.0


def load() -> str:
    """The 1-minute load average (the machine is shared)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def use_fresh_db(work: Path, label: str) -> None:
    """Point NEWSMON_* at a fresh var dir + SQLite DB (test mode) and create the schema."""
    var = work / f"var-{label}"
    var.mkdir()
    os.environ["NEWSMON_VAR_DIR"] = str(var)
    os.environ["NEWSMON_DATABASE_URL"] = f"sqlite:///{var / 'newsmon.db'}"
    os.environ["NEWSMON_MODE"] = "test"  # production mode refuses the loopback replica
    from pipeline.config.settings import get_settings
    from pipeline.store.db import ensure_schema

    get_settings.cache_clear()
    ensure_schema()


def spider_seconds(report: Any) -> float:
    """Scrapy's elapsed time summed over every spider newsmon ran."""
    total = 0.0
    for crawl in report.crawls:
        for spiders in crawl.stats.values():
            for stats in spiders.values():
                total += float(stats.get("elapsed_time_seconds", 0.0) or 0.0)
    return total


def run_bare(urls: list[str], work: Path, user_agent: str) -> tuple[float, dict[str, Any]]:
    """The bare spider over ``urls`` in a subprocess; (wall seconds, Scrapy stats)."""
    from pipeline.config.settings import get_settings

    script, url_file, cfg_file, stats_file = (
        work / "bare_spider.py",
        work / "urls.json",
        work / "bare_settings.json",
        work / "bare_stats.json",
    )
    script.write_text(BARE_SPIDER, encoding="utf-8")
    url_file.write_text(json.dumps(urls), encoding="utf-8")
    settings = {
        **CONCURRENCY,
        "ROBOTSTXT_OBEY": False,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "RETRY_ENABLED": False,  # each logged request (retries included) is in the list once
        "REDIRECT_ENABLED": False,  # redirect targets are in the list too
        "HTTPERROR_ALLOW_ALL": True,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "DOWNLOAD_TIMEOUT": 30,
        "DOWNLOAD_MAXSIZE": get_settings().download_maxsize,
        "USER_AGENT": user_agent,
        "LOG_LEVEL": "INFO",
        "LOG_FILE": str(work / "bare.log"),
    }
    cfg_file.write_text(json.dumps(settings), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCRAPY_", "NEWSMON_"))}
    t0 = time.perf_counter()
    # cwd=work: no scrapy.cfg there, so the project's settings and pipelines stay out.
    subprocess.run(
        [sys.executable, str(script), str(url_file), str(cfg_file), str(stats_file)],
        cwd=work,
        env=env,
        check=True,
    )
    wall = time.perf_counter() - t0
    return wall, json.loads(stats_file.read_text(encoding="utf-8"))


def _row(label: str, t: Timing) -> str:
    """One table row."""
    return (
        f"| {label} | {t.requests} | {t.wall_s:.1f} | {t.rate:.1f} | {t.crawl_s:.1f} "
        f"| {t.crawl_rate:.1f} |"
    )


def _ratio(label: str, t: Timing, bare: Timing) -> str:
    """A ratio row (newsmon pages/s over bare pages/s)."""
    wall = t.rate / bare.rate if bare.rate else 0.0
    crawl = t.crawl_rate / bare.crawl_rate if bare.crawl_rate else 0.0
    return f"| **ratio {label} / bare** | | | **{wall:.2f}** | | **{crawl:.2f}** |"


def section(
    per_source: Timing,
    grouped: Timing,
    bare: Timing,
    second: dict[str, int],
    outcomes: Counter[str],
    meta: dict[str, str],
) -> str:
    """The ``## Crawling`` section of BENCHMARKS.md."""
    outs = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
    loads = f"before: {meta['load_before']}, after: {meta['load_after']}"
    conc = CONCURRENCY["CONCURRENT_REQUESTS"], CONCURRENCY["CONCURRENT_REQUESTS_PER_DOMAIN"]
    window = f"window = last {meta['first_run_days']} days"
    cols = "requests | wall s | pages/s | in-crawl s | in-crawl pages/s"
    row2 = " | ".join(str(second[k]) for k in ("requests", "not_modified", "robots", "articles"))
    n_articles = outcomes.get("new", 0) + outcomes.get("duplicate", 0)
    return f"""## Crawling

Command: `make bench` (or `.venv/bin/python scripts/bench_crawl.py`). Measured {meta["date"]} on
{meta["machine"]}; load average (1/5/15 min) {loads}.

Offline replica on loopback (`pipeline.devtools.replay`; {meta["sources"]} shipped sources
covering feed, sitemap and listing discovery), a fresh var dir and SQLite
database per newsmon run, default topics, politeness off (`polite=False`: no delay, no
AutoThrottle, {conc[0]}
concurrent requests, {conc[1]} per domain). The bare spider is
plain Scrapy in one subprocess that GETs exactly the URLs the newsmon run requested (from the
replica's request log, robots.txt included) with the same concurrency and does nothing else
(median of {meta["bare_repeat"]} runs). Pages/s = requests answered / wall-clock seconds, process
start-up included; "in-crawl" uses Scrapy's `elapsed_time_seconds` (reactor running, summed over
newsmon's spiders), i.e. without interpreter start-up and imports.

| crawl (first run, {window}) | {cols} |
|---|---:|---:|---:|---:|---:|
{_row("bare Scrapy spider (same URLs)", bare)}
{_row("`newsmon crawl` (one subprocess per source, the default)", per_source)}
{_row("newsmon, all sources in one subprocess (`group=True`)", grouped)}
{_ratio("per source", per_source, bare)}
{_ratio("grouped", grouped, bare)}

First-run outcomes: {outs} (`listed` = feed/sitemap/listing pages read).

Unchanged second run (right after the grouped first run, same database and replica):

| requests | 304 not modified | robots.txt | article pages | other |
|---:|---:|---:|---:|---:|
| {row2} | {second["other"]} |

Where newsmon's time goes: a fresh Python process per source (imports of scrapy, SQLAlchemy,
trafilatura and datasketch, which pulls in scipy and redis: about 3 s of CPU), opening each
spider (sources file, crawl state) and cleaning, deduplicating and matching every page inside
the item pipeline. These are fixed or per-page costs the bare spider does not have; with only
{n_articles} articles on the replica, start-up dominates the per-source figure.
"""


def write_section(path: Path, text: str) -> None:
    """Replace (or append) the ``## Crawling`` section, leaving other sections alone."""
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Crawling\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        new = pattern.sub(lambda _: text.rstrip("\n") + "\n\n", current, count=1)
    else:
        new = current.rstrip("\n") + "\n\n" + text
    path.write_text(new.rstrip("\n") + "\n", encoding="utf-8")


def first_run(
    label: str, work: Path, replay: Any, opts: dict[str, Any]
) -> tuple[Any, Timing, list[Any]]:
    """A timed first newsmon crawl on a fresh database; (report, timing, request log)."""
    from pipeline.stages.crawl import run_crawl

    use_fresh_db(work, label)
    replay.clear_requests()
    t0 = time.perf_counter()
    report = run_crawl(**opts)
    wall = time.perf_counter() - t0
    log = replay.requests
    if not report.ok:
        print(f"warning: a newsmon crawl subprocess failed ({label}); logs in {work}")
    return report, Timing(len(log), wall, spider_seconds(report)), log


def main() -> int:
    """Run the crawls, print the tables and write BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bare-repeat", type=int, default=3, help="bare spider runs (median)")
    parser.add_argument("--benchmarks", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()

    load_before = load()
    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp:
        work = Path(tmp)
        from pipeline.config.settings import get_settings
        from pipeline.config.sources import load_sources
        from pipeline.devtools.replay import start_replay
        from pipeline.stages.crawl import run_crawl

        with start_replay(port=0) as replay:
            sources = replay.write_sources(work / "sources.yaml", include_test_sources=False)
            os.environ["NEWSMON_SOURCES_FILE"] = str(sources)
            names = [s.name for s in load_sources(sources).sources if s.crawl.enabled]
            opts: dict[str, Any] = {"sources_file": sources, "polite": False}

            # Grouped first, then its unchanged second run on the same database.
            grouped_report, grouped, log_g = first_run(
                "grouped", work, replay, {**opts, "group": True}
            )
            replay.clear_requests()
            second = run_crawl(**opts, group=True)
            log2 = replay.requests
            articles = {
                (site, a.path) for site in replay.sites for a in replay.articles(site, drafts=True)
            }
            report, per_source, log1 = first_run("per-source", work, replay, opts)
            if Counter((r.site, r.path) for r in log1) != Counter((r.site, r.path) for r in log_g):
                print("warning: the grouped and per-source runs requested different URLs")

            urls = [replay.url_for(r.site, r.path) for r in log1]
            bares: list[Timing] = []
            for _ in range(max(1, args.bare_repeat)):
                replay.clear_requests()
                bare_wall, bare_stats = run_bare(urls, work, get_settings().user_agent)
                elapsed = float(bare_stats.get("elapsed_time_seconds", 0.0))
                bares.append(Timing(len(replay.requests), bare_wall, elapsed))
            bare = sorted(bares, key=lambda t: t.wall_s)[len(bares) // 2]

    load_after = load()
    split = {
        "requests": len(log2),
        "not_modified": sum(r.status == 304 for r in log2),
        "robots": sum(r.path == "/robots.txt" for r in log2),
        "articles": sum((r.site, r.path.split("?")[0]) in articles for r in log2),
    }
    split["other"] = split["requests"] - split["not_modified"] - split["robots"] - split["articles"]
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"2 cores, shared ({platform.machine()}, Python {platform.python_version()})",
        "load_before": load_before,
        "load_after": load_after,
        "sources": str(len(names)),
        "bare_repeat": str(len(bares)),
        "first_run_days": str(get_settings().first_run_days),
    }
    text = section(per_source, grouped, bare, split, report.totals(), meta)
    print(text)
    print(
        f"check: newsmon scrapy request_count {report.requests()} / {grouped_report.requests()} "
        f"(replica log {len(log1)} / {len(log_g)}); bare runs "
        f"{[round(b.wall_s, 2) for b in bares]} s; second run: scrapy requests "
        f"{second.requests()}, article pages {second.article_pages()}, "
        f"outcomes {dict(second.totals())}"
    )
    if not args.no_write:
        write_section(args.benchmarks, text)
        print(f"written to {args.benchmarks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
