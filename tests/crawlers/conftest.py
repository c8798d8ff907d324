"""Crawler test fixtures: the offline replica and a sources file pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pipeline.config.settings import get_settings
from pipeline.config.sources import load_sources
from pipeline.devtools.replay import start_replay
from pipeline.devtools.replay.server import ReplayServer

# Topics for crawl tests (matching itself is tested elsewhere).
TOPICS = """\
topics:
  - id: border-demarcation
    name: Armenia-Azerbaijan border demarcation
    description: Delimitation and demarcation of the state border.
    any:
      - terms: {en: [demarcation, delimitation], ru: [делимитация, демаркация]}
"""


def replica_sources(replay: ReplayServer, names: list[str], out: Path) -> Path:
    """The replica's sources file (shipped sources + test sources, URLs on loopback)."""
    path = replay.write_sources(out, include_test_sources=True)
    sf = load_sources(path)
    missing = set(names) - {s.name for s in sf.sources}
    assert not missing, f"no replica for {missing}"
    # Tests never go online: every URL of the file is on the replica's loopback hosts.
    for src in sf.sources:
        for m in src.discovery:
            assert replay.host_prefix in (urlsplit(m.url).hostname or ""), m.url
    return path


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    """The replica on a free port; slow pages answer after 5 s (the tests' timeout is 2 s)."""
    with start_replay(port=0, slow_seconds=5.0) as server:
        yield server
    assert server.errors == []


@pytest.fixture
def crawl_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database plus a small topics file, for crawls in subprocesses."""
    topics = tmp_path / "topics.yaml"
    topics.write_text(TOPICS, encoding="utf-8")
    monkeypatch.setenv("NEWSMON_TOPICS_FILE", str(topics))
    get_settings.cache_clear()
    return db_url


# Short timeouts and one retry keep fault tests quick; politeness is off (loopback only).
FAST = {"DOWNLOAD_TIMEOUT": "2", "RETRY_TIMES": "1"}
