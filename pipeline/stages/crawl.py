"""Run the crawlers: one ``scrapy crawlsource`` subprocess per source (or per group).

Spiders run in subprocesses because Twisted's reactor cannot be restarted: Airflow
tasks, tests and the CLI may crawl several times in one Python process. Each
subprocess counts its outcomes into the same ``runs`` row; this module starts that
run, waits for the subprocesses, records each source's overall success in
``crawl_state`` and returns the counters.

A crawl only fetches and records: an article page counts ``recorded`` (``unchanged`` when a
re-check fetched the same bytes again) and becomes a document when the process stage
(:mod:`pipeline.stages.process`) handles it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pipeline.config.hosts import check_production_hosts
from pipeline.config.settings import PROJECT_ROOT, get_settings
from pipeline.config.sources import SourceConfig, SourcesFile, load_sources
from pipeline.errors import InputError
from pipeline.store.crawlstate import SOURCE_KEY, upsert_state
from pipeline.store.db import session_scope, with_retries
from pipeline.store.models import CrawlState, Source
from pipeline.store.runs import finish_run, run_counts, start_run
from pipeline.store.sources import sync_sources

log = logging.getLogger(__name__)

# A whole source's crawl is abandoned after this long (a hung site must not block the day).
DEFAULT_TIMEOUT_S = 3600.0


@dataclass
class SourceCrawl:
    """What crawling one source (or group) did."""

    names: list[str]
    returncode: int
    seconds: float
    log_path: Path
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)  # source -> spider -> stats

    def stat(self, key: str, source: str | None = None) -> int:
        """Sum one numeric Scrapy stat over the spiders (of one source, or all)."""
        total = 0
        for name, spiders in self.stats.items():
            if source is not None and name != source:
                continue
            for values in spiders.values():
                value = values.get(key, 0)
                total += int(value) if isinstance(value, int | float) else 0
        return total


@dataclass
class CrawlReport:
    """The result of :func:`run_crawl`."""

    run_id: int
    crawls: list[SourceCrawl]
    counts: dict[str, Counter[str]]  # source name -> outcome -> n

    @property
    def ok(self) -> bool:
        """Every subprocess exited cleanly."""
        return all(c.returncode == 0 for c in self.crawls)

    def totals(self) -> Counter[str]:
        """Outcome counts over all sources."""
        out: Counter[str] = Counter()
        for per in self.counts.values():
            out.update(per)
        return out

    def requests(self, source: str | None = None) -> int:
        """HTTP requests sent (robots.txt included), as Scrapy counted them."""
        return sum(c.stat("downloader/request_count", source) for c in self.crawls)

    def article_pages(self, source: str | None = None) -> int:
        """Article pages fetched and recorded (full-text feed entries not included)."""
        return sum(c.stat("newsmon/article_pages", source) for c in self.crawls)


def _iso(value: datetime | str | None) -> str | None:
    """An argument for the subprocess: aware datetimes as ISO, strings as given."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def select_sources(sf: SourcesFile, names: list[str] | None) -> list[SourceConfig]:
    """The named sources (disabled ones included when named), else every enabled source."""
    if not names:
        return [s for s in sf.sources if s.crawl.enabled]
    known = {s.name: s for s in sf.sources}
    missing = [n for n in names if n not in known]
    if missing:
        raise InputError(
            f"unknown source(s) {', '.join(missing)}; known: {', '.join(sorted(known))}"
        )
    return [known[n] for n in names]


