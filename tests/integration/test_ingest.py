"""`newsmon ingest` / `search` / `db upgrade`: contracts and idempotence on both backends."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from pipeline.cli import _register, app
from pipeline.stages.ingest import ingest_paths
from pipeline.store import db
from pipeline.store.models import Cluster, Document, Match, Page, Source
from tests.conftest import FIXTURES

DEMO = FIXTURES / "demo"
_register()
runner = CliRunner()


def _counts(url: str) -> dict[str, int]:
    with db.session_scope(url) as s:
        return {
            name: s.scalar(select(func.count()).select_from(model)) or 0
            for name, model in [
                ("pages", Page),
                ("documents", Document),
                ("clusters", Cluster),
                ("matches", Match),
            ]
        }


def test_ingest_stores_once_and_reingest_changes_nothing(any_db_url: str) -> None:
    first = ingest_paths([DEMO])
    pages = len(list(DEMO.glob("*.html")))
    assert first.total == pages
    assert first.outcomes.get("new", 0) + first.outcomes.get("duplicate", 0) == pages
    before = _counts(any_db_url)
    assert before["documents"] == pages
    assert before["clusters"] < pages  # the reposts joined the statements' stories
    second = ingest_paths([DEMO])
    assert second.outcomes == {"unchanged": pages}
    assert _counts(any_db_url) == before


def test_stored_documents_carry_source_language_method(any_db_url: str) -> None:
    ingest_paths([DEMO])
    with db.session_scope(any_db_url) as s:
        doc = s.scalar(select(Document).where(Document.url.contains("mid.ru/en")))
        assert doc is not None
        src = s.get(Source, doc.source_id)
        assert src is not None and src.type == "ministry"
        assert doc.language == "en"
        assert doc.extraction_method
        assert doc.published_at is not None and doc.published_at.year == 2026
        copy = s.scalar(select(Document).where(Document.url.contains("tass.com")))
        assert copy is not None and copy.cluster_id == doc.cluster_id
        cluster = s.get(Cluster, doc.cluster_id)
        assert cluster is not None and cluster.origin_document_id == doc.id


def test_ingest_cli_prints_counts(db_url: str) -> None:
    result = runner.invoke(app, ["ingest", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert "new" in result.output
    result = runner.invoke(app, ["ingest", str(DEMO)])
    assert "unchanged" in result.output


def test_ingest_unknown_source_is_a_clear_error(db_url: str) -> None:
    result = runner.invoke(app, ["ingest", str(DEMO), "--source", "no-such-source"])
    assert result.exit_code != 0
    assert "no-such-source" in str(result.exception) + result.output


def test_search_across_scripts_json_and_csv(any_db_url: str) -> None:
    ingest_paths([DEMO])
    result = runner.invoke(app, ["search", "Zangezur", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    langs = {r["language"] for r in rows}
    assert {"en", "ru"} <= langs  # "Zangezur" finds "Зангезурский"
    dates = [r["published"] for r in rows if r["published"]]
    assert dates == sorted(dates, reverse=True)
    result = runner.invoke(app, ["search", "demarcation", "--csv", "--lang", "en"])
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert table and all(r["language"] == "en" for r in table)
    result = runner.invoke(app, ["search", "orchestra", "--json", "--source", "tass-en"])
    assert result.stdout.strip() == ""


def test_db_upgrade_command(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pipeline.config.settings import get_settings

    monkeypatch.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    get_settings.cache_clear()
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fresh.db").exists()


def test_ingest_gz_and_single_file(db_url: str, tmp_path: Path) -> None:
    import gzip

    src = DEMO / "armenpress_en_culture.html"
    gz = tmp_path / "page.html.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    plain = tmp_path / "copy.html"
    shutil.copy(src, plain)
    report = ingest_paths([gz])
    assert report.outcomes == {"new": 1}
    assert ingest_paths([plain]).outcomes == {"unchanged": 1}
