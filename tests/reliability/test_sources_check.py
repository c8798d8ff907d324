"""``newsmon sources check`` refuses what the runtime refuses, before any run.

A subscription to a topic the topics file does not define (a typo alerts nothing, silently) and,
in production mode, sources on loopback, private, link-local or metadata hosts (the crawl refuses
them) make the check exit 2 naming file, line and each culprit. ``alerts send`` refuses an
unknown subscribed topic as well, before its run starts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipeline.config.hosts import check_production_hosts
from pipeline.config.settings import get_settings
from pipeline.config.sources import load_sources
from pipeline.errors import ConfigError
from pipeline.store.db import session_scope
from pipeline.store.models import Run
from tests.alerts_data import topic
from tests.reliability.helpers import invoke

TOPICS = """\
topics:
  - id: zangezur-corridor
    name: Zangezur corridor
    description: The transport route through southern Armenia.
    any:
      - terms: {en: [Zangezur corridor]}
  - id: peace-treaty
    name: Peace treaty
    description: The peace agreement between Armenia and Azerbaijan.
    any:
      - terms: {en: [peace treaty]}
"""
SUBSCRIBERS = """\
subscribers:
  - id: desk
    email: desk@example.org
    topics: [peace-treaty]
    since: 2026-01-01
  - id: south
    email: south@example.org
    topics: [peace-treaty, zangezur-coridor]
    since: 2026-01-01
"""
TYPO_LINE = next(i for i, t in enumerate(SUBSCRIBERS.splitlines(), 1) if "coridor" in t)
SOURCES = """\
sources:
  - name: public
    type: ministry
    country: AM
    languages: [en]
    homepage: https://mfa.example/en/
    allowed_domains: [mfa.example]
    discovery:
      - {method: feed, url: "https://mfa.example/en/rss"}
"""
LOCAL_SOURCE = """\
  - name: {name}
    type: media
    country: AM
    languages: [en]
    homepage: http://{host}/
    allowed_domains: ["{host}"]
    discovery:
      - {{method: feed, url: "http://{host}/rss"}}
"""
LOCAL_HOSTS = {
    "loopback": "127.0.0.200",
    "this-machine": "localhost",
    "private": "10.1.2.3",
    "metadata": "169.254.169.254",
}


@pytest.fixture
def seeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Valid sources, topics and subscribers files in force (tests overwrite one)."""
    paths = {}
    for kind, text in (("sources", SOURCES), ("topics", TOPICS), ("subscribers", SUBSCRIBERS)):
        path = tmp_path / f"{kind}.yaml"
        path.write_text(text.replace("zangezur-coridor", "zangezur-corridor"), encoding="utf-8")
        monkeypatch.setenv(f"NEWSMON_{kind.upper()}_FILE", str(path))
        paths[kind] = path
    get_settings.cache_clear()
    return paths


def _flat(text: str) -> str:
    """Output without whitespace (rich wraps long lines at the terminal width)."""
    return re.sub(r"\s+", "", text)


def test_valid_seeds_pass(seeds: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """The control: the same files without the mistakes are OK."""
    code, out, err = invoke(["sources", "check"], capsys)
    assert code == 0, err
    assert out.count("OK ") == 3


def test_unknown_subscribed_topic_fails_the_check(
    seeds: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    seeds["subscribers"].write_text(SUBSCRIBERS, encoding="utf-8")
    code, out, err = invoke(["sources", "check"], capsys)
    assert code == 2, out + err
    flat = _flat(out + err)
    assert f"{seeds['subscribers']}:{TYPO_LINE}:subscribers[1].topics[1]" in flat
    assert "unknowntopic'zangezur-coridor'" in flat
    assert "didyoumean'zangezur-corridor'" in flat


def test_alerts_send_refuses_an_unknown_subscribed_topic(
    db_url: str,
    seeds: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seeds["subscribers"].write_text(SUBSCRIBERS, encoding="utf-8")
    monkeypatch.setenv("NEWSMON_SMTP_URL", "smtp://127.0.0.1:9?starttls=0")
    get_settings.cache_clear()
    with session_scope() as session:  # the topics a process run stores
        topic(session, "zangezur-corridor")
        topic(session, "peace-treaty")
    code, out, err = invoke(["alerts", "send"], capsys)
    assert code == 2, out + err
    assert f"error: {seeds['subscribers']}:{TYPO_LINE}: " in err
    assert "'zangezur-coridor'" in err
    with session_scope() as session:  # refused before its run started
        assert session.scalar(select(func.count()).select_from(Run)) == 0


def _local_sources() -> str:
    """One source per kind of host production mode refuses, after a public one."""
    return SOURCES + "".join(
        LOCAL_SOURCE.format(name=name, host=host) for name, host in LOCAL_HOSTS.items()
    )


def test_production_check_names_every_local_host(
    seeds: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _local_sources()
    seeds["sources"].write_text(text, encoding="utf-8")
    monkeypatch.setenv("NEWSMON_MODE", "production")
    get_settings.cache_clear()
    code, out, err = invoke(["sources", "check"], capsys)
    assert code == 2, out + err
    flat = _flat(out + err)
    lines = text.splitlines()
    for name, host in LOCAL_HOSTS.items():
        line = lines.index(f'    allowed_domains: ["{host}"]') + 1
        assert f"{seeds['sources']}:{line}:" in flat, name
        assert f"source'{name}':host'{host}'" in flat, name
    assert "'public'" not in flat


def test_test_mode_allows_local_hosts(
    seeds: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The offline replica runs on loopback: test mode (the suite's) accepts it."""
    seeds["sources"].write_text(_local_sources(), encoding="utf-8")
    code, _out, err = invoke(["sources", "check"], capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    "host",
    ["127.1", "0x7f.0.0.1", "2130706433", "0.0.0.0", "foo.localhost", "100.64.0.1"],
)
def test_production_crawl_refuses_other_spellings_of_local_hosts(
    host: str, seeds: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the resolver reads as a local address is refused, without any DNS lookup."""
    seeds["sources"].write_text(
        LOCAL_SOURCE.format(name="odd", host=host).join(["sources:\n", ""]), encoding="utf-8"
    )
    monkeypatch.setenv("NEWSMON_MODE", "production")
    get_settings.cache_clear()
    sf = load_sources()
    with pytest.raises(ConfigError, match=re.escape(f"host '{host}'")):
        check_production_hosts(sf, sf.sources)
