"""Bad seed files: one clear error naming file, line and field, and nothing written.

Every case below is a valid base file with one mistake on the line marked ``# <-``. The error
must name that file, that line and the field; the commands that read the file (``newsmon
ingest`` for sources and topics, ``newsmon alerts send`` for subscribers, ``newsmon sources
check`` for all) exit 2 and leave the database as it was.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.alerts.subscribers import load_subscribers
from pipeline.config.settings import get_settings
from pipeline.config.sources import load_sources
from pipeline.errors import SeedError
from pipeline.topics import load_topics
from tests.conftest import FIXTURES
from tests.reliability.helpers import invoke, table_counts

SOURCES = """\
sources:
  - name: mfa-test
    type: ministry
    country: AM
    languages: [en]
    homepage: https://mfa.example/en/
    allowed_domains: [mfa.example]
    discovery:
      - method: feed
        url: https://mfa.example/en/rss
"""
TOPICS = """\
topics:
  - id: border-demarcation
    name: Border demarcation
    description: Delimitation and demarcation of the state border.
    any:
      - terms: {en: [demarcation, delimitation]}
"""
SUBSCRIBERS = """\
subscribers:
  - id: desk
    email: desk@example.org
    topics: [border-demarcation]
    mode: instant
    since: 2026-01-01
"""
SECOND_SOURCE = """\
  - name: mfa-test
    type: wire
    country: AM
    languages: [en]
    homepage: https://wire.example/
    allowed_domains: [wire.example]
    discovery:
      - {method: feed, url: "https://wire.example/rss"}
"""

# (file kind, case, file text with the bad line marked "# <-", expected field)
CASES: list[tuple[str, str, str, str]] = [
    (
        "sources",
        "malformed-yaml",
        SOURCES.replace("type: ministry", "type: ministry: wire  # <-"),
        "yaml",
    ),
    (
        "sources",
        "unknown-key",
        SOURCES.replace("    type: ministry", "    type: ministry\n    typ: wire  # <-"),
        "sources[0].typ",
    ),
    (
        "sources",
        "wrong-type",
        SOURCES.replace("languages: [en]", "languages: {en: yes}  # <-"),
        "sources[0].languages",
    ),
    (
        "sources",
        "duplicate-id",
        SOURCES + SECOND_SOURCE.replace("mfa-test", "mfa-test  # <-"),
        "name",
    ),
    (
        "sources",
        "invalid-url",
        SOURCES.replace("homepage: https://mfa.example/en/", "homepage: mfa.example/en/  # <-"),
        "sources[0].homepage",
    ),
    (
        "sources",
        "duplicate-key",
        SOURCES.replace("    country: AM\n", "    country: AM\n    country: AZ  # <-\n"),
        "country",
    ),
    (
        "topics",
        "malformed-yaml",
        TOPICS.replace("name: Border demarcation", "name: Border: demarcation  # <-"),
        "yaml",
    ),
    (
        "topics",
        "unknown-key",
        TOPICS.replace("    description:", "    descripton: typo  # <-\n    description:"),
        "topics[0].descripton",
    ),
    (
        "topics",
        "wrong-type",
        TOPICS.replace("name: Border demarcation", "name: [Border, demarcation]  # <-"),
        "topics[0].name",
    ),
    (
        "topics",
        "duplicate-id",
        TOPICS
        + TOPICS.split("\n", 1)[1].replace(
            "- id: border-demarcation", "- id: border-demarcation  # <-"
        ),
        "id",
    ),
    (
        "topics",
        "empty-rule",
        # The rule belongs to the topic: the error points at the topic's first line.
        TOPICS.replace("- id: border-demarcation", "- id: border-demarcation  # <-").replace(
            "    any:\n      - terms: {en: [demarcation, delimitation]}\n", "    any: []\n"
        ),
        "topics[0]",
    ),
    (
        "topics",
        "empty-value",  # a key with nothing after it (was a raw YAML traceback)
        TOPICS.replace(
            "    description: Delimitation and demarcation of the state border.",
            "    description:  # <-",
        ),
        "topics[0].description",
    ),
    (
        "topics",
        "empty-terms",
        TOPICS.replace("{en: [demarcation, delimitation]}", "{en: []}  # <-"),
        "topics[0].any[0].terms",
    ),
    (
        "subscribers",
        "malformed-yaml",
        SUBSCRIBERS.replace("mode: instant", "mode: instant: digest  # <-"),
        "yaml",
    ),
    (
        "subscribers",
        "unknown-key",
        SUBSCRIBERS.replace("    mode: instant", "    mood: instant  # <-"),
        "subscribers[0].mood",
    ),
    (
        "subscribers",
        "wrong-type",
        SUBSCRIBERS.replace("    mode: instant", "    mode: digest\n    digest_hour: eight  # <-"),
        "subscribers[0].digest_hour",
    ),
    (
        "subscribers",
        "duplicate-id",
        SUBSCRIBERS + SUBSCRIBERS.split("\n", 1)[1].replace("- id: desk", "- id: desk  # <-"),
        "subscribers[1].id",
    ),
    (
        "subscribers",
        "invalid-url",
        SUBSCRIBERS.replace(
            "    mode: instant", "    webhook: ftp://hooks.example/x  # <-\n    mode: instant"
        ),
        "subscribers[0].webhook",
    ),
    (
        "subscribers",
        "not-an-email",
        SUBSCRIBERS.replace("email: desk@example.org", "email: desk at example.org  # <-"),
        "subscribers[0].email",
    ),
    (
        "subscribers",
        "two-addresses",
        SUBSCRIBERS.replace("email: desk@example.org", "email: a@example.org, b@example.org  # <-"),
        "subscribers[0].email",
    ),
    (
        "subscribers",
        "header-injection",
        SUBSCRIBERS.replace(
            "email: desk@example.org", 'email: "desk@example.org\\r\\nBcc: all@example.org"  # <-'
        ),
        "subscribers[0].email",
    ),
]
LOADERS = {"sources": load_sources, "topics": load_topics, "subscribers": load_subscribers}


def _write(tmp_path: Path, kind: str, text: str) -> tuple[Path, int]:
    """Write the file; return it and the number of the line marked ``# <-``."""
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text, encoding="utf-8")
    (line,) = [i for i, t in enumerate(text.splitlines(), 1) if t.rstrip().endswith("# <-")]
    return path, line


