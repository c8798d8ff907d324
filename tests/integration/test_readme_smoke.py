"""The README's first hour, run as a newcomer would: each documented command works as written.

The steps, in the README's order, each a ``newsmon`` process in a user's environment (no test
settings, a var dir of its own): ``make demo``'s command (``newsmon demo --json``, minutes), then
``newsmon stories``, a topic added to a copy of the seeds and tried with ``topics test``, a
subscriber for it checked, matched and previewed ("Adding a source and a topic, end to end"), and
``newsmon airflow`` stopped with Ctrl-C ("Running Airflow for real").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.config.settings import PROJECT_ROOT
from tests.integration.test_airflow_launch import free_port, port_free

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

NEWSMON = PROJECT_ROOT / ".venv" / "bin" / "newsmon"
README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
DEMO_WITHIN = 600.0
READY_WITHIN = 300.0
STOPPED_WITHIN = 30.0


def commented_block(after: str) -> str:
    """The YAML a README code block shows as ``#`` comments after the line holding ``after``."""
    block = README[README.index(after) :].split("```", 1)[0]
    lines = [line.strip() for line in block.splitlines()[1:]]
    yaml = [line[1:] for line in lines if line.startswith("#  ")]  # "#  - id:" -> "  - id:"
    assert yaml, f"no commented YAML after {after!r} in the README"
    return "\n".join(yaml) + "\n"


def shell_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """A user's shell: no NEWSMON_ or AIRFLOW settings but the var dir, an 80-column terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "AIRFLOW"))}
    env.update(NEWSMON_VAR_DIR=str(var_dir), COLUMNS="80", **extra)
    return env


def newsmon(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run one documented command; fail with its output when it fails."""
    done = subprocess.run(
        [str(NEWSMON), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"newsmon {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def answers(port: int) -> bool:
    """The Airflow api-server answers its health endpoint."""
    from pipeline.airflow.launcher import HEALTH_PATH

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=2) as resp:
            return bool(json.loads(resp.read()))
    except (OSError, ValueError):
        return False


def test_the_readme_first_hour(tmp_path: Path) -> None:
    var = tmp_path / "var"
    home = tmp_path / "work"
    home.mkdir()
    env = shell_env(var)

    # "make demo": its command, as the Makefile runs it (with --json for the summary).
    assert "$(BIN)/newsmon demo" in (PROJECT_ROOT / "Makefile").read_text()
    started = time.monotonic()
    demo = newsmon("demo", "--json", env=env, cwd=home, timeout=DEMO_WITHIN)
    took = time.monotonic() - started
    summary = json.loads(demo.stdout.strip().splitlines()[-1])
    assert summary["emails_sent"] >= 2 and summary["new_documents"] > 0
    kinds = {e["kind"] for e in summary["emails"]}
    assert kinds == {"instant", "digest"}, summary["emails"]
    assert list((var / "demo" / "outbox").glob("*.eml"))
    print(f"newsmon demo --json with a fresh var dir: {took:.0f} s")

    # "newsmon stories": story N, the outlets with publication then fetch time, 80 columns.
    stories = newsmon("stories", env=env, cwd=home).stdout
    assert re.search(r"^story \d+ ", stories, re.MULTILINE), stories
    assert re.search(r"published .+ fetched ", stories), stories
    assert max(len(line) for line in stories.splitlines()) <= 80

    # "Adding a source and a topic": a topic in a copy of the seeds, tried on the archive.
    shutil.copy(PROJECT_ROOT / "seeds" / "topics.yaml", home / "my-topics.yaml")
    with (home / "my-topics.yaml").open("a", encoding="utf-8") as f:
        f.write("\n" + commented_block("cp seeds/topics.yaml my-topics.yaml"))
    tried = newsmon("topics", "test", "caspian", "--topics", "my-topics.yaml", env=env, cwd=home)
    found = re.search(r"caspian: (\d+) of (\d+) stored documents match", tried.stdout)
    assert found and int(found.group(1)) > 0, tried.stdout
    assert re.search(r"^doc \d+ \(story \d+\) ", tried.stdout, re.MULTILINE), tried.stdout
    assert "#" not in tried.stdout

    # ... a subscriber for it, checked, the stored matches recorded, the first alert previewed.
    shutil.copy(PROJECT_ROOT / "seeds" / "subscribers.yaml", home / "my-subscribers.yaml")
    with (home / "my-subscribers.yaml").open("a", encoding="utf-8") as f:
        f.write("\n" + commented_block("cp seeds/subscribers.yaml my-subscribers.yaml"))
    seeds = shell_env(
        var, NEWSMON_TOPICS_FILE="my-topics.yaml", NEWSMON_SUBSCRIBERS_FILE="my-subscribers.yaml"
    )
    newsmon("sources", "check", env=seeds, cwd=home)
    without_topic = subprocess.run(
        [str(NEWSMON), "sources", "check"],
        env={**seeds, "NEWSMON_TOPICS_FILE": str(PROJECT_ROOT / "seeds" / "topics.yaml")},
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert without_topic.returncode == 2 and "unknown topic 'caspian'" in without_topic.stdout + (
        without_topic.stderr
    )
    newsmon("topics", "reprocess", "caspian", env=seeds, cwd=home)
    preview = newsmon("alerts", "preview", "--subscriber", "caspian-desk", env=seeds, cwd=home)
    assert "caspian-desk" in preview.stdout and "Caspian Sea" in preview.stdout, preview.stdout
    assert list((var / "alerts" / "preview").glob("caspian-desk-*-digest.eml"))

    # "Running Airflow for real": newsmon airflow, then Ctrl-C in its terminal.
    port = free_port()
    log = tmp_path / "airflow.out"
    with log.open("w") as sink:  # a file, not a pipe nobody reads while Airflow starts
        launched = subprocess.Popen(
            [str(NEWSMON), "airflow", "--port", str(port)],
            env=env,
            cwd=home,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own terminal: Ctrl-C reaches its whole process group
        )
    try:
        deadline = time.monotonic() + READY_WITHIN
        while not answers(port):
            assert launched.poll() is None, "newsmon airflow ended before it answered"
            assert time.monotonic() < deadline, f"no answer on port {port}"
            time.sleep(2)
        os.killpg(launched.pid, signal.SIGINT)
        stopping = time.monotonic()
        launched.wait(timeout=STOPPED_WITHIN)
        deadline = stopping + STOPPED_WITHIN
        while not port_free(port) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert port_free(port), log.read_text()
        assert "Airflow stopped" in log.read_text()
        print(f"newsmon airflow stopped {time.monotonic() - stopping:.1f} s after Ctrl-C")
    finally:
        if launched.poll() is None:
            os.killpg(launched.pid, signal.SIGKILL)
            launched.wait(timeout=30)
