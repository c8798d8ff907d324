"""Subscriptions as data: the models of ``seeds/subscribers.yaml`` and their loader.

Addresses and webhook URLs may be written as ``${VAR}`` or ``${VAR:-default}`` (shell syntax: the
default applies when VAR is unset or empty) so that no real address sits in the repository. Only
the ``email`` and ``webhook`` fields are expanded. Variable names must not start with ``NEWSMON_``:
that prefix is reserved for settings, and an unknown ``NEWSMON_*`` variable is a startup error.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from pipeline.config.seedfile import Loc, line_for, load_yaml, validate
from pipeline.config.settings import get_settings
from pipeline.errors import InputError, SeedError
from pipeline.text.window import parse_moment

# ${NAME} or ${NAME:-default}; NAME as in POSIX shells.
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
ALL_TOPICS = "*"


def expand_env(value: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace ``${VAR}`` / ``${VAR:-default}`` references; an unset VAR without default fails."""
    env = os.environ if environ is None else environ

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name.startswith("NEWSMON_"):
            raise ValueError(
                f"${{{name}}}: NEWSMON_* names are reserved for settings; use e.g. DESK_EMAIL"
            )
        got = env.get(name, "")
        if got:
            return got
        if default is None:
            raise ValueError(
                f"environment variable {name} is not set (or write ${{{name}:-default}})"
            )
        return default

    return _ENV_REF.sub(sub, value)


def _expanded(value: Any) -> Any:
    """Expand environment references in a string field before it is validated."""
    return expand_env(value) if isinstance(value, str) else value


def _address(value: str | None) -> str | None:
    """A single bare address (``name@host``); empty means "no email channel"."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    _, addr = parseaddr(value)
    if (
        addr != value
        or any(c.isspace() or ord(c) < 32 for c in value)
        or not re.fullmatch(r"[^@,;<>\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", value)
    ):
        raise ValueError(f"{value!r} is not a single e-mail address such as analyst@example.org")
    return value


def _webhook(value: str | None) -> str | None:
    """An http(s) URL; empty means "no webhook"."""
    if value is None or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.strip()


def _slug(value: str) -> str:
    """Subscriber ids key the ledger: never rename one (its stories would alert again)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,99}", value):
        raise ValueError(
            "must be a slug: lower-case letters, digits, '-' or '_' (e.g. caucasus-desk)"
        )
    return value


def _topic(value: str) -> str:
    """A topic id from seeds/topics.yaml, or ``*`` for every topic."""
    if value != ALL_TOPICS and not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,99}", value):
        raise ValueError(
            "must be a topic id from seeds/topics.yaml (e.g. zangezur-corridor) or '*'"
        )
    return value


def _lang(value: str) -> str:
    """ISO 639 code such as en, ru, hy, az."""
    if not re.fullmatch(r"[a-z]{2,3}", value):
        raise ValueError("must be an ISO 639 language code such as en, ru, hy, az")
    return value


def _moment(value: Any) -> Any:
    """A date means its midnight in NEWSMON_TIMEZONE; a naive timestamp is read in that zone."""
    if not isinstance(value, str | date):
        return value  # pydantic names what else it got
    try:
        return parse_moment(value, get_settings().tz)
    except InputError as exc:
        raise ValueError(str(exc)) from None


Slug = Annotated[str, BeforeValidator(_slug)]
TopicRef = Annotated[str, BeforeValidator(_topic)]
Lang = Annotated[str, BeforeValidator(_lang)]
Address = Annotated[str | None, BeforeValidator(lambda v: _address(_expanded(v)))]
WebhookUrl = Annotated[str | None, BeforeValidator(lambda v: _webhook(_expanded(v)))]
Since = Annotated[datetime, BeforeValidator(_moment)]


class Subscriber(BaseModel):
    """One subscription: who, which topics, how often, through which channels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    name: str = ""
    email: Address = None
    webhook: WebhookUrl = None
    topics: list[TopicRef] = Field(min_length=1)
    mode: Literal["instant", "digest"] = "digest"
    digest_hour: int = Field(default=8, ge=0, le=23)
    since: Since
    languages: list[Lang] = Field(default_factory=list)
    sources: list[Slug] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_channel(self) -> Subscriber:
        """A subscription that reaches nobody is a mistake."""
        if self.email is None and self.webhook is None:
            raise ValueError("needs an email address or a webhook URL (both resolved empty)")
        return self

    @property
    def label(self) -> str:
        """Human name for footers and lists."""
        return self.name or self.id

    @property
    def channels(self) -> tuple[str, ...]:
        """The delivery channels this subscription uses."""
        out: list[str] = []
        if self.email:
            out.append("email")
        if self.webhook:
            out.append("webhook")
        return tuple(out)

    def wants_topic(self, topic_id: str) -> bool:
        """True when ``topic_id`` is among the subscribed topics."""
        return ALL_TOPICS in self.topics or topic_id in self.topics


class SubscribersFile(BaseModel):
    """The whole ``seeds/subscribers.yaml``."""

    model_config = ConfigDict(extra="forbid")

    subscribers: list[Subscriber] = Field(default_factory=list)


@dataclass(frozen=True)
class SubscriberSet:
    """Validated subscriptions with the file they came from (for footers and errors)."""

    path: Path
    items: tuple[Subscriber, ...]
    lines: dict[Loc, int] = field(default_factory=dict, compare=False, repr=False)

    def __iter__(self) -> Iterator[Subscriber]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def get(self, subscriber_id: str) -> Subscriber | None:
        """The subscription with this id, if any."""
        return next((s for s in self.items if s.id == subscriber_id), None)

    def check_topics(self, known: set[str]) -> None:
        """Fail on a topic id that is not defined (a typo would silently alert nothing)."""
        for i, sub in enumerate(self.items):
            for j, topic in enumerate(sub.topics):
                if topic != ALL_TOPICS and topic not in known:
                    loc: Loc = ("subscribers", i, "topics", j)
                    close = difflib.get_close_matches(topic, sorted(known), n=1)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    listed = ", ".join(sorted(known)[:8]) or "none defined"
                    raise SeedError(
                        str(self.path),
                        line_for(loc, self.lines),
                        f"subscribers[{i}].topics[{j}]",
                        f"unknown topic {topic!r} ({hint}known: {listed})",
                    )


def load_subscribers(
    path: Path | None = None, *, known_topics: set[str] | None = None
) -> SubscriberSet:
    """Load and validate the subscribers file; errors name file, line and field."""
    path = path or get_settings().subscribers_path
    data, lines = load_yaml(path)
    parsed = validate(SubscribersFile, data if data is not None else {}, lines, str(path))
    seen: dict[str, int] = {}
    for i, sub in enumerate(parsed.subscribers):
        if sub.id in seen:
            loc: Loc = ("subscribers", i, "id")
            raise SeedError(
                str(path),
                line_for(loc, lines),
                f"subscribers[{i}].id",
                f"duplicate id {sub.id!r} (first used by subscribers[{seen[sub.id]}])",
            )
        seen[sub.id] = i
    result = SubscriberSet(path=path, items=tuple(parsed.subscribers), lines=lines)
    if known_topics is not None:
        result.check_topics(known_topics)
    return result
