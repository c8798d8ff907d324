"""Response helpers and the mapping from Scrapy/Twisted failures to counted outcomes."""

from __future__ import annotations

from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.defer import CancelledError
from twisted.python.failure import Failure

from crawlers.middlewares import RefusedRequest
from pipeline.errors import Outcome


def first_url(response: Response) -> str:
    """The URL originally requested (before any redirect)."""
    return str(response.meta.get("redirect_urls", [response.url])[0])


def header(response: Response, name: str) -> str | None:
    """A response header as text."""
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def classify_failure(failure: Failure) -> tuple[Outcome, str]:
    """Map a Scrapy/Twisted failure to the outcome it counts as, with a reason."""
    exc = failure.value
    if isinstance(exc, RefusedRequest):
        return exc.outcome, str(exc)
    if isinstance(exc, HttpError):
        return Outcome.HTTP_ERROR, f"HTTP {exc.response.status}"
    if isinstance(exc, IgnoreRequest):
        text = str(exc)
        if "robots.txt" in text:
            return Outcome.ROBOTS_DENIED, text
        return Outcome.HTTP_ERROR, text or "request ignored"
    if isinstance(exc, DownloadCancelledError | CancelledError):
        return Outcome.TOO_LARGE, str(exc) or "download cancelled (larger than DOWNLOAD_MAXSIZE)"
    return Outcome.HTTP_ERROR, f"{exc.__class__.__name__}: {exc}"
