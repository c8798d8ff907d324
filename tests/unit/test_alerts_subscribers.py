"""seeds/subscribers.yaml: validation with file:line:field errors and ${VAR} address expansion."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.alerts.subscribers import expand_env, load_subscribers
from pipeline.config.settings import PROJECT_ROOT, get_settings
from pipeline.errors import SeedError

GOOD = """\
subscribers:
  - id: desk
    name: Desk
    email: ${DESK_TEST_EMAIL:-desk@example.org}
    topics: [zangezur-corridor]
    mode: instant
    since: 2025-06-01
  - id: hook
    webhook: ${HOOK_TEST_URL}
    topics: ["*"]
    since: 2025-06-01T12:00:00+04:00
    languages: [en, ru]
    sources: [mfa-am]
"""
FIXED = GOOD.replace("${HOOK_TEST_URL}", "${HOOK_TEST_URL:-https://h.example.org/}")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "subscribers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_file_is_valid_and_has_no_real_address() -> None:
    subs = load_subscribers(PROJECT_ROOT / "seeds" / "subscribers.yaml")
    assert len(subs) >= 2
    for sub in subs:
        assert sub.email is None or sub.email.endswith("@example.org")
    assert {s.mode for s in subs} == {"instant", "digest"}


def test_env_expansion_and_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_TEST_URL", "https://hooks.example.org/in/abc")
    subs = load_subscribers(write(tmp_path, GOOD))
    desk, hook = subs.items
    assert desk.email == "desk@example.org" and desk.channels == ("email",)
    assert hook.email is None and hook.channels == ("webhook",)
    assert hook.webhook == "https://hooks.example.org/in/abc"
    assert desk.since == datetime(2025, 6, 1, tzinfo=UTC)
    assert hook.since == datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
    assert hook.wants_topic("anything") and not desk.wants_topic("karabakh")
    monkeypatch.setenv("DESK_TEST_EMAIL", "real.person@mail.example.net")
    assert load_subscribers(write(tmp_path, GOOD)).items[0].email == "real.person@mail.example.net"


def test_since_date_is_midnight_in_configured_timezone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_TIMEZONE", "Asia/Yerevan")
    monkeypatch.setenv("HOOK_TEST_URL", "https://hooks.example.org/x")
    get_settings.cache_clear()
    desk = load_subscribers(write(tmp_path, GOOD)).items[0]
    assert desk.since == datetime(2025, 5, 31, 20, 0, tzinfo=UTC)  # Yerevan is UTC+4


def test_unset_variable_names_line_and_field(tmp_path: Path) -> None:
    with pytest.raises(SeedError) as err:
        load_subscribers(write(tmp_path, GOOD))
    assert err.value.line == 9
    assert err.value.field == "subscribers[1].webhook"
    assert "HOOK_TEST_URL is not set" in str(err.value)


@pytest.mark.parametrize(
    ("replace", "with_", "line", "field", "words"),
    [
        (
            "desk@example.org}",
            "desk@example.org, boss@example.org}",
            4,
            "subscribers[0].email",
            "single e-mail",
        ),
        ("mode: instant", "mode: hourly", 6, "subscribers[0].mode", "instant"),
        (
            "    name: Desk\n",
            "    name: Desk\n    colour: red\n",
            4,
            "subscribers[0].colour",
            "unknown key",
        ),
        ("- id: hook", "- id: desk", 8, "subscribers[1].id", "duplicate id"),
        ("since: 2025-06-01\n", "since: yesterday\n", 7, "subscribers[0].since", "date"),
        ("topics: [zangezur-corridor]", "topics: []", 5, "subscribers[0].topics", "at least 1"),
        (
            "${HOOK_TEST_URL:-https://h.example.org/}",
            "${NEWSMON_HOOK}",
            9,
            "subscribers[1].webhook",
            "reserved",
        ),
        (
            "${HOOK_TEST_URL:-https://h.example.org/}",
            "ftp://files.example.org/x",
            9,
            "subscribers[1].webhook",
            "http",
        ),
    ],
)
def test_bad_entries_name_file_line_and_field(
    tmp_path: Path, replace: str, with_: str, line: int, field: str, words: str
) -> None:
    assert replace in FIXED
    path = write(tmp_path, FIXED.replace(replace, with_))
    with pytest.raises(SeedError) as err:
        load_subscribers(path)
    assert err.value.path == str(path)
    assert err.value.field == field
    assert err.value.line == line
    assert words in str(err.value)


def test_subscription_without_any_channel_is_an_error(tmp_path: Path) -> None:
    text = (
        "subscribers:\n  - id: x\n    email: ${NOPE_X:-}\n    topics: [a]\n    since: 2025-01-01\n"
    )
    with pytest.raises(SeedError, match="email address or a webhook"):
        load_subscribers(write(tmp_path, text))


def test_unknown_topic_is_reported_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(SeedError) as err:
        load_subscribers(write(tmp_path, FIXED), known_topics={"karabakh"})
    assert err.value.line == 5 and "zangezur-corridor" in str(err.value)


def test_expand_env_syntax() -> None:
    env = {"A": "x", "EMPTY": ""}
    assert expand_env("${A}-${B:-dflt}-${EMPTY:-e}", env) == "x-dflt-e"
    assert expand_env("no refs $A", env) == "no refs $A"
    with pytest.raises(ValueError, match="B is not set"):
        expand_env("${B}", env)
