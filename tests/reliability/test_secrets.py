"""No secret in the repository, and passwords never in output, logs or stored errors."""

from __future__ import annotations

import ast
import base64
import logging
import re
import subprocess
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from pipeline.alerts import run_alerts
from pipeline.config.settings import PROJECT_ROOT, get_settings
from pipeline.store.db import display_url, session_scope
from pipeline.store.models import Alert, Run, utcnow
from tests.alerts_data import story, subscribers
from tests.conftest import FIXTURES
from tests.reliability.helpers import child_env, invoke, run_cli

# ---------------------------------------------------------------- secrets in the repository

# Words that stand for a password in documentation and tests.
PLACEHOLDERS = {"pass", "password", "secret", "changeme", "change-me", "example", "xxx", "***"}
URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^@\s/'\"]+)@")
ASSIGNED = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|api_?key)\b\s*[=:]\s*['\"]([^'\"\s]{4,})['\"]"
)
ENV_STYLE = re.compile(
    r"(?m)^\s*-?\s*[A-Z0-9_]*(PASSWORD|SECRET|TOKEN|API_KEY)[A-Z0-9_]*\s*[=:]\s*(\S+)"
)
HARD = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "Slack token": re.compile(r"\bxox[abpr]-[0-9A-Za-z-]{10,}"),
    "GitHub token": re.compile(r"\bgh[pousr]_[0-9A-Za-z]{36}\b"),
}


def _placeholder(value: str) -> bool:
    """A stand-in rather than a password: a placeholder word, a template, or a dummy."""
    value = urllib.parse.unquote(value).strip("'\"")
    return (
        value.lower() in PLACEHOLDERS
        or value.lower().startswith("change")  # .env.example: CHANGE-me-postgres
        or value.startswith(("${", "{", "<", "%(", "$"))
        or value.endswith("}")
        or len(value) <= 4
    )


def repository_files() -> Iterator[Path]:
    """Files git tracks or would add (ignored ones such as var/ and .venv/ excluded)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in listed.split("\0"):
        path = PROJECT_ROOT / name
        if name and path.is_file():
            yield path


def secret_findings(path: Path, text: str) -> list[str]:
    """Password-like strings in one file."""
    found = []
    for label, pattern in HARD.items():
        found += [f"{label}: {m.group(0)[:30]}" for m in pattern.finditer(text)]
    for m in URL_CREDENTIALS.finditer(text):
        if not _placeholder(m.group(1)):
            found.append(f"credentials in a URL: {m.group(0)}")
    for m in ASSIGNED.finditer(text):
        if not _placeholder(m.group(2)):
            found.append(f"assigned secret: {m.group(0)}")
    if path.suffix in {".env", ".yml", ".yaml", ".cfg", ".ini", ".toml"} or ".env" in path.name:
        for m in ENV_STYLE.finditer(text):
            if not _placeholder(m.group(2)):
                found.append(f"secret setting: {m.group(0).strip()}")
    return found


def test_no_secret_in_the_repository() -> None:
    problems = []
    for path in repository_files():
        rel = path.relative_to(PROJECT_ROOT)
        if path.name == ".env":
            problems.append(f"{rel}: a .env file must not be committed (use .env.example)")
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary fixtures
        problems += [f"{rel}: {f}" for f in secret_findings(path, text)]
    assert problems == []


def test_the_secret_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The control: the scan flags real-looking secrets and lets placeholders through."""
    real = "Zq" + "8vR2mK1x"  # assembled so this file itself does not trip the scan
    leaks = {
        "a.py": f'SMTP = "smtp://alerts:{real}@mail.example.org:587"',
        "b.py": f'password = "{real}"',
        "c.env": f"POSTGRES_PASSWORD={real}",
        "d.pem": "-----BEGIN RSA " + "PRIVATE KEY-----",
    }
    for name, text in leaks.items():
        assert secret_findings(tmp_path / name, text), name
    fine = {
        "a.py": "smtp://user:pass@host:587 and postgresql://u:${PGPASSWORD}@db/newsmon",
        "c.env": "POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-changeme}",
    }
    for name, text in fine.items():
        assert secret_findings(tmp_path / name, text) == [], name


