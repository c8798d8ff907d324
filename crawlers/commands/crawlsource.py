"""``scrapy crawlsource SOURCE... [--since D] [--until D]``: every spider a source needs.

For each source, the feed, sitemap and listing spiders it uses run one after another
(never side by side, so per-domain politeness holds), then the corrections re-check.
Per-source delay and concurrency from ``seeds/sources.yaml`` override the project
settings. Crawl stats are written as JSON to ``--stats-file`` for ``newsmon crawl``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError
from scrapy.utils.defer import deferred_from_coro

from crawlers.extensions import STATE_ERROR_STAT
from pipeline.config.sources import SourceConfig, load_sources

log = logging.getLogger(__name__)
SPIDER_ORDER = ("feed", "sitemap", "listing")


def spiders_for(cfg: SourceConfig, *, recheck: bool) -> list[str]:
    """The spider names a source needs, in running order."""
    kinds = {m.method for m in cfg.discovery}
    names: list[str] = [k for k in SPIDER_ORDER if k in kinds]
    if recheck:
        names.append("recheck")
    return names


class Command(ScrapyCommand):
    """Crawl whole sources (all their discovery methods) sequentially in one process."""

    requires_project = True

    def syntax(self) -> str:
        """Usage line."""
        return "[options] SOURCE [SOURCE ...]"

    def short_desc(self) -> str:
        """One-line help."""
        return "Run every discovery spider of the named sources, one after another"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """Window, run and politeness options."""
        super().add_options(parser)
        parser.add_argument("--since", help="window start (YYYY-MM-DD or ISO); makes a backfill")
        parser.add_argument("--until", help="window end (YYYY-MM-DD or ISO)")
        parser.add_argument("--run-id", help="runs.id to count outcomes into")
        parser.add_argument("--sources-file", help="sources YAML (default: configured)")
        parser.add_argument("--stats-file", help="write crawl stats here as JSON")
        parser.add_argument("--no-recheck", action="store_true", help="skip corrections re-check")
        parser.add_argument(
            "--impolite",
            action="store_true",
            help="no delay, no AutoThrottle, no retry backoff (replica benchmarks and tests only)",
        )

    def _settings_for(self, cfg: SourceConfig, impolite: bool) -> Any:
        """Project settings with the source's politeness applied."""
        assert self.settings is not None
        settings = self.settings.copy()
        if impolite:
            settings.set("DOWNLOAD_DELAY", 0, priority="cmdline")
            settings.set("AUTOTHROTTLE_ENABLED", False, priority="cmdline")
            settings.set("DOWNLOAD_DELAY_JITTER", 0, priority="cmdline")
            settings.set("NEWSMON_RETRY_BACKOFF", 0.0, priority="cmdline")
            settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", 8, priority="cmdline")
            return settings
        if cfg.crawl.delay is not None:
            settings.set("DOWNLOAD_DELAY", cfg.crawl.delay, priority="spider")
            settings.set("AUTOTHROTTLE_START_DELAY", max(cfg.crawl.delay, 1.0), priority="spider")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", cfg.crawl.concurrency, priority="spider")
        return settings

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Chain the crawls and run the reactor until the last one ends."""
        if not args:
            raise UsageError("name at least one source")
        sources_file = Path(opts.sources_file) if opts.sources_file else None
        catalogue = load_sources(sources_file)
        plan: list[tuple[SourceConfig, str]] = []
        for name in args:
            try:
                cfg = catalogue.get(name)
            except KeyError as exc:
                raise UsageError(str(exc)) from None
            recheck = not opts.no_recheck and opts.since is None and opts.until is None
            plan.extend((cfg, spider) for spider in spiders_for(cfg, recheck=recheck))
        process = self.crawler_process
        assert process is not None
        stats: dict[str, dict[str, Any]] = {}
        spargs = {
            "since": opts.since,
            "until": opts.until,
            "run_id": opts.run_id,
            "sources_file": opts.sources_file,
        }

        async def chain() -> None:
            for cfg, spider in plan:
                spidercls = process.spider_loader.load(spider)
                crawler = Crawler(spidercls, self._settings_for(cfg, opts.impolite))
                try:
                    await _wait(process.crawl(crawler, source=cfg.name, **spargs))
                except Exception as exc:  # one source failing must not stop the others
                    log.error("crawl %s/%s failed: %s", cfg.name, spider, exc, exc_info=True)
                    self.exitcode = 1
                run_stats = crawler.stats.get_stats() if crawler.stats else {}
                stats.setdefault(cfg.name, {})[spider] = run_stats
                if run_stats.get("finish_reason") not in (None, "finished"):
                    self.exitcode = 1
                if STATE_ERROR_STAT in run_stats:  # the crawl state was not saved
                    self.exitcode = 1
            if opts.stats_file:
                Path(opts.stats_file).write_text(
                    json.dumps(stats, default=str, indent=1), encoding="utf-8"
                )

        done = deferred_from_coro(chain())
        done.addBoth(lambda _: _stop_reactor())
        process.start(stop_after_crawl=False)
        if getattr(process, "bootstrap_failed", False):
            self.exitcode = 1


async def _wait(result: Any) -> None:
    """Await a crawl whether the process hands back a Deferred or an asyncio task."""
    from scrapy.utils.defer import maybe_deferred_to_future
    from twisted.internet.defer import Deferred

    if isinstance(result, Deferred):
        await maybe_deferred_to_future(result)
    else:
        await result


def _stop_reactor() -> None:
    """Stop the reactor once the chain has finished (successfully or not)."""
    from twisted.internet import reactor

    if reactor.running:
        reactor.stop()  # type: ignore[misc]  # twisted's reactor is typed as a module
