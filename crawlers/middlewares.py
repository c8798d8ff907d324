"""Downloader middlewares: the per-source host guard and retries with exponential backoff."""

from __future__ import annotations

import ipaddress
import logging
import socket
from functools import cache
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import task

from pipeline.config.settings import get_settings
from pipeline.config.sources import host_allowed
from pipeline.errors import Outcome

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)


class RefusedRequest(IgnoreRequest):
    """A request the guard refused; ``outcome`` is how it is counted."""

    outcome: Outcome = Outcome.OFFSITE


class OffsiteRequest(RefusedRequest):
    """A request (or redirect) to a host outside the source's allowed domains."""


class PrivateHostRefused(RefusedRequest):
    """Production mode never fetches loopback, private or link-local addresses."""


def _is_private_ip(value: str) -> bool:
    """True for loopback, private, link-local, reserved or unspecified addresses."""
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return False
    return bool(
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_unspecified
        or ip.is_multicast
    )


@cache
def resolves_private(host: str) -> bool:
    """True when ``host`` is, or resolves to, a non-public address (cached per process)."""
    if _is_private_ip(host.strip("[]")) or host == "localhost":
        return True
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # unresolvable: the download fails on its own and is counted there
    return any(_is_private_ip(str(info[4][0])) for info in infos)


class SourceGuardMiddleware:
    """Refuse requests outside the source's allowed domains (redirects included) and, in
    production mode, to loopback/private hosts. Runs on every request, so redirected
    requests are checked again before they are sent."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.production = get_settings().mode == "production"

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourceGuardMiddleware:
        """Scrapy factory."""
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        """Raise a RefusedRequest subclass for hosts the source may not reach."""
        spider = self.crawler.spider
        host = urlparse_cached(request).hostname or ""
        domains = list(getattr(spider, "allowed_domains", None) or [])
        stats = self.crawler.stats
        if domains and not host_allowed(host, domains):
            if stats:
                stats.inc_value("newsmon/offsite_refused")
            raise OffsiteRequest(f"host {host!r} is outside allowed_domains {domains}")
        if self.production and resolves_private(host):
            if stats:
                stats.inc_value("newsmon/private_refused")
            raise PrivateHostRefused(
                f"host {host!r} is loopback/private; refused in production mode "
                "(set NEWSMON_MODE=test or demo for the offline replica)"
            )


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Seconds before retry number ``attempt`` (1, 2, ...): base, 2*base, 4*base ... capped."""
    return float(min(cap, base * 2.0 ** max(0, attempt - 1)))


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry middleware, with an exponential pause before each retry (5xx, timeouts)."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("NEWSMON_RETRY_BACKOFF", 2.0)
        self.cap = settings.getfloat("NEWSMON_RETRY_BACKOFF_MAX", 60.0)

    async def _pause(self, retry: Request) -> None:
        """Wait before sending a retry, without blocking the reactor."""
        delay = backoff_delay(int(retry.meta.get("retry_times", 1)), self.base, self.cap)
        if delay > 0:
            from twisted.internet import reactor  # the reactor Scrapy installed

            await maybe_deferred_to_future(task.deferLater(reactor, delay, lambda: None))

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        """Retry listed HTTP codes after a pause."""
        result = super().process_response(request, response)
        if isinstance(result, Request):
            await self._pause(result)
        return result

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        """Retry network errors and timeouts after a pause (never refused requests)."""
        if isinstance(exception, IgnoreRequest):
            return None
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await self._pause(result)
        return result
