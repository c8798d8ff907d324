"""DAG integrity: the DagBag loads, DAGs are documented, retried, tagged and cheap to import.

Airflow reads its configuration when first imported, so every check runs Airflow in a child
process with the environment ``pipeline.airflow.env`` builds (as the real components get it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.airflow.env import DAGS_FOLDER, airflow_env

DAG_FILES = sorted(DAGS_FOLDER.glob("*.py"))
# Modules a DAG file must not import at parse time: the dag-processor imports dags/ every few
# seconds, and these are heavy (Scrapy, trafilatura) or open the project's database (ORM).
HEAVY = ("scrapy", "trafilatura", "pipeline.store.models", "pipeline.store.db", "lxml.html")

INSPECT = r"""
import json, sys
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
out = {"import_errors": {str(k): str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    tt = dag.timetable
    out["dags"][dag_id] = {
        "fileloc": dag.fileloc,
        "tags": sorted(dag.tags),
        "doc_md": dag.doc_md or "",
        "timetable": type(tt).__name__,
        "cron": getattr(tt, "expression", None),
        "timezone": str(getattr(tt, "timezone", "")),
        "catchup": dag.catchup,
        "params": sorted(dag.params.keys()),
        "notifiers": {
            t.task_id: [type(c).__name__ for c in (t.on_failure_callback or [])]
            for t in dag.tasks if t.on_failure_callback
        },
        "tasks": {
            t.task_id: {
                "retries": t.retries,
                "backoff": t.retry_exponential_backoff,
                "trigger_rule": getattr(t.trigger_rule, "value", str(t.trigger_rule)),
                "mapped": bool(getattr(t, "is_mapped", False)),
                "upstream": sorted(t.upstream_task_ids),
            }
            for t in dag.tasks
        },
    }
print("JSON " + json.dumps(out))
"""

# Imports one DAG file as the dag-processor would; reports the heavy modules it pulled in and the
# Variable and connection lookups it made (each a metadata-DB or API round trip per parse).
IMPORT_ONE = r"""
import json, runpy, sys
from airflow.sdk import BaseHook, Variable

lookups = []


def variable(key, default=None, **kwargs):
    lookups.append("Variable " + key)
    return default


def connection(conn_id):
    lookups.append("connection " + conn_id)
    raise LookupError(conn_id)


Variable.get = variable
BaseHook.get_connection = connection
runpy.run_path(sys.argv[1], run_name="dag_file")
heavy = sys.argv[2].split(",")
loaded = sorted(m for m in sys.modules if m in heavy or m.startswith(tuple(h + "." for h in heavy)))
print("JSON " + json.dumps({"heavy": loaded, "lookups": lookups}))
"""


def run_airflow_python(code: str, *args: str, extra: dict[str, str] | None = None) -> Any:
    """Run ``code`` under the project's Airflow environment; the JSON it printed."""
    env = airflow_env()
    env.update(extra or {})
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next(x for x in proc.stdout.splitlines()[::-1] if x.startswith("JSON "))
    return json.loads(line[5:])


@pytest.fixture(scope="module")
def bag() -> dict[str, Any]:
    """What the DagBag holds, parsed with an operator address and a custom daily hour."""
    extra = {
        "NEWSMON_OPERATOR_EMAIL": "ops@example.org",
        "NEWSMON_DAILY_HOUR": "7",
        "NEWSMON_TIMEZONE": "Asia/Yerevan",
    }
    return dict(run_airflow_python(INSPECT, str(DAGS_FOLDER), extra=extra))


def test_dagbag_has_no_import_errors(bag: dict[str, Any]) -> None:
    assert bag["import_errors"] == {}
    assert set(bag["dags"]) == {"news_monitor", "topic_reprocess"}


@pytest.mark.parametrize("dag_id", ["news_monitor", "topic_reprocess"])
def test_dags_are_tagged_documented_and_retried(bag: dict[str, Any], dag_id: str) -> None:
    dag = bag["dags"][dag_id]
    assert "newsmon" in dag["tags"] and len(dag["tags"]) >= 2
    # doc_md is the module docstring, so the UI shows the file's own documentation.
    assert dag["doc_md"].strip().startswith(f"# {dag_id}")
    for task_id, task in dag["tasks"].items():
        assert task["retries"] >= 2, task_id
        assert task["backoff"] >= 2, task_id  # exponential backoff


def test_news_monitor_shape(bag: dict[str, Any]) -> None:
    dag = bag["dags"]["news_monitor"]
    # A real data interval per run (a cron preset would give a zero-length one).
    assert dag["timetable"] == "CronDataIntervalTimetable"
    assert dag["cron"] == "0 7 * * *"  # NEWSMON_DAILY_HOUR, from the environment
    assert "Yerevan" in dag["timezone"]
    assert dag["catchup"] is False
    tasks = dag["tasks"]
    assert set(tasks) == {"sources", "crawl", "process", "alert", "report"}
    assert tasks["crawl"]["mapped"] and tasks["crawl"]["upstream"] == ["sources"]
    assert tasks["process"]["upstream"] == ["crawl"]
    assert tasks["alert"]["upstream"] == ["process"]
    assert set(tasks["report"]["upstream"]) == {"sources", "crawl", "process", "alert"}
    # A failed source must not stop processing and alerting what the others fetched.
    for name in ("process", "alert", "report"):
        assert tasks[name]["trigger_rule"] == "all_done", name
    # One email per failed run: the report task fails exactly when a step failed.
    assert dag["notifiers"] == {"report": ["SmtpNotifier"]}
    assert dag["params"] == ["alert_mode", "sources"]


def test_topic_reprocess_is_manual_with_params(bag: dict[str, Any]) -> None:
    dag = bag["dags"]["topic_reprocess"]
    assert dag["timetable"] == "NullTimetable"
    assert dag["params"] == ["alert_mode", "since", "topic_ids", "until"]
    assert list(dag["tasks"]) == ["rematch", "alert", "report"]


def test_no_operator_address_means_no_notifier() -> None:
    got = run_airflow_python(INSPECT, str(DAGS_FOLDER), extra={"NEWSMON_OPERATOR_EMAIL": ""})
    assert got["dags"]["news_monitor"]["notifiers"] == {}


def test_a_bad_daily_hour_is_an_import_error_naming_the_setting() -> None:
    got = run_airflow_python(INSPECT, str(DAGS_FOLDER), extra={"NEWSMON_DAILY_HOUR": "25"})
    errors = "\n".join(got["import_errors"].values())
    assert "NEWSMON_DAILY_HOUR=25: expected an hour 0-23" in errors


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: Path(p).name)
def test_importing_a_dag_file_stays_light_and_looks_nothing_up(path: Path) -> None:
    got = run_airflow_python(IMPORT_ONE, str(path), ",".join(HEAVY))
    assert got == {"heavy": [], "lookups": []}


def test_the_parse_cost_checks_can_fail(tmp_path: Path) -> None:
    costly_dag = tmp_path / "costly.py"
    costly_dag.write_text(
        "import pipeline.store.models\n"
        "from airflow.sdk import BaseHook, Variable\n"
        "Variable.get('newsmon_daily_hour', default=None)\n"
        "try:\n"
        "    BaseHook.get_connection('smtp_default')\n"
        "except LookupError:\n"
        "    pass\n"
    )
    got = run_airflow_python(IMPORT_ONE, str(costly_dag), ",".join(HEAVY))
    assert "pipeline.store.models" in got["heavy"]
    assert got["lookups"] == ["Variable newsmon_daily_hour", "connection smtp_default"]
