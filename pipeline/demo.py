"""The offline demo: store the shipped fixture pages and summarise what was stored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.db import session_scope
from pipeline.ingest import ingest_paths
from pipeline.report import Story, stories, totals
from pipeline.settings import PROJECT_ROOT

DEMO_PAGES = PROJECT_ROOT / "tests" / "fixtures" / "demo"


@dataclass
class DemoResult:
    """The demo's summary; ``as_json`` gives the keys evaluation scripts read."""

    summary: dict[str, Any]
    per_outcome: dict[str, int]
    stories: list[Story]


def run_demo(pages: Path = DEMO_PAGES) -> DemoResult:
    """Ingest the demo pages into the configured database and summarise."""
    report = ingest_paths([pages])
    with session_scope() as session:
        summary = totals(session)
        listed = stories(session, limit=20)
    summary["new_documents"] = report.outcomes.get("new", 0) + report.outcomes.get("duplicate", 0)
    summary["emails_sent"] = 0
    summary["outbox"] = None
    return DemoResult(summary, report.outcomes, listed)
