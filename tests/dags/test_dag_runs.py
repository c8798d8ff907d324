"""``dag.test()`` runs of the DAGs through the real Airflow (metadata DB in a temp AIRFLOW_HOME).

The first tests replace the crawl and alert stages with recorders (tests/dags/fake_stages.py) to
check the DAG's wiring quickly; the last one is the demo: the real stages over the replica sites,
twice, then a topic re-match.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pipeline.airflow.env import (
    RESULT_PREFIX,
    airflow_env,
    migrate,
    run_dag_test,
    smtp_conn_json,
)
from pipeline.devtools.demo import MailSink, run_demo
from pipeline.stages.orchestrate import source_names
from pipeline.store import db
from pipeline.store.models import Run

FAKE_STAGES = Path(__file__).with_name("fake_stages.py")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated Airflow metadata DB for the module (migrating takes ~9 s)."""
    home = tmp_path_factory.mktemp("airflow-home")
    migrate(airflow_env(home=home, base={}))
    return home


def fake_run(
    home: Path, dag_id: str, conf: dict[str, Any], log: Path, **extra: str
) -> tuple[str, list[dict[str, Any]]]:
    """``dag.test()`` with recorder stages; (run state, recorded stage calls)."""
    env = airflow_env(home=home)
    env.update({"FAKE_LOG": str(log), **extra})
    out = log.with_suffix(".out")
    # Output to a file, not a pipe: Airflow leaves helper processes holding inherited pipes
    # open after dag.test() returns, so reading a pipe to EOF would wait for them.
    with out.open("w") as fh:
        subprocess.run(
            [sys.executable, str(FAKE_STAGES), dag_id, json.dumps(conf)],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            timeout=900,
            check=False,
        )
    text = out.read_text(errors="replace")
    states = [x for x in text.splitlines() if x.startswith(RESULT_PREFIX)]
    assert states, text[-4000:]
    calls = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
    return json.loads(states[-1][len(RESULT_PREFIX) :])["state"], calls


def airflow_runs() -> list[Run]:
    """The summaries the report task wrote."""
    with db.session_scope() as session:
        return list(session.scalars(select(Run).where(Run.kind == "airflow")))


def test_manual_run_crawls_the_chosen_sources_since_their_last_success(
    airflow_home: Path, db_url: str, tmp_path: Path
) -> None:
    conf = {"sources": ["tass", "mid-ru"], "alert_mode": "none"}
    state, calls = fake_run(airflow_home, "news_monitor", conf, tmp_path / "calls.jsonl")
    assert state == "success"
    crawls = [c for c in calls if c["stage"] == "crawl"]
    # One mapped task per source; a manual run has no fixed window.
    assert sorted(c["sources"][0] for c in crawls) == ["mid-ru", "tass"]
    assert all(c["since"] is None and c["until"] is None for c in crawls)
    assert [c["mode"] for c in calls if c["stage"] == "alert"] == ["none"]
    (run,) = airflow_runs()
    assert run.status == "ok" and run.params["run_type"] == "manual"
    assert set(run.params["crawl"]) == {"tass", "mid-ru"}
    # XCom carried counts only: the alert stage's subjects never left the task.
    assert "subjects" not in run.params["alert"] and run.params["alert"]["emails_sent"] == 1


