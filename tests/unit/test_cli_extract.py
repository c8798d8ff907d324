"""The ``newsmon extract`` contract: one JSON object per file on stdout, errors on stderr."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import _register, app

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"
KEYS = {"path", "title", "text", "published", "language", "method"}


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _register()
    return CliRunner()


def records(stdout: str) -> list[dict[str, object]]:
    """Parse the JSON lines of stdout (every line must be one object)."""
    return [json.loads(line) for line in stdout.splitlines()]


def test_single_file_with_url(runner: CliRunner) -> None:
    path = str(PAGES / "en_repost_mt_noise.html")
    url = "https://news.example.am/en/2026/11/05/russian-mfa"
    result = runner.invoke(app, ["extract", path, "--url", url])
    assert result.exit_code == 0, result.output
    (record,) = records(result.stdout)
    assert set(record) == KEYS
    assert record["path"] == path
    assert record["title"] == "Russian Foreign Ministry comments on the border commissions meeting"
    assert "Yerevan and Baku" in str(record["text"])
    assert record["published"] == "2026-11-05T14:05:00+00:00"
    assert record["language"] == "en"
    assert record["method"] == "trafilatura"


def test_folder_lists_html_and_gz_sorted_with_joined_paths(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "saved"
    folder.mkdir()
    shutil.copy(PAGES / "hy_mfa_statement.html", folder / "b.html")
    (folder / "a.html.gz").write_bytes(gzip.compress((PAGES / "az_mfa_news.html").read_bytes()))
    (folder / "notes.txt").write_text("not a page", encoding="utf-8")
    (folder / "sub").mkdir()
    shutil.copy(PAGES / "ru_wire_dateline.html", folder / "sub" / "c.html")  # not recursive
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["extract", "saved/"])
    assert result.exit_code == 0, result.output
    got = records(result.stdout)
    assert [r["path"] for r in got] == [os.path.join("saved/", "a.html.gz"), "saved/b.html"]
    assert [r["language"] for r in got] == ["az", "hy"]
    assert got[0]["published"] == "2025-11-14T16:23:00+00:00"


def test_path_is_kept_exactly_as_given(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(PAGES / "az_mfa_news.html", tmp_path / "page.html")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["extract", "./page.html", "page.html"])
    assert result.exit_code == 0, result.output
    assert [r["path"] for r in records(result.stdout)] == ["./page.html", "page.html"]


def test_published_null_and_fallback_method(runner: CliRunner, tmp_path: Path) -> None:
    page = tmp_path / "no-date.html"
    page.write_text(
        "<html><head><title>Note</title></head><body><article><h1>Note</h1>"
        + "<p>The ministry published a note without any date on the page itself. </p>" * 4
        + "</article></body></html>",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["extract", str(page), str(PAGES / "en_app_state_shell.html")])
    assert result.exit_code == 0, result.output
    first, second = records(result.stdout)
    assert first["published"] is None
    assert second["method"] == "fallback-json"


def test_bad_file_is_reported_on_stderr_and_the_rest_still_runs(
    runner: CliRunner, tmp_path: Path
) -> None:
    bad = tmp_path / "a-broken.html"
    bad.write_bytes(b"%PDF-1.5 binary statement")
    good = tmp_path / "b-good.html"
    shutil.copy(PAGES / "hy_mfa_statement.html", good)
    missing = tmp_path / "c-missing.html"
    result = runner.invoke(app, ["extract", str(bad), str(good), str(missing)])
    assert result.exit_code == 1
    assert [r["path"] for r in records(result.stdout)] == [str(good)]
    assert str(bad) in result.stderr and "binary" in result.stderr
    assert str(missing) in result.stderr
    assert "2 of 3 files failed" in result.stderr


def test_url_needs_exactly_one_file(runner: CliRunner) -> None:
    a, b = str(PAGES / "az_mfa_news.html"), str(PAGES / "hy_mfa_statement.html")
    result = runner.invoke(app, ["extract", a, b, "--url", "https://x.example/"])
    assert result.exit_code == 2
    assert "--url" in result.stderr
    assert result.stdout == ""


def test_windows_1251_page_through_the_cli(runner: CliRunner) -> None:
    result = runner.invoke(app, ["extract", str(PAGES / "ru_mfa_comment_cp1251.html")])
    assert result.exit_code == 0, result.output
    (record,) = records(result.stdout)
    assert "Сюникскую область" in str(record["text"])
    assert record["language"] == "ru"


def test_help(runner: CliRunner) -> None:
    result = runner.invoke(app, ["extract", "--help"])
    assert result.exit_code == 0
    assert "--url" in result.stdout
