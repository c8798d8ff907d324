"""Signed one-click links: "not relevant" from an alert, without a login and impossible to forge.

A link carries (story, topic, subscriber) signed with HMAC under ``NEWSMON_SECRET_KEY`` and a
timestamp; it is refused once older than ``NEWSMON_WEB_LINK_DAYS``. Opening it only shows a
confirmation page (mail scanners prefetch links); the page's button POSTs the judgement.

This module is imported by the alert renderer, so it imports neither FastAPI nor the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from pipeline.config.settings import get_settings

# Separates these signatures from any other use of the same key (CSRF tokens, sessions).
SALT = "newsmon.oneclick.v1"
ONECLICK_PATH = "/oneclick/"


class LinkRefused(ValueError):
    """A one-click link that is forged, damaged, expired or signed with another key."""


@dataclass(frozen=True)
class OneClick:
    """What a valid one-click link asks for."""

    story: int
    topic: str
    subscriber: str


def _serializer(secret: str) -> URLSafeTimedSerializer:
    """The signer for one-click links under ``secret``."""
    return URLSafeTimedSerializer(secret, salt=SALT)


def sign(story: int, topic: str, subscriber: str, *, secret: str | None = None) -> str:
    """The token of a one-click "not relevant" link."""
    key = secret if secret is not None else get_settings().secret_key
    if not key:
        raise LinkRefused("NEWSMON_SECRET_KEY is not set: one-click links cannot be signed")
    return str(_serializer(key).dumps({"s": story, "t": topic, "u": subscriber}))


def verify(token: str, *, secret: str | None = None, max_days: int | None = None) -> OneClick:
    """The request a token carries; LinkRefused when it is not one this key signed recently."""
    settings = get_settings()
    key = secret if secret is not None else settings.secret_key
    if not key:
        raise LinkRefused("one-click links are off here (NEWSMON_SECRET_KEY is not set)")
    days = max_days if max_days is not None else settings.web_link_days
    try:
        data: Any = _serializer(key).loads(token, max_age=days * 86_400)
    except SignatureExpired:
        raise LinkRefused(f"this link has expired (links are valid for {days} days)") from None
    except BadSignature:
        raise LinkRefused("this link is not valid (damaged, or signed elsewhere)") from None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("s"), int)
        and isinstance(data.get("t"), str)
        and isinstance(data.get("u"), str)
    ):
        raise LinkRefused("this link is not valid (unexpected content)")
    return OneClick(data["s"], data["t"], data["u"])


@dataclass(frozen=True)
class TopicLink:
    """A one-click "not relevant" link for one topic of a story."""

    topic_name: str
    url: str


@dataclass(frozen=True)
class EmailLinks:
    """What an alert links to in the analyst's view."""

    story_url: str
    not_relevant: tuple[TopicLink, ...]


def email_links(item: Any, subscriber_id: str) -> EmailLinks | None:
    """Links for one story of an alert (a ``render.StoryItem``); None when NEWSMON_WEB_URL is unset.

    The one-click links need NEWSMON_SECRET_KEY as well; without it only the story link is given.
    """
    settings = get_settings()
    if not settings.web_url:
        return None
    base = settings.web_url.rstrip("/")
    story = item.story
    links: list[TopicLink] = []
    if settings.secret_key:
        for view in item.views:
            token = sign(view.cluster_id, view.topic_id, subscriber_id)
            links.append(TopicLink(view.topic_name, f"{base}{ONECLICK_PATH}{token}"))
    return EmailLinks(f"{base}/stories/{story.cluster_id}", tuple(links))