def test_a_failing_source_fails_alone_and_the_operator_is_told(
    airflow_home: Path, db_url: str, tmp_path: Path
) -> None:
    with MailSink(tmp_path / "outbox") as sink:
        state, calls = fake_run(
            airflow_home,
            "news_monitor",
            {},
            tmp_path / "calls.jsonl",
            FAKE_FAIL="tass",
            NEWSMON_OPERATOR_EMAIL="ops@example.org",
            AIRFLOW_CONN_SMTP_DEFAULT=smtp_conn_json("127.0.0.1", sink.port),
        )
        mails = list(sink.received)
    assert state == "failed"
    crawled = sorted(c["sources"][0] for c in calls if c["stage"] == "crawl")
    assert crawled == sorted(source_names())  # the other sources were crawled all the same
    assert [c["mode"] for c in calls if c["stage"] == "alert"] == ["scheduled"]
    (run,) = airflow_runs()
    assert run.status == "failed" and run.error == "failed: crawl:tass"
    assert "tass" not in run.params["crawl"] and "mid-ru" in run.params["crawl"]
    # The report task's SmtpNotifier mailed the operator once, through smtp_default.
    assert [m.to for m in mails] == [["ops@example.org"]]
    assert "news_monitor" in mails[0].subject and "failed" in mails[0].subject
    msg = message_from_bytes(mails[0].path.read_bytes(), policy=default_policy)
    body = msg.get_body(preferencelist=("html", "plain"))
    assert body is not None and "crawl:tass" in body.get_content()


def test_a_bad_param_fails_at_once_and_the_report_names_the_step(
    airflow_home: Path, db_url: str, tmp_path: Path
) -> None:
    # An unknown source is an input error: not retried (retries wait minutes), reported at once.
    conf = {"sources": ["no-such-site"]}
    state, calls = fake_run(airflow_home, "news_monitor", conf, tmp_path / "calls.jsonl")
    assert state == "failed"
    assert [c for c in calls if c["stage"] == "crawl"] == []
    (run,) = airflow_runs()
    assert run.status == "failed" and run.error == "failed: sources"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.timeout(3600)
def test_the_demo_day_over_the_replica_then_a_rerun_then_a_rematch(tmp_path: Path) -> None:
    port = free_port()  # the same replica port both times: it is part of every stored URL
    first = run_demo(replica_port=port)
    s = first.summary
    assert first.dag_run.ok
    assert s["documents"] > 0 and s["new_documents"] == s["documents"]
    assert 0 < s["duplicates"] < s["documents"] and s["stories"] == s["documents"] - s["duplicates"]
    assert s["matches"].get("zangezur-corridor", 0) > 0
    assert s["emails_sent"] > 0
    outbox = Path(s["outbox"])
    saved = sorted(outbox.glob("*.eml"))
    assert len(saved) == s["emails_sent"]
    for path in saved:
        msg = message_from_bytes(path.read_bytes(), policy=default_policy)
        assert msg["Subject"] and msg["Message-ID"]
    assert {line.name for line in first.sources} >= {"mid-ru", "tass"}
    assert (
        sum(line.new for line in first.sources) + sum(line.duplicates for line in first.sources)
        == s["documents"]
    )

    second = run_demo(replica_port=port)
    assert second.dag_run.ok
    assert second.summary["new_documents"] == 0 and second.summary["emails_sent"] == 0
    assert {k: second.summary[k] for k in ("documents", "duplicates", "stories", "matches")} == {
        k: s[k] for k in ("documents", "duplicates", "stories", "matches")
    }
    assert sorted(outbox.glob("*.eml")) == saved
    assert all(line.new == 0 for line in second.sources)

    # topic_reprocess re-matches what is stored; alert_mode none sends nothing.
    with MailSink(tmp_path / "reprocess-outbox") as sink:
        env = airflow_env()
        env["AIRFLOW_CONN_SMTP_DEFAULT"] = smtp_conn_json("127.0.0.1", sink.port)
        conf = {"topic_ids": ["zangezur-corridor"], "alert_mode": "none"}
        result = run_dag_test("topic_reprocess", env, log_path=tmp_path / "rp.log", conf=conf)
        assert result.ok, result.log_path.read_text()[-3000:]
        assert sink.received == []
    with db.session_scope() as session:
        kinds = [r.kind for r in session.scalars(select(Run).order_by(Run.id))]
        report = session.scalars(select(Run).where(Run.kind == "airflow")).all()[-1]
    assert kinds[-3:] == ["reprocess", "alerts", "airflow"]
    assert report.params["dag_id"] == "topic_reprocess" and report.status == "ok"
    assert report.params["rematch"]["documents"] > 0
