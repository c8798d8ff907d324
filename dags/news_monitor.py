"""
# news_monitor — the daily newsmon run

Every morning: **crawl** each configured source (one mapped task per source, so a failing source
fails and retries alone), **process** what was fetched and not processed yet (clean, deduplicate,
match topics), **alert** (send what is due), **report** (a summary in the `runs` table and in this
task's log).

* **Scheduled and manual runs** crawl each source since its own last successful crawl, so a
  missed day is caught up by the next run.
* **Backfill runs** (`airflow backfill create --dag-id news_monitor --from-date ... --to-date ...`)
  crawl exactly their data interval from the sources' archives and store what is missing; their
  alerts wait for each subscriber's next digest ("caught up").
* Storage is idempotent (unique keys in the database) and the alert ledger sends each story once,
  so a backfill overlapping a daily run stores nothing twice and sends nothing twice.

Schedule: daily at `NEWSMON_DAILY_HOUR` (0-23, default 6) in `NEWSMON_TIMEZONE`, both newsmon
settings read from the environment when this file is parsed; each run's data interval is the
preceding day.
Params (manual runs, `--dag-run-conf`): `sources` (subset of source names; empty = all) and
`alert_mode` (`auto` follows the run type; or `scheduled`, `backfill`/`digest`, `instant`, `none`).
A failed run emails `NEWSMON_OPERATOR_EMAIL` through the `smtp_default` connection.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from pipeline.airflow.tasks import fail_fast, fail_if_steps_failed
from pipeline.config.settings import load_settings

# Parse-time settings come from the environment only (standard library, no database, no Airflow
# Variable or connection lookups), so the dag-processor imports this file every few seconds at no
# cost. A bad value (NEWSMON_DAILY_HOUR=25, a typo'd NEWSMON_* name) is an import error naming it.
SETTINGS = load_settings()


def _on_failure() -> list[Any]:
    """Email the operator when a run fails (SMTP provider, connection ``smtp_default``).

    Attached to the ``report`` task, which fails exactly when a step of the run failed (it
    runs whatever happened upstream), so the operator gets one email per failed run, naming
    the failed steps. (A DAG-level callback would also work in production, but Airflow 3.3
    cannot render a notifier's templates in ``dag.test()`` runs: apache/airflow#64649.)
    """
    if not SETTINGS.operator_email:
        return []
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return [
        SmtpNotifier(
            to=SETTINGS.operator_email,
            # Unset: the connection's from_email decides (not the settings' localhost default).
            from_email=os.environ.get("NEWSMON_MAIL_FROM") or None,
            subject="[newsmon] {{ dag.dag_id }} run {{ run_id }} failed",
            html_content=(
                "<p>The newsmon run <b>{{ run_id }}</b> of <b>{{ dag.dag_id }}</b> failed: "
                "{{ exception }}</p>"
                "<p>Open the run in the Airflow UI and read the failed tasks' logs.</p>"
            ),
        )
    ]


DEFAULT_ARGS: dict[str, Any] = {
    "owner": "newsmon",
    # Sources and mail servers fail transiently; 3 retries at 2, 4, 8 minutes ride out a blip.
    "retries": 3,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(hours=2),
}


@dag(
    dag_id="news_monitor",
    schedule=CronDataIntervalTimetable(
        f"0 {SETTINGS.daily_hour} * * *", timezone=SETTINGS.timezone
    ),
    start_date=datetime(2025, 1, 1),
    # Missed days are caught up by the crawl itself (since each source's last success);
    # past windows are fetched on purpose with `airflow backfill create`.
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["newsmon", "crawl", "alerts", "daily"],
    doc_md=__doc__,
    params={
        "sources": Param(
            [],
            type="array",
            items={"type": "string"},
            description="Source names to crawl; empty = every enabled source.",
        ),
        "alert_mode": Param(
            "auto",
            enum=["auto", "scheduled", "backfill", "digest", "instant", "none"],
            description="auto: backfills into the next digest, other runs as subscribed.",
        ),
    },
)
def news_monitor() -> None:
    """Crawl (mapped per source) -> process -> alert -> report."""

    @task
    def sources(params: dict[str, Any] | None = None) -> list[str]:
        """The enabled source names (the crawl is mapped over them)."""
        from pipeline.stages import orchestrate

        with fail_fast():
            return orchestrate.source_names((params or {}).get("sources"))

    @task(map_index_template="{{ newsmon_source }}")
    def crawl(
        source: str,
        dag_run: Any = None,
        data_interval_start: Any = None,
        data_interval_end: Any = None,
    ) -> dict[str, Any]:
        """Crawl one source: since its last success, or exactly the interval in a backfill."""
        from pipeline.stages import orchestrate

        # map_index_template above renders this key: the UI labels each mapped crawl by source.
        context = get_current_context()
        context["newsmon_source"] = source  # type: ignore[typeddict-unknown-key]  # our own key
        with fail_fast():
            return orchestrate.crawl_source(
                source,
                run_type=dag_run.run_type if dag_run else None,
                data_interval_start=data_interval_start,
                data_interval_end=data_interval_end,
            )

    # One process/alert task at a time across runs: a backfill overlapping the daily run queues
    # behind it instead of racing it (the database's unique keys guard the rest).
    @task(trigger_rule="all_done", max_active_tis_per_dag=1)
    def process(crawls: Any) -> dict[str, Any]:
        """Clean, deduplicate and match everything fetched and not processed yet."""
        from pipeline.stages import orchestrate

        with fail_fast():
            return orchestrate.process()

    @task(trigger_rule="all_done", max_active_tis_per_dag=1)
    def alert(
        processed: Any, dag_run: Any = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send what is due (backfills: into the next digest)."""
        from pipeline.airflow.connections import smtp_mailer
        from pipeline.stages import orchestrate

        with fail_fast():
            mode = orchestrate.alert_mode_for(
                dag_run.run_type if dag_run else None, (params or {}).get("alert_mode")
            )
            return orchestrate.alert(mode=mode, mailer_factory=smtp_mailer)

    @task(trigger_rule="all_done", on_failure_callback=_on_failure())
    def report(
        expected: Any,
        crawls: Any,
        processed: Any,
        alerted: Any,
        dag_run: Any = None,
        data_interval_start: Any = None,
        data_interval_end: Any = None,
    ) -> dict[str, Any]:
        """Record the run summary; fail the run (and email the operator) if a step failed."""
        from pipeline.stages import orchestrate

        summary = orchestrate.report(
            dag_id=dag_run.dag_id,
            dag_run_id=dag_run.run_id,
            run_type=dag_run.run_type,
            expected_sources=None if expected is None else list(expected),
            crawls=crawls[:] if crawls is not None else [],
            steps={"process": processed, "alert": alerted},
            data_interval_start=data_interval_start,
            data_interval_end=data_interval_end,
        )
        fail_if_steps_failed(summary)
        return {"run_id": summary["run_id"], "failed": 0}

    names = sources()
    crawled = crawl.expand(source=names)
    processed = process(crawled)
    alerted = alert(processed)
    report(names, crawled, processed, alerted)


news_monitor()
