"""The view inside Airflow: ``newsmon airflow`` serves it at /newsmon, for logged-in users only.

Starts the real ``newsmon airflow`` on a free port, logs in through Airflow's own token endpoint
(SimpleAuthManager's generated admin password), and checks the plugin's navigation entry in
Airflow's plugins API and who may open ``/newsmon/``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pipeline.airflow.env import ADMIN_USER, PASSWORDS_FILE, bin_dir
from tests.integration.test_airflow_launch import free_port, healthy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
READY_WITHIN = 400.0


def fetch(url: str, *, token: str | None = None, data: Any = None) -> tuple[int, str]:
    """Status and body of a GET (or a JSON POST with ``data``)."""
    headers = {"Accept": "text/html,application/json"}
    body = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def test_plugin_is_in_the_navigation_and_asks_for_a_login(tmp_path: Path) -> None:
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "AIRFLOW"))}
    env.update({"NEWSMON_VAR_DIR": str(var), "NEWSMON_MODE": "test"})
    port = free_port()
    log = tmp_path / "launcher.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(bin_dir() / "newsmon"), "airflow", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_WITHIN
        while not healthy(port):
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "Airflow not healthy in time"
            time.sleep(2)
        passwords = json.loads((var / "airflow" / PASSWORDS_FILE).read_text())
        status, body = fetch(
            f"{base}/auth/token",
            data={"username": ADMIN_USER, "password": passwords[ADMIN_USER]},
        )
        assert status in (200, 201), body
        token = json.loads(body)["access_token"]

        status, body = fetch(f"{base}/api/v2/plugins", token=token)
        assert status == 200, body
        plugins = {p["name"]: p for p in json.loads(body)["plugins"]}
        views = plugins["newsmon"]["external_views"]
        assert any(v["href"] == "newsmon/" and v["destination"] == "nav" for v in views), views

        status, body = fetch(f"{base}/newsmon/")
        assert status in (401, 403), body
        status, body = fetch(f"{base}/newsmon/api/stories")
        assert status in (401, 403), body
        status, body = fetch(f"{base}/newsmon/", token=token)
        assert status == 200 and "Today" in body and 'href="/newsmon/topics"' in body, body
        status, body = fetch(f"{base}/newsmon/", token=secrets.token_hex(16))
        assert status in (401, 403), body
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
