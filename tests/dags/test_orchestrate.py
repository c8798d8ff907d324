"""The functions the DAG tasks call (pipeline.stages.orchestrate), without Airflow."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pipeline.errors import CrawlFailed, InputError
from pipeline.stages import orchestrate
from pipeline.store import db
from pipeline.store.models import Run

START = datetime(2026, 3, 1, 6, tzinfo=UTC)
END = START + timedelta(days=1)


def test_backfill_crawls_exactly_its_data_interval() -> None:
    assert orchestrate.crawl_window("backfill", START, END) == (START, END)


@pytest.mark.parametrize("run_type", ["scheduled", "manual", "asset_triggered", None])
def test_other_runs_crawl_since_each_sources_last_success(run_type: str | None) -> None:
    assert orchestrate.crawl_window(run_type, START, END) == (None, None)


def test_backfill_window_accepts_airflow_enum_and_iso_text() -> None:
    class RunType:  # how Airflow's DagRunType enum looks to us
        value = "backfill"

    got = orchestrate.crawl_window(RunType(), START.isoformat(), END.isoformat())
    assert got == (START, END)


def test_backfill_without_interval_is_an_input_error() -> None:
    with pytest.raises(InputError, match="data interval"):
        orchestrate.crawl_window("backfill", None, None)


@pytest.mark.parametrize(
    ("run_type", "requested", "mode"),
    [
        ("scheduled", "auto", "scheduled"),
        ("manual", None, "scheduled"),
        ("backfill", "auto", "backfill"),
        ("backfill", "none", "none"),
        ("scheduled", "instant", "instant"),
    ],
)
def test_alert_mode_follows_run_type_unless_asked(
    run_type: str, requested: str | None, mode: str
) -> None:
    assert orchestrate.alert_mode_for(run_type, requested) == mode


def test_unknown_alert_mode_is_rejected() -> None:
    with pytest.raises(InputError, match="expected one of"):
        orchestrate.alert_mode_for("scheduled", "loud")


@pytest.mark.parametrize(
    ("requested", "mode"), [(None, "reprocess"), ("digest", "reprocess"), ("none", "none")]
)
def test_reprocess_alerts_default_to_the_digest(requested: str | None, mode: str) -> None:
    assert orchestrate.reprocess_alert_mode(requested) == mode


def test_reprocess_window_days_are_inclusive_and_checked() -> None:
    since, until = orchestrate.reprocess_window("2026-03-01", "2026-03-02")
    assert since == datetime(2026, 3, 1, tzinfo=UTC)
    # The last moment of the last day: windows are closed, consumers keep ``when <= until``.
    assert until == datetime(2026, 3, 3, tzinfo=UTC) - timedelta(microseconds=1)
    assert orchestrate.reprocess_window(None, "") == (None, None)
    with pytest.raises(InputError, match="empty"):
        orchestrate.reprocess_window("2026-03-05", "2026-03-01")
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        orchestrate.reprocess_window("2026-13-01", None)


def test_source_names_lists_enabled_sources_and_checks_a_subset() -> None:
    names = orchestrate.source_names()
    assert "mid-ru" in names and len(names) == len(set(names))
    assert orchestrate.source_names(["tass", "mid-ru"]) == [
        n for n in names if n in {"tass", "mid-ru"}
    ]
    with pytest.raises(InputError, match="no-such-site"):
        orchestrate.source_names(["no-such-site"])


@dataclass
class FakeCrawl:
    returncode: int
    log_path: Path = Path("/tmp/x.log")


@dataclass
class FakeReport:
    run_id: int
    crawls: list[FakeCrawl]
    counts: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.returncode == 0 for c in self.crawls)


def test_crawl_source_passes_the_window_and_returns_counts_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[Any, ...]] = []

    def run_crawl(sources: list[str], since: Any, until: Any, *, polite: bool) -> FakeReport:
        calls.append((sources, since, until, polite))
        return FakeReport(7, [FakeCrawl(0)], {"tass": Counter(new=3, not_modified=2)})

    import pipeline.stages.crawl

    monkeypatch.setattr(pipeline.stages.crawl, "run_crawl", run_crawl)
    got = orchestrate.crawl_source(
        "tass", run_type="backfill", data_interval_start=START, data_interval_end=END
    )
    # Test mode crawls the loopback replica: no politeness delays there.
    assert calls == [(["tass"], START, END, False)]
    assert got["run_id"] == 7 and got["fetched"] == 5
    assert got["outcomes"] == {"new": 3, "not_modified": 2}
    json.dumps(got)  # XCom-serialisable: names, ISO window, counts


def test_a_failed_crawl_subprocess_fails_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.stages.crawl

    monkeypatch.setattr(
        pipeline.stages.crawl, "run_crawl", lambda *a, **k: FakeReport(8, [FakeCrawl(1)], {})
    )
    # A library error (retryable: the site may be back), not an Airflow one.
    with pytest.raises(CrawlFailed, match="crawl of tass failed"):
        orchestrate.crawl_source("tass")


def test_alert_counts_drop_everything_but_counts() -> None:
    @dataclass
    class Report:
        mode: str = "scheduled"
        run_id: int = 3
        emails_sent: int = 2
        planned: dict[str, int] = field(default_factory=lambda: {"pending": 4})
        subjects: list[str] = field(default_factory=lambda: ["Zangezur: a subject"])

    got = orchestrate._alert_counts(Report())
    assert got == {"run_id": 3, "emails_sent": 2, "planned": {"pending": 4}}


def test_report_records_the_run_and_names_failed_steps(db_url: str) -> None:
    ok = {"source": "tass", "run_id": 1, "fetched": 3, "outcomes": {"new": 3}}
    summary = orchestrate.report(
        dag_id="news_monitor",
        dag_run_id="manual__x",
        run_type="manual",
        expected_sources=["tass", "mid-ru"],
        crawls=[ok, None],
        steps={"process": {"run_id": 2, "outcomes": {"new": 3}}, "alert": None},
    )
    assert summary["failed"] == ["crawl:mid-ru", "alert"]
    with db.session_scope() as session:
        run = session.scalars(select(Run).where(Run.kind == "airflow")).one()
        assert run.status == "failed" and run.error == "failed: crawl:mid-ru, alert"
        assert run.params["crawl"]["tass"]["fetched"] == 3
    lines = orchestrate.summary_lines(summary)
    assert "  crawl tass: new 3" in lines and lines[-1] == "  FAILED: crawl:mid-ru, alert"


def test_report_of_a_clean_run_is_ok(db_url: str) -> None:
    summary = orchestrate.report(
        dag_id="topic_reprocess",
        dag_run_id="manual__y",
        run_type="manual",
        expected_sources=[],
        crawls=[],
        steps={"rematch": {"run_id": 1, "documents": 0}, "alert": {"emails_sent": 0}},
    )
    assert summary["failed"] == []
    with db.session_scope() as session:
        assert session.get(Run, summary["run_id"]).status == "ok"  # type: ignore[union-attr]
