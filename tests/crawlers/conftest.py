"""Crawler test fixtures: the offline replica and a sources file pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from pipeline.replay import start_replay
from pipeline.replay.server import ReplayServer
from pipeline.settings import get_settings
from pipeline.sources import load_sources, parse_sources

SITES = Path(__file__).resolve().parents[1] / "fixtures" / "sites"
# Topics for crawl tests (matching itself is tested elsewhere).
TOPICS = """\
topics:
  - id: border-demarcation
    name: Armenia-Azerbaijan border demarcation
    description: Delimitation and demarcation of the state border.
    any:
      - terms: {en: [demarcation, delimitation], ru: [делимитация, демаркация]}
"""


def _rewrite_template(replay: ReplayServer, url: str) -> str:
    """Rewrite a URL or a URL template ({page}, {date:...}) to the replica."""
    cut = url.find("{")
    if cut < 0:
        return replay.rewrite_url(url)
    prefix = url[:cut]
    return replay.rewrite_url(prefix) + url[cut:]


def replica_sources(replay: ReplayServer, names: list[str], out: Path) -> Path:
    """The shipped sources ``names`` pointed at the replica (hosts -> loopback IPs)."""
    data: dict[str, Any] = load_sources().model_dump(mode="json", exclude_none=True)
    # Replica-only test sources (e.g. replica-faults) are declared in their site.yaml.
    for site_yaml in sorted(SITES.glob("*/site.yaml")):
        extra = yaml.safe_load(site_yaml.read_text(encoding="utf-8")).get("source")
        if extra:
            data["sources"].append(extra)
    keep = []
    for src in data["sources"]:
        if src["name"] not in names:
            continue
        # Methods on hosts the replica does not serve are dropped: tests never go online.
        src["discovery"] = [
            m for m in src["discovery"] if replay.has_replica(urlsplit(m["url"]).hostname or "")
        ]
        hosts: set[str] = set()
        for m in src["discovery"]:
            for key in ("url", "page_url", "archive_url"):
                if key in m:
                    m[key] = _rewrite_template(replay, m[key])
                    hosts.add(urlsplit(m[key].split("{")[0]).hostname or "")
        src["homepage"] = replay.rewrite_url(src["homepage"])
        hosts.add(urlsplit(src["homepage"]).hostname or "")
        # Every replica host of an allowed domain (kremlin.ru covers en.kremlin.ru too).
        for site in replay.sites:
            if any(site == d or site.endswith("." + d) for d in src["allowed_domains"]):
                hosts.add(replay.ip_for(site))
        src["allowed_domains"] = sorted(h for h in hosts if h)
        keep.append(src)
    out.write_text(yaml.safe_dump({"sources": keep}, allow_unicode=True, sort_keys=False))
    parse_sources(yaml.safe_load(out.read_text(encoding="utf-8")), file=str(out))
    return out


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
