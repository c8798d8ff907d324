"""The host guard, failure classification, and the crawl-state table."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.middlewares import OffsiteRequest, PrivateHostRefused, SourceGuardMiddleware
from crawlers.outcomes import classify_failure
from pipeline.config.settings import get_settings
from pipeline.errors import Outcome
from pipeline.store.crawlstate import SOURCE_KEY, list_states, reset_state, states_for, upsert_state
from pipeline.store.db import session_scope
from pipeline.store.models import Source


class _Stats:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, n: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + n


def guard(domains: list[str]) -> SourceGuardMiddleware:
    """A guard for a fake crawler whose spider allows ``domains``."""
    crawler: Any = SimpleNamespace(spider=SimpleNamespace(allowed_domains=domains), stats=_Stats())
    return SourceGuardMiddleware(crawler)


def test_guard_allows_source_hosts_and_subdomains() -> None:
    g = guard(["kremlin.ru"])
    g.process_request(Request("http://kremlin.ru/events/all/feed"))
    g.process_request(Request("http://en.kremlin.ru/events/all/feed"))


def test_guard_rejects_offsite_requests_and_redirect_targets() -> None:
    g = guard(["tass.com", "tass.ru"])
    with pytest.raises(OffsiteRequest, match=r"evil\.example"):
        g.process_request(Request("https://evil.example/tass.com"))
    with pytest.raises(OffsiteRequest):
        g.process_request(Request("https://nottass.com/x"))
    assert g.crawler.stats.values["newsmon/offsite_refused"] == 2


def test_production_mode_refuses_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_MODE", "production")
    get_settings.cache_clear()
    g = guard(["127.0.0.11"])
    with pytest.raises(PrivateHostRefused, match="production"):
        g.process_request(Request("http://127.0.0.11:8800/en/rss.php"))
    monkeypatch.setenv("NEWSMON_MODE", "test")
    get_settings.cache_clear()
    guard(["127.0.0.11"]).process_request(Request("http://127.0.0.11:8800/en/rss.php"))


def _failure(exc: Exception) -> Failure:
    try:
        raise exc
    except Exception:  # noqa: BLE001 - building a Failure needs the active exception
        return Failure()


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (IgnoreRequest("Forbidden by robots.txt"), Outcome.ROBOTS_DENIED),
        (IgnoreRequest("max redirections reached"), Outcome.HTTP_ERROR),
        (OffsiteRequest("host 'x' outside"), Outcome.OFFSITE),
        (DownloadCancelledError("larger than download max size"), Outcome.TOO_LARGE),
        (TimeoutError("took too long"), Outcome.HTTP_ERROR),
        (
            HttpError(Response("https://tass.com/a", status=500), "Ignoring non-200 response"),
            Outcome.HTTP_ERROR,
        ),
    ],
)
def test_classify_failure(exc: Exception, outcome: Outcome) -> None:
    got, reason = classify_failure(_failure(exc))
    assert got == outcome
    assert reason


def test_crawl_state_upsert_list_reset(any_db_url: str) -> None:
    t1 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    t2 = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    with session_scope() as session:
        src = Source(name="mid-ru", type="ministry", country="RU", languages=["en"], config={})
        session.add(src)
        session.flush()
        sid = src.id
        upsert_state(session, sid, "https://mid.ru/en/rss.php", "feed", etag='"a"', high_water=t1)
        upsert_state(session, sid, "https://mid.ru/en/rss.php", "feed", last_success_at=t2)
        upsert_state(session, sid, SOURCE_KEY, "source", last_success_at=t2)
    with session_scope() as session:
        rows = states_for(session, sid)
        feed = rows["https://mid.ru/en/rss.php"]
        # The second upsert only touched last_success_at: the rest survived.
        assert (feed.etag, feed.high_water, feed.last_success_at) == ('"a"', t1, t2)
        views = list_states(session, "mid-ru")
        assert [v.key for v in views] == ["", "https://mid.ru/en/rss.php"]
        assert list_states(session, "other") == []
        with pytest.raises(TypeError, match="unknown crawl_state columns"):
            upsert_state(session, sid, "k", "feed", bogus=1)
    with session_scope() as session:
        assert reset_state(session, sid) == 2
    with session_scope() as session:
        assert states_for(session, sid) == {}


def test_backoff_grows_and_is_capped() -> None:
    from crawlers.middlewares import backoff_delay

    assert [backoff_delay(n, 2.0, 60.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert backoff_delay(10, 2.0, 60.0) == 60.0
    assert backoff_delay(3, 0.0, 60.0) == 0.0
