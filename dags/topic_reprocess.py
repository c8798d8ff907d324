"""
# topic_reprocess — match stored documents against the topics again

Triggered by hand after `seeds/topics.yaml` changes (a new topic, a new spelling, a narrower
rule). Re-matches the documents already stored, published in the chosen date range, and records
the matches that are new; nothing is fetched.

Params:

* `topic_ids` — topics to re-match (empty: every topic);
* `since`, `until` — publication dates `YYYY-MM-DD` in `NEWSMON_TIMEZONE`, inclusive (empty: open);
* `alert_mode` — `digest` (default: new matches wait for each subscriber's next digest under a
  "caught up" heading), `none` (recorded as suppressed, never sent) or `instant`.

Tasks: **rematch** -> **alert** -> **report** (a summary row in the `runs` table).
Trigger from the UI ("Trigger DAG" shows a form for the params) or from the CLI:

    airflow dags trigger topic_reprocess \\
      --conf '{"topic_ids": ["zangezur-corridor"], "since": "2026-01-01"}'
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from pipeline.airflow.tasks import fail_fast, fail_if_steps_failed

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "newsmon",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=15),
}


@dag(
    dag_id="topic_reprocess",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["newsmon", "topics", "manual"],
    doc_md=__doc__,
    params={
        "topic_ids": Param(
            [],
            type="array",
            items={"type": "string"},
            description="Topic ids to re-match; empty = all topics.",
        ),
        "since": Param(
            None,
            type=["null", "string"],
            format="date",
            description="First publication day (YYYY-MM-DD); empty = no limit.",
        ),
        "until": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Last publication day (YYYY-MM-DD); empty = no limit.",
        ),
        "alert_mode": Param(
            "digest",
            enum=["digest", "none", "instant"],
            description="digest: into the next digest; none: suppress.",
        ),
    },
)
def topic_reprocess() -> None:
    """Rematch -> alert -> report."""

    @task(max_active_tis_per_dag=1)
    def rematch(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Match the stored documents in range against the chosen topics again."""
        from pipeline.stages import orchestrate

        p = params or {}
        with fail_fast():
            return orchestrate.rematch(
                topic_ids=p.get("topic_ids"), since=p.get("since"), until=p.get("until")
            )

    @task(max_active_tis_per_dag=1)
    def alert(rematched: Any, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Report new matches as the chosen alert mode says."""
        from pipeline.airflow.connections import smtp_mailer
        from pipeline.stages import orchestrate

        with fail_fast():
            mode = orchestrate.reprocess_alert_mode((params or {}).get("alert_mode"))
            return orchestrate.alert(mode=mode, mailer_factory=smtp_mailer)

    @task(trigger_rule="all_done")
    def report(rematched: Any, alerted: Any, dag_run: Any = None) -> dict[str, Any]:
        """Record the summary; fail the run if a step failed."""
        from pipeline.stages import orchestrate

        summary = orchestrate.report(
            dag_id=dag_run.dag_id,
            dag_run_id=dag_run.run_id,
            run_type=dag_run.run_type,
            expected_sources=[],
            crawls=[],
            steps={"rematch": rematched, "alert": alerted},
        )
        fail_if_steps_failed(summary)
        return {"run_id": summary["run_id"], "failed": 0}

    rematched = rematch()
    alerted = alert(rematched)
    report(rematched, alerted)


topic_reprocess()
