"""``newsmon run-day``: the whole day without Airflow (for cron or a systemd timer).

Crawl every enabled source since its own last successful crawl, process what was recorded, send
what is due, record the run's summary: the functions the ``news_monitor`` DAG's tasks call
(:mod:`pipeline.stages.orchestrate`), in the DAG's order and with its guarantees. A source whose
crawl fails does not stop the others; processing and alerting run whatever the crawls did (the
DAG's ``all_done``), so what was recorded is stored and what is due is sent; the summary names
what failed. Exit status: 0 the day completed; 3 it completed with failed sources or alerts held
for a retry (listed); 1 a stage could not run (listing the sources, processing, alerting; or an
alert refused for good).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline.cli import app
from pipeline.cli.common import console, out

if TYPE_CHECKING:
    from pipeline.alerts.smtp import Mailer

COMPLETED, COMPLETED_WITH_PROBLEMS, STAGE_FAILED = 0, 3, 1
DAY_ID = "run-day"  # the name the summary goes under in the runs table (the DAG's is its id)


@dataclass
class DayResult:
    """What one day did: per-source crawls, the process and alert steps, what failed."""

    started: datetime
    crawls: list[dict[str, Any]] = field(default_factory=list)
    failed_sources: dict[str, str] = field(default_factory=dict)  # name -> error
    processed: dict[str, Any] | None = None
    alerted: dict[str, Any] | None = None
    stage_errors: dict[str, str] = field(default_factory=dict)  # stage -> error
    held: str = ""  # alerts held for a retry: why
    summary: dict[str, Any] = field(default_factory=dict)  # orchestrate.report's

    @property
    def exit_code(self) -> int:
        """0 completed, 3 completed with failed sources or held alerts, 1 a stage failed."""
        if self.stage_errors:
            return STAGE_FAILED
        if self.failed_sources or self.held:
            return COMPLETED_WITH_PROBLEMS
        return COMPLETED

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly copy (the report's summary, the failures, the exit status)."""
        return {
            "started": self.started.isoformat(),
            "crawl": self.crawls,
            "failed_sources": self.failed_sources,
            "process": self.processed,
            "alert": self.alerted,
            "stage_errors": self.stage_errors,
            "held": self.held,
            "run_id": self.summary.get("run_id"),
            "exit_code": self.exit_code,
        }


def run_day(
    *,
    sources: list[str] | None = None,
    now: datetime | None = None,
    mailer_factory: Callable[[], Mailer] | None = None,
    say: Callable[[str], None] = lambda _msg: None,
) -> DayResult:
    """Crawl each source, process, alert, report: the DAG's tasks in order, without Airflow.

    ``now`` is the alert stage's clock (tests); ``mailer_factory`` the mail server (default:
    ``NEWSMON_SMTP_URL``, else Airflow's ``smtp_default`` connection, as ``alerts send``).
    """
    from pipeline.errors import NewsmonError
    from pipeline.stages import orchestrate
    from pipeline.store.models import utcnow

    result = DayResult(started=utcnow())
    names: list[str] | None
    try:
        names = orchestrate.source_names(sources)
    except NewsmonError as exc:
        names = None
        result.stage_errors["sources"] = str(exc)
    for name in names or []:
        say(f"crawl {name}")
        try:
            result.crawls.append(orchestrate.crawl_source(name))
        except NewsmonError as exc:  # CrawlFailed and the like: the other sources go on
            result.failed_sources[name] = str(exc)
    say("process")
    try:
        result.processed = orchestrate.process()
    except NewsmonError as exc:
        result.stage_errors["process"] = str(exc)
    say("alert")
    try:
        result.alerted = orchestrate.alert(
            mode="scheduled", now=now, mailer_factory=mailer_factory or _default_mailer()
        )
    except NewsmonError as exc:
        # DeliveryError (refused for good, given up, the mail server misconfigured), no mail
        # server configured, a bad subscribers file: the alert stage did not complete.
        result.stage_errors["alert"] = str(exc)
    if result.alerted and result.alerted.get("alerts_held"):
        result.held = f"{result.alerted['alerts_held']} alerts held for a retry by the next run"
    result.summary = orchestrate.report(
        dag_id=DAY_ID,
        dag_run_id=f"{DAY_ID}__{result.started.isoformat()}",
        run_type="scheduled",
        expected_sources=names,
        crawls=result.crawls,
        steps={"process": result.processed, "alert": result.alerted},
    )
    return result


def _default_mailer() -> Callable[[], Mailer]:
    """``NEWSMON_SMTP_URL``, else Airflow's ``smtp_default`` (read only if the URL is unset)."""
    from pipeline.airflow.connections import smtp_mailer

    return smtp_mailer


def _print(result: DayResult) -> None:
    """The day for people: per-source counts, the steps, what failed and the exit status."""
    for crawl in result.crawls:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(crawl["outcomes"].items()))
        out.print(f"crawl {crawl['source']}: {counts or 'nothing new'}", markup=False)
    if result.processed is not None:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(result.processed["outcomes"].items()))
        out.print(f"process: {counts or 'nothing to do'}", markup=False)
    if result.alerted is not None:
        a = result.alerted
        out.print(
            f"alert: {a.get('emails_sent', 0)} emails sent ({a.get('alerts_sent', 0)} alerts), "
            f"{a.get('webhooks_sent', 0)} webhooks, {a.get('pending', 0)} waiting for a digest",
            markup=False,
        )
    for name, error in result.failed_sources.items():
        console.print(f"failed source {name}: {error}", markup=False)
    if result.held:
        console.print(f"held: {result.held}", markup=False)
    for stage, error in result.stage_errors.items():
        console.print(f"stage {stage} could not run: {error}", markup=False)
    verdict = {
        COMPLETED: "the day completed",
        COMPLETED_WITH_PROBLEMS: "the day completed with problems (listed above)",
        STAGE_FAILED: "a stage could not run (listed above)",
    }[result.exit_code]
    out.print(f"{verdict}; run {result.summary.get('run_id')} in `newsmon runs`", markup=False)


@app.command("run-day")
def run_day_cmd(
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="Crawl only this source (repeatable); default: all."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the day's summary as one JSON object.")
    ] = False,
) -> None:
    """Run the whole day without Airflow (cron, systemd timer): crawl, process, alert, report.

    Every enabled source is crawled since its own last successful crawl, then what was recorded
    is processed and what is due is sent, as the news_monitor DAG does. Exit status: 0 the day
    completed; 3 it completed with failed sources or alerts held for a retry (listed); 1 a stage
    could not run.
    """
    quiet = as_json or not sys.stderr.isatty()
    result = run_day(sources=source, say=(lambda _m: None) if quiet else console.print)
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(), default=str, sort_keys=True) + "\n")
    else:
        _print(result)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
