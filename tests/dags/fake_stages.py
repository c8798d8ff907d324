"""Run ``dag.test()`` with the crawl and alert stages replaced by recorders (test helper).

Usage: ``python tests/dags/fake_stages.py DAG_ID [CONF_JSON]`` with ``FAKE_LOG`` naming a JSON-lines
file that receives one line per stage call, and ``FAKE_FAIL`` a comma-separated list of sources
whose crawl fails for good. Processing, reporting and the database are the real ones; only the
stages other issues own (crawling, alerting) are replaced, so the DAG's wiring is what is tested.
"""

from __future__ import annotations

import json
import os
import sys
import types
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


def _record(**entry: Any) -> None:
    """Append one call to FAKE_LOG."""
    with Path(os.environ["FAKE_LOG"]).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, default=str) + "\n")


@dataclass
class FakeCrawlReport:
    """What a crawl returns: a run id and outcome counts."""

    run_id: int
    outcomes: dict[str, int] = field(default_factory=dict)


def run_crawl(
    source_names: list[str], since: datetime | None, until: datetime | None, **_: Any
) -> FakeCrawlReport:
    """Record the window; fail for good for the sources listed in FAKE_FAIL."""
    from airflow.sdk.exceptions import AirflowFailException

    failing = {s for s in os.environ.get("FAKE_FAIL", "").split(",") if s}
    _record(
        stage="crawl",
        sources=source_names,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
    )
    if failing & set(source_names):
        raise AirflowFailException(f"fake failure for {source_names}")
    return FakeCrawlReport(run_id=0, outcomes={"new": 2, "not_modified": 1})


@dataclass
class FakeAlertReport:
    """What an alert run returns."""

    sent: int = 0
    failed: int = 0
    subjects: list[str] = field(default_factory=list)


def run_alerts(*, mode: str = "scheduled", now: datetime | None = None) -> FakeAlertReport:
    """Record the mode."""
    _record(stage="alert", mode=mode)
    return FakeAlertReport(sent=1, subjects=["must not reach XCom"])


def install() -> None:
    """Register the fake modules before Airflow loads the DAGs."""
    crawl = types.ModuleType("pipeline.crawl")
    crawl.run_crawl = run_crawl  # type: ignore[attr-defined]
    alerts = types.ModuleType("pipeline.alerts")
    alerts.run_alerts = run_alerts  # type: ignore[attr-defined]
    sys.modules["pipeline.crawl"] = crawl
    sys.modules["pipeline.alerts"] = alerts


if __name__ == "__main__":
    install()
    from pipeline.airflow_env import main

    sys.exit(main(["dag-test", *sys.argv[1:]]))
