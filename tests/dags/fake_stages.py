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
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any


def _record(**entry: Any) -> None:
    """Append one call to FAKE_LOG."""
    with Path(os.environ["FAKE_LOG"]).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, default=str) + "\n")


def run_crawl(
    source_names: list[str], since: datetime | None, until: datetime | None, **_: Any
) -> Any:
    """Record the window; fail for good for the sources listed in FAKE_FAIL."""
    from pipeline.errors import ConfigError
    from pipeline.stages.crawl import CrawlReport, SourceCrawl

    failing = {s for s in os.environ.get("FAKE_FAIL", "").split(",") if s}
    _record(
        stage="crawl",
        sources=source_names,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
    )
    if failing & set(source_names):
        # A permanent library error: the DAG's fail_fast must fail the task without retries
        # (retries would wait minutes and then time the test out).
        raise ConfigError(f"fake failure for {source_names}")
    crawls = [SourceCrawl(source_names, 0, 0.1, Path("/dev/null"))]
    counts = {name: Counter({"new": 2, "not_modified": 1}) for name in source_names}
    return CrawlReport(run_id=0, crawls=crawls, counts=counts)


def run_alerts(*, mode: str = "scheduled", now: datetime | None = None, **_: Any) -> Any:
    """Record the mode; report one email sent (and a subject that must stay out of XCom)."""
    from pipeline.alerts import AlertReport

    _record(stage="alert", mode=mode)
    return AlertReport(mode=mode, emails_sent=1, subjects=["must not reach XCom"])


def install() -> None:
    """Swap the real stage functions for the recorders before Airflow loads the DAGs."""
    import pipeline.alerts
    import pipeline.stages.crawl

    pipeline.stages.crawl.run_crawl = run_crawl  # type: ignore[assignment]
    pipeline.alerts.run_alerts = run_alerts  # type: ignore[assignment]


if __name__ == "__main__":
    install()
    from pipeline.airflow.env import main

    sys.exit(main(["dag-test", *sys.argv[1:]]))