# ---------------------------------------------------------------- secrets in logs

SMTP_SECRET = "s3" + "cret"  # the password of the test: built here, not written in the repo


@pytest.fixture
def refusing_smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """An SMTP server that offers AUTH and refuses every login."""

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    def authenticator(*_args: Any) -> AuthResult:
        return AuthResult(success=False, handled=False)

    from tests.integration.test_alerts_smtp import free_port

    port = free_port()
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    url = f"smtp://newsmon:{SMTP_SECRET}@127.0.0.1:{port}?starttls=0&timeout=10"
    monkeypatch.setenv("NEWSMON_SMTP_URL", url)
    monkeypatch.setenv("NEWSMON_LOG_LEVEL", "DEBUG")
    get_settings.cache_clear()
    try:
        yield port
    finally:
        controller.stop()


def _leaks(*texts: str) -> list[str]:
    """Texts that hold the SMTP password, plainly or as an AUTH PLAIN/LOGIN payload."""
    forms = {
        SMTP_SECRET,
        base64.b64encode(f"\0newsmon\0{SMTP_SECRET}".encode()).decode(),
        base64.b64encode(SMTP_SECRET.encode()).decode(),
    }
    return [t[:200] for t in texts if any(f in t for f in forms)]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_failed_smtp_login_never_shows_the_password(
    db_url: str, refusing_smtp: int, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    subs_file = tmp_path / "subscribers.yaml"
    subs_file.write_text(
        "subscribers:\n  - id: desk\n    email: desk@example.org\n    mode: instant\n"
        "    topics: [zangezur-corridor]\n    since: 2026-01-01\n",
        encoding="utf-8",
    )
    with session_scope() as session:
        story(session, n=1, published=utcnow() - timedelta(hours=1))
    caplog.set_level(logging.DEBUG)
    subs = subscribers({"id": "desk", "email": "desk@example.org", "mode": "instant"})
    report = run_alerts(subscribers=subs)
    assert report.emails_sent == 0 and report.errors  # the login was refused...
    assert "535" in report.errors[0] or "uthentication" in report.errors[0]
    child = run_cli("alerts", "send", env=child_env(NEWSMON_SUBSCRIBERS_FILE=str(subs_file)))
    with session_scope() as session:
        stored = [a.last_error or "" for a in session.scalars(select(Alert))]
        stored += [r.error or "" for r in session.scalars(select(Run))]
    assert stored and any(stored)
    texts = [caplog.text, *report.errors, child.stdout, child.stderr, *stored]
    assert _leaks(*texts) == []  # ...and the password appears nowhere
    assert _leaks(repr(report.as_dict())) == []


def test_database_password_is_masked_in_errors_and_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://newsmon:{SMTP_SECRET}@127.0.0.1:9/newsmon"
    assert SMTP_SECRET not in display_url(url) and "***" in display_url(url)
    monkeypatch.setenv("NEWSMON_DATABASE_URL", url)
    get_settings.cache_clear()
    code, out, err = invoke(["ingest", str(FIXTURES / "demo")], capsys)
    assert code == 2 and "***" in err
    assert SMTP_SECRET not in out + err


def _fstring_uses(tree: ast.AST, attrs: set[str]) -> list[int]:
    """Lines where an f-string interpolates ``x.<attr>`` directly (not through a masker)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            for value in node.values:
                expr = getattr(value, "value", None)
                if isinstance(expr, ast.Attribute) and expr.attr in attrs:
                    lines.append(node.lineno)
    return lines


def test_no_message_interpolates_a_url_with_credentials() -> None:
    """``database_url`` and ``smtp_url`` may carry passwords: messages use display_url()."""
    found = []
    for path in sorted((PROJECT_ROOT / "pipeline").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line in _fstring_uses(tree, {"database_url", "smtp_url"}):
            found.append(f"{path.relative_to(PROJECT_ROOT)}:{line}")
    assert found == []