@pytest.mark.parametrize(
    ("kind", "case", "text", "field"), CASES, ids=[f"{k}-{c}" for k, c, _, _ in CASES]
)
def test_bad_seed_names_file_line_and_field(
    kind: str, case: str, text: str, field: str, tmp_path: Path
) -> None:
    path, line = _write(tmp_path, kind, text)
    with pytest.raises(SeedError) as err:
        LOADERS[kind](path)
    exc = err.value
    assert exc.path == str(path)
    assert exc.line == line, str(exc)
    assert field in exc.field, str(exc)
    assert str(exc).startswith(f"{path}:{line}: ")
    assert exc.problem  # says what is wrong


def test_base_files_are_valid(tmp_path: Path) -> None:
    """The control: without the mistake each base file loads."""
    for kind, text in (("sources", SOURCES), ("topics", TOPICS), ("subscribers", SUBSCRIBERS)):
        path = tmp_path / f"{kind}.yaml"
        path.write_text(text, encoding="utf-8")
        LOADERS[kind](path)


ENV = {
    "sources": "NEWSMON_SOURCES_FILE",
    "topics": "NEWSMON_TOPICS_FILE",
    "subscribers": "NEWSMON_SUBSCRIBERS_FILE",
}
# The command that reads each file first.
COMMAND = {
    "sources": ["ingest", str(FIXTURES / "demo")],
    "topics": ["ingest", str(FIXTURES / "demo")],
    "subscribers": ["alerts", "send"],
}
# One case of each kind through the command line (the loaders above cover every case).
CLI_CASES = [
    c for c in CASES if c[1] in {"unknown-key", "duplicate-id", "empty-rule", "not-an-email"}
]


@pytest.mark.parametrize(
    ("kind", "case", "text", "field"), CLI_CASES, ids=[f"{k}-{c}" for k, c, _, _ in CLI_CASES]
)
def test_bad_seed_stops_the_command_and_writes_nothing(
    kind: str,
    case: str,
    text: str,
    field: str,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = {"sources": SOURCES, "topics": TOPICS, "subscribers": SUBSCRIBERS}
    for k, body in good.items():
        ok = tmp_path / f"good-{k}.yaml"
        ok.write_text(body, encoding="utf-8")
        monkeypatch.setenv(ENV[k], str(ok))
    path, line = _write(tmp_path, kind, text)
    monkeypatch.setenv(ENV[kind], str(path))
    monkeypatch.setenv("NEWSMON_SMTP_URL", "smtp://127.0.0.1:9?starttls=0")
    get_settings.cache_clear()
    before = table_counts(db_url)
    code, out, err = invoke(COMMAND[kind], capsys)
    assert code == 2, (out, err)
    assert f"error: {path}:{line}: " in err and field in err
    assert table_counts(db_url) == before  # nothing written
    code, out, err = invoke(["sources", "check"], capsys)
    # (rich wraps long lines at the terminal width: compare without whitespace)
    assert code == 2 and f"{path}:{line}" in re.sub(r"\s+", "", out + err)