def scrapy_command(
    names: list[str],
    *,
    run_id: int,
    sources_file: Path,
    stats_file: Path,
    log_file: Path,
    since: str | None,
    until: str | None,
    polite: bool,
    recheck: bool,
    scrapy_settings: dict[str, str] | None,
) -> list[str]:
    """The ``scrapy crawlsource`` command line for one subprocess."""
    cmd = [sys.executable, "-m", "scrapy", "crawlsource", *names]
    cmd += ["--run-id", str(run_id), "--sources-file", str(sources_file)]
    cmd += ["--stats-file", str(stats_file), "-s", f"LOG_FILE={log_file}"]
    if since:
        cmd += ["--since", since]
    if until:
        cmd += ["--until", until]
    if not polite:
        cmd.append("--impolite")
    if not recheck:
        cmd.append("--no-recheck")
    for key, value in (scrapy_settings or {}).items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def run_crawl(
    sources: list[str] | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    *,
    sources_file: Path | None = None,
    polite: bool = True,
    recheck: bool = True,
    group: bool = False,
    parallel: int = 1,
    timeout: float = DEFAULT_TIMEOUT_S,
    scrapy_settings: dict[str, str] | None = None,
    on_done: Callable[[SourceCrawl], None] | None = None,
) -> CrawlReport:
    """Crawl sources for a window; without ``since`` each source resumes from its own state.

    ``group`` runs all sources in one subprocess (faster start-up, less isolation);
    ``parallel`` runs that many subprocesses at once; ``polite=False`` drops delays
    (replica benchmarks only). Returns per-source outcome counts for the new run.
    """
    settings = get_settings()
    path = sources_file or settings.sources_path
    sf = load_sources(path)
    selected = select_sources(sf, sources)
    check_production_hosts(sf, selected)
    since_s, until_s = _iso(since), _iso(until)
    started = datetime.now(UTC)

    def begin() -> int:
        with session_scope() as session:
            sync_sources(session, sf)
            params = {"sources": [s.name for s in selected], "since": since_s, "until": until_s}
            return start_run(session, "crawl", params).id

    run_id = with_retries(begin)
    work_dir = settings.var_dir / "crawl" / f"run-{run_id}"
    work_dir.mkdir(parents=True, exist_ok=True)
    groups = [[s.name for s in selected]] if group and selected else [[s.name] for s in selected]
    env = {
        **os.environ,
        "SCRAPY_SETTINGS_MODULE": "crawlers.settings",
        "NEWSMON_DATABASE_URL": settings.database_url,
    }

    def one(names: list[str]) -> SourceCrawl:
        label = names[0] if len(names) == 1 else "group"
        stats_file, log_file = work_dir / f"{label}.stats.json", work_dir / f"{label}.log"
        cmd = scrapy_command(
            names,
            run_id=run_id,
            sources_file=path,
            stats_file=stats_file,
            log_file=log_file,
            since=since_s,
            until=until_s,
            polite=polite,
            recheck=recheck,
            scrapy_settings=scrapy_settings,
        )
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd, cwd=PROJECT_ROOT, env=env, timeout=timeout, capture_output=True, check=False
            )
            code = proc.returncode
            if code != 0:
                log.warning("crawl of %s exited %s: %s", names, code, proc.stderr[-2000:])
        except subprocess.TimeoutExpired:
            code = -9
            log.warning("crawl of %s timed out after %ss", names, timeout)
        crawl = SourceCrawl(names, code, time.perf_counter() - t0, log_file)
        if stats_file.exists():
            crawl.stats = json.loads(stats_file.read_text(encoding="utf-8"))
        if on_done is not None:
            on_done(crawl)
        return crawl

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        crawls = list(pool.map(one, groups))
    explicit_until = until_s is not None

    def finish() -> dict[str, Counter[str]]:
        with session_scope() as session:
            by_id = {s.id: s.name for s in session.scalars(select(Source))}
            for crawl in crawls:
                for name in crawl.names:
                    _record_source_result(session, name, crawl, started, explicit_until)
            status = "ok" if all(c.returncode == 0 for c in crawls) else "partial"
            finish_run(session, run_id, status=status)
            counts: dict[str, Counter[str]] = {s.name: Counter() for s in selected}
            for (source_id, outcome), n in run_counts(session, run_id).items():
                counts.setdefault(by_id.get(source_id, "-"), Counter())[outcome] += n
            return counts

    return CrawlReport(run_id, crawls, with_retries(finish))


def _record_source_result(
    session: Any, name: str, crawl: SourceCrawl, started: datetime, explicit_until: bool
) -> None:
    """The source-level state row: a success when the process exited cleanly and every
    discovery URL it tried succeeded."""
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        return
    rows = session.scalars(
        select(CrawlState).where(CrawlState.source_id == source.id, CrawlState.key != SOURCE_KEY)
    )
    errors = [
        f"{r.key}: {r.last_error}"
        for r in rows
        if r.last_attempt_at is not None and r.last_attempt_at >= started and r.last_error
    ]
    ok = crawl.returncode == 0 and not errors
    values: dict[str, Any] = {
        "last_attempt_at": started,
        "last_status": crawl.returncode,
        "last_error": None if ok else ("; ".join(errors)[:2000] or f"exit {crawl.returncode}"),
    }
    if ok and not explicit_until:
        values["last_success_at"] = started
    upsert_state(session, source.id, SOURCE_KEY, "source", **values)
