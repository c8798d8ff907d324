"""``newsmon alerts preview|send|list|mute``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from pipeline.cli import _register, app
from pipeline.config.settings import get_settings
from pipeline.store.db import session_scope
from pipeline.store.models import Alert, utcnow
from tests.alerts_data import story

SUBS = """\
subscribers:
  - id: desk
    email: ${DESK_CLI_EMAIL:-desk@example.org}
    topics: [zangezur-corridor]
    mode: instant
    since: 2020-01-01
  - id: daily
    email: daily@example.org
    webhook: http://127.0.0.1:9/never-called
    topics: ["*"]
    since: 2020-01-01
"""


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    path = tmp_path / "subscribers.yaml"
    path.write_text(SUBS)
    monkeypatch.setenv("NEWSMON_SUBSCRIBERS_FILE", str(path))
    get_settings.cache_clear()
    _register()
    with session_scope(db_url) as s:
        story(s, n=1, published=utcnow())
        story(s, n=2, published=utcnow())
    return CliRunner()


def count_rows(db_url: str) -> int:
    with session_scope(db_url) as s:
        return s.scalar(select(func.count(Alert.id))) or 0


def test_preview_renders_files_and_changes_nothing(
    cli: CliRunner, db_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "preview"
    result = cli.invoke(app, ["alerts", "preview", "--out", str(out)], terminal_width=200)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert "desk-001-instant.eml" in names and "desk-001-instant.html" in names
    assert any(n.startswith("daily-") and n.endswith("-digest.txt") for n in names)
    assert any(n.endswith("-webhook.json") for n in names)
    html = (out / "desk-001-instant.html").read_text()
    assert "<mark>Zangezur corridor</mark>" in html
    assert count_rows(db_url) == 0  # nothing planned, nothing sent
    assert "nothing was sent" in result.output
    only = cli.invoke(app, ["alerts", "preview", "--subscriber", "desk", "--out", str(out)])
    assert only.exit_code == 0 and "daily" not in only.output.split("nothing was sent")[1]
    bad = cli.invoke(app, ["alerts", "preview", "--subscriber", "nobody"])
    assert bad.exit_code != 0


def test_mute_and_list(cli: CliRunner, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_SMTP_URL", "smtp://127.0.0.1:9?starttls=0&timeout=2")
    get_settings.cache_clear()
    muted = cli.invoke(app, ["alerts", "mute", "1", "--reason", "surname, not the region"])
    assert muted.exit_code == 0 and "story 1 muted" in muted.output
    sent = cli.invoke(app, ["alerts", "send", "--mode", "none"])
    assert sent.exit_code == 0, sent.output
    listing = cli.invoke(app, ["alerts", "list"], terminal_width=250)
    assert listing.exit_code == 0
    assert "muted" in listing.output and "suppressed" in listing.output
    with session_scope(db_url) as s:
        statuses = dict(
            s.execute(
                select(Alert.cluster_id, Alert.status).where(Alert.subscriber == "desk")
            ).all()
        )
    assert statuses == {1: "muted", 2: "suppressed"}
    missing = cli.invoke(app, ["alerts", "mute", "999"])
    assert missing.exit_code != 0 and "no story" in missing.output
    bad_mode = cli.invoke(app, ["alerts", "send", "--mode", "hourly"])
    assert bad_mode.exit_code != 0


def test_cli_run_modes_match_the_library() -> None:
    """The CLI keeps its own copy of the run modes so --help stays light; they must agree."""
    from pipeline.alerts import RUN_MODES as LIBRARY_MODES
    from pipeline.cli.alerts import RUN_MODES as CLI_MODES

    assert tuple(CLI_MODES) == tuple(LIBRARY_MODES)


def _console(monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    """A fresh console of ``columns`` columns (it reads COLUMNS when made)."""
    from pipeline.cli.common import out

    monkeypatch.setenv("COLUMNS", str(columns))
    out.__dict__.pop("rich", None)
    monkeypatch.setattr(out, "rich", out.rich)  # removed again when the test ends


def test_list_fits_80_columns_and_says_when_digests_are_due(
    cli: CliRunner, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.alerts import load_subscribers
    from pipeline.cli.alerts import digest_due

    monkeypatch.setenv("NEWSMON_SMTP_URL", "smtp://127.0.0.1:9?starttls=0&timeout=2")
    monkeypatch.setenv("NEWSMON_TIMEZONE", "UTC")
    get_settings.cache_clear()
    cli.invoke(app, ["alerts", "send"])  # what is due now is held (no server); digests wait
    with session_scope(db_url) as s:
        queued = s.scalars(select(Alert).where(Alert.status == "pending")).all()
        assert queued and {r.delivery for r in queued} == {"digest"}
        daily = load_subscribers().get("daily")
        assert daily is not None
        due = digest_due(daily, queued[0].planned_at)
    _console(monkeypatch, 80)
    narrow = cli.invoke(app, ["alerts", "list"])
    assert narrow.exit_code == 0, narrow.output
    lines = narrow.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), narrow.stdout
    assert f"due {due:%d %b} 08:00" in narrow.stdout and "retry next run" in narrow.stdout
    assert "planned" not in narrow.stdout
    # The errors of held rows follow the table in full instead of a clipped column.
    assert "alert " in narrow.stdout and "tries)" in narrow.stdout
    _console(monkeypatch, 140)
    wide = cli.invoke(app, ["alerts", "list"])
    assert "planned" in wide.stdout and "error" in wide.stdout
    assert max(len(line) for line in wide.stdout.splitlines()) > 80


@pytest.mark.parametrize(
    ("planned", "due"),
    [("2026-03-10T10:00", "2026-03-11T08:00"), ("2026-03-10T07:59", "2026-03-10T08:00"),
     ("2026-03-10T08:00", "2026-03-11T08:00")],
)  # fmt: skip
def test_digest_due_agrees_with_sending(
    planned: str, due: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta
    from types import SimpleNamespace

    from pipeline.alerts.send import is_due
    from pipeline.cli.alerts import digest_due
    from tests.alerts_data import subscribers

    monkeypatch.setenv("NEWSMON_TIMEZONE", "UTC")
    get_settings.cache_clear()
    sub = subscribers({"id": "daily", "email": "d@example.org", "mode": "digest"}).items[0]
    at = datetime.fromisoformat(planned).replace(tzinfo=UTC)
    when = digest_due(sub, at)
    assert when == datetime.fromisoformat(due).replace(tzinfo=UTC)
    row = SimpleNamespace(channel="email", delivery="digest", planned_at=at)
    assert is_due(row, sub, when) and not is_due(row, sub, when - timedelta(seconds=1))  # type: ignore[arg-type]
