"""The named failure vocabulary.

Every item the pipeline handles (a page, a document, an alert) ends with exactly
one counted :class:`Outcome`. Failures that end an item are raised as one of the
exceptions below, each carrying the outcome it counts as, so callers never need
``except Exception``.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """How one item ended; counted per source and run in ``run_counts``."""

    NEW = "new"
    DUPLICATE = "duplicate"  # a copy of a stored story (exact or near)
    UNCHANGED = "unchanged"  # same URL, same content: nothing to do
    UPDATED = "updated"  # same URL, materially changed text
    NOT_MODIFIED = "not_modified"  # HTTP 304
    ROBOTS_DENIED = "robots_denied"
    TOO_LARGE = "too_large"
    BAD_CONTENT = "bad_content"  # not HTML, undecodable, nothing extractable
    HTTP_ERROR = "http_error"
    OFFSITE = "offsite"  # redirect or link to a host outside the source
    OUT_OF_WINDOW = "out_of_window"
    LISTED = "listed"  # a feed, sitemap or listing page fetched and read (crawler)
    RECORDED = "recorded"  # a fetched page stored raw for the process stage (crawler)
    MATCHED = "matched"
    SENT = "sent"
    SEND_FAILED = "send_failed"
    HELD = "held"  # an alert not delivered this run, to be retried (the mail server away)
    SUPPRESSED = "suppressed"


class NewsmonError(Exception):
    """Base of all errors the project raises on purpose."""

    outcome: Outcome | None = None


class ConfigError(NewsmonError):
    """Bad settings or environment; message says which variable and what to do."""


class SeedError(NewsmonError):
    """A seed file is invalid; message names file, line and field."""

    def __init__(self, path: str, line: int | None, field: str, problem: str) -> None:
        self.path, self.line, self.field, self.problem = path, line, field, problem
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {field}: {problem}")


class DatabaseUnavailable(NewsmonError):
    """The database cannot be reached or opened."""


class ExtractionError(NewsmonError):
    """The page could not be turned into an article (empty, binary, undecodable)."""

    outcome = Outcome.BAD_CONTENT


class CrawlFailed(NewsmonError):
    """A source's crawl subprocess failed or timed out; worth retrying (the site may be back)."""


class InputError(NewsmonError):
    """A user-supplied file or stream is malformed; message names where."""


class SendError(NewsmonError):
    """An alert could not be delivered this time; it is held and retried."""

    outcome = Outcome.SEND_FAILED


class DeliveryError(NewsmonError):
    """Alerts failed for good (a recipient refused, too old) or the mail server is misconfigured."""

    outcome = Outcome.SEND_FAILED
