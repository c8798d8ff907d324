"""Scrapy settings for newsmon. Politeness values come from NEWSMON_* settings.

Per-source values (delay, concurrency) are applied on top of these by the
``crawlsource`` command from ``seeds/sources.yaml``.
"""

from __future__ import annotations

from pipeline.config.settings import get_settings

_s = get_settings()

BOT_NAME = "newsmon"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"
COMMANDS_MODULE = "crawlers.commands"

# A descriptive User-Agent with a contact URL; robots.txt is matched against "newsmon".
USER_AGENT = _s.user_agent
ROBOTSTXT_OBEY = True
ROBOTSTXT_USER_AGENT = "newsmon"

# Politeness: one or two requests at a time per domain, a delay, and AutoThrottle to back
# off when the site slows down.
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = max(1, min(2, _s.concurrency_per_domain))
DOWNLOAD_DELAY = _s.download_delay
DOWNLOAD_DELAY_JITTER = 0.5  # +-50% around the delay, so requests do not tick like a clock
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = max(_s.download_delay, 1.0)
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Safety limits.
DOWNLOAD_MAXSIZE = _s.download_maxsize
DOWNLOAD_WARNSIZE = _s.download_maxsize // 2
DOWNLOAD_TIMEOUT = 30
REDIRECT_MAX_TIMES = 5  # a redirect loop ends quickly as a counted HTTP error
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
NEWSMON_RETRY_BACKOFF = 2.0  # seconds; doubled per attempt (BackoffRetryMiddleware)
NEWSMON_RETRY_BACKOFF_MAX = 60.0
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
HTTPCACHE_ENABLED = False  # incremental state lives in the database, not a hidden cache
METAREFRESH_ENABLED = False

DOWNLOADER_MIDDLEWARES = {
    # Our guard replaces Scrapy's offsite filter: it runs before the robots check and again
    # on every redirect, and raises an error the request's errback counts (Scrapy's filter
    # drops offsite redirects silently, leaving the page without an outcome).
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawlers.middlewares.SourceGuardMiddleware": 50,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.BackoffRetryMiddleware": 550,
}
ITEM_PIPELINES = {"crawlers.pipelines.RecordPipeline": 300}
# Source rows and crawl state: loaded when a spider opens, saved when it closes.
EXTENSIONS = {"crawlers.extensions.CrawlStateExtension": 500}

LOG_LEVEL = _s.log_level
FEED_EXPORT_ENCODING = "utf-8"
