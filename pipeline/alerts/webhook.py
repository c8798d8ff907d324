"""Webhooks: one JSON POST per new story and subscription, retried like email from the same ledger.

Each delivery carries ``X-Newsmon-Delivery`` (stable across retries, like an email's Message-ID) so
a receiver can drop the rare repeat from the crash window described in README "Alerts".
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from pipeline.alerts.claims import LEASE, Clock, expire, hold, mark_sent
from pipeline.alerts.send import Group, SendReport, claim_groups, max_age, still_ours, story_views
from pipeline.alerts.subscribers import SubscriberSet
from pipeline.config.settings import get_settings
from pipeline.errors import SendError
from pipeline.store.db import session_scope
from pipeline.store.models import utcnow

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0
Poster = Callable[[str, dict[str, Any], str], None]


class WebhookFailed(SendError):
    """The receiver did not answer 2xx; ``unreachable`` when it could not be reached at all."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirected POST would silently turn into a GET: treat it as a failure instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _where(url: str) -> str:
    """The receiver without path or query (they may hold a secret token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def post_json(url: str, payload: dict[str, Any], delivery_id: str) -> None:
    """POST ``payload``; any non-2xx answer or network error raises WebhookFailed."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": get_settings().user_agent,
            "X-Newsmon-Delivery": delivery_id,
        },
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=TIMEOUT_S) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise WebhookFailed(f"webhook {_where(url)} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WebhookFailed(
            f"webhook {_where(url)} unreachable: {reason}", unreachable=True
        ) from None
    if not 200 <= status < 300:
        raise WebhookFailed(f"webhook {_where(url)} answered HTTP {status}")


def build_payload(session: Session, group: Group, now: datetime) -> dict[str, Any] | None:
    """The JSON body for one story; None when the story vanished."""
    fresh, caught = story_views(session, group)
    items = fresh or caught
    if not items:
        return None
    item = items[0]
    story = item.story.as_json()
    story.pop("topic", None)
    story.pop("passages", None)
    return {
        "event": "story",
        "delivery_id": group.message_id.strip("<>"),
        "subscription": group.subscriber.id,
        "sent_at": now.isoformat(),
        "caught_up": bool(caught) and not fresh,
        "story": story,
        "matches": [
            {
                "topic": {"id": v.topic_id, "name": v.topic_name},
                "terms": list(v.terms),
                "passages": [{"field": p.field, "text": p.text} for p in v.passages],
            }
            for v in item.views
        ],
    }


def send_webhooks(
    subs: SubscriberSet,
    *,
    now: datetime | None = None,
    url: str | None = None,
    poster: Poster | None = None,
    lease: timedelta = LEASE,
) -> SendReport:
    """POST every due webhook row (webhooks are never digested); failures are held and retried.

    A receiver may be fixed by its owner at any time, so every failure is held (with backoff)
    until the alert is older than NEWSMON_ALERT_MAX_AGE_DAYS.
    """
    now = now or utcnow()
    clock = Clock(now)
    post = poster or post_json
    report = SendReport()
    report.expired = expire(url, "webhook", now, max_age())
    groups = claim_groups(url, subs, "webhook", now, lease)
    unreachable: set[str] = set()
    for group in groups:
        ids = [r.id for r in group.rows]
        target = group.subscriber.webhook or ""
        if target in unreachable:
            # Same receiver already down this run: held, not an attempt.
            hold(url, ids, f"not tried: {_where(target)} unreachable", clock.now(), tried=False)
            report.released += len(ids)
            report.alerts_held += len(ids)
            continue
        if not still_ours(url, group, clock.now() + lease, report):
            continue
        with session_scope(url) as session:
            payload = build_payload(session, group, now)
        if payload is None:
            mark_sent(url, ids, clock.now())
            continue
        try:
            post(target, payload, payload["delivery_id"])
        except WebhookFailed as exc:
            report.messages_failed += 1
            hold(url, ids, str(exc), clock.now(), tried=True)
            report.alerts_held += len(ids)
            report.errors.append(str(exc))
            if exc.unreachable:
                unreachable.add(target)
            continue
        mark_sent(url, ids, clock.now())
        report.messages_sent += 1
        report.alerts_sent += len(ids)
        report.held_delivered += sum(r.status == "held" for r in group.rows)
    return report
