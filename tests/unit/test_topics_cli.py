"""``newsmon topics match|test|reprocess``: the JSON-lines contract and the archive commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from pipeline.cli import _register, app
from pipeline.store.db import session_scope
from pipeline.store.models import Document, Match, Run

_register()
runner = CliRunner()

TOPICS = """\
topics:
  - id: corridor
    name: Corridor
    description: The Zangezur corridor.
    any:
      - terms: {en: [Zangezur corridor], ru: [Зангезурск* коридор*]}
  - id: baku
    name: Baku
    description: Baku as a whole word.
    any:
      - terms: {en: [Baku]}
"""


def topics_file(tmp_path: Path) -> Path:
    """The test topics written to disk."""
    path = tmp_path / "topics.yaml"
    path.write_text(TOPICS, encoding="utf-8")
    return path


LINES = [
    {"id": "r1", "title": "Зангезурский коридор", "text": "Обсуждали Зангезурский коридор в Баку."},
    {"id": 7, "title": "Bakuriani", "text": "Skiing season."},
    {"id": "r3", "title": "", "text": "Talks in Baku. Then more talks.", "language": None},
    {"id": "r4", "title": "Baku", "text": "", "language": "en"},
]


def run_match(tmp_path: Path, stdin: str) -> list[dict[str, object]]:
    """Invoke ``topics match`` in-process and parse its output lines."""
    result = runner.invoke(app, ["topics", "match", "--topics", str(topics_file(tmp_path))], stdin)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_match_writes_one_line_per_input_in_order(tmp_path: Path) -> None:
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in LINES) + "\n"
    out = run_match(tmp_path, stdin)
    assert [o["id"] for o in out] == ["r1", 7, "r3", "r4"]
    assert all(set(o) == {"id", "matches"} for o in out)
    assert out[1]["matches"] == []
    first = out[0]["matches"]
    assert [m["topic"] for m in first] == ["corridor", "baku"]  # best score first
    for m in first:
        assert set(m) == {"topic", "score", "terms", "passages"}
        assert isinstance(m["score"], float)
        assert all(isinstance(t, str) for t in m["terms"])
    assert first[0]["terms"] == ["Зангезурск* коридор*"]


def test_match_passages_are_offsets_into_their_field(tmp_path: Path) -> None:
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in LINES)
    for line, o in zip(LINES, run_match(tmp_path, stdin), strict=True):
        for m in o["matches"]:  # type: ignore[attr-defined]
            for p in m["passages"]:
                assert set(p) == {"field", "start", "end", "text"}
                assert p["field"] in {"title", "text"}
                assert line[p["field"]][p["start"] : p["end"]] == p["text"]
    r3 = run_match(tmp_path, json.dumps(LINES[2]))[0]["matches"]
    assert r3[0]["passages"] == [{"field": "text", "start": 0, "end": 14, "text": "Talks in Baku."}]


def test_match_skips_blank_lines_and_detects_missing_language(tmp_path: Path) -> None:
    stdin = "\n\n" + json.dumps({"id": "x", "title": "Баку", "text": "Встреча в Баку."}) + "\n\n"
    out = run_match(tmp_path, stdin)
    assert [o["id"] for o in out] == ["x"]
    assert out[0]["matches"][0]["topic"] == "baku"  # type: ignore[index]


def test_match_contract_through_the_console_script(tmp_path: Path) -> None:
    """The real entry point: bad input is one clear line on stderr and exit status 2."""
    env = {**os.environ, "NEWSMON_VAR_DIR": str(tmp_path / "var")}
    cmd = [sys.executable, "-c", "from pipeline.cli import main; main()", "topics", "match"]
    cmd += ["--topics", str(topics_file(tmp_path))]
    good = json.dumps({"id": "a", "title": "", "text": "Zangezur corridor."})
    done = subprocess.run(cmd, input=good + "\n{broken\n", capture_output=True, text=True, env=env)
    assert done.returncode == 2
    assert json.loads(done.stdout.splitlines()[0])["matches"][0]["topic"] == "corridor"
    assert "stdin line 2" in done.stderr and "not JSON" in done.stderr


def test_topics_test_prints_counts_and_passages_and_stores_nothing(
    db_url: str, tmp_path: Path
) -> None:
    with session_scope() as s:
        for i, text in enumerate(["Talks in Baku today.", "Nothing here.", "Баку ждёт."]):
            s.add(
                Document(
                    url_hash=f"h{i}", url=f"https://x.org/{i}", canonical_url=f"https://x.org/{i}",
                    title="", text=text, language="ru" if i == 2 else "en",
                    extraction_method="test", content_hash=f"c{i}",
                )
            )  # fmt: skip
    result = runner.invoke(app, ["topics", "test", "baku", "--topics", str(topics_file(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "2 of 3 stored documents match" in result.stdout
    assert "Talks in Baku today." in result.stdout
    with session_scope() as s:
        assert s.scalars(select(Match)).all() == []


def test_topics_reprocess_records_matches(db_url: str, tmp_path: Path) -> None:
    with session_scope() as s:
        s.add(
            Document(
                url_hash="h", url="https://x.org/", canonical_url="https://x.org/", title="",
                text="Talks in Baku.", extraction_method="test", content_hash="c",
            )
        )  # fmt: skip
    args = ["topics", "reprocess", "baku", "--topics", str(topics_file(tmp_path))]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "matched" in result.stdout
    with session_scope() as s:
        (m,) = s.scalars(select(Match)).all()
        run = s.get(Run, m.run_id)
        assert run is not None and run.kind == "reprocess"


def test_topics_test_without_a_match_gives_hints_not_empty_tables(
    db_url: str, tmp_path: Path
) -> None:
    path = topics_file(tmp_path)
    empty = runner.invoke(app, ["topics", "test", "baku", "--topics", str(path)])
    assert empty.exit_code == 0, empty.output
    assert "0 of 0 stored documents match" in empty.stdout
    assert "No documents stored yet" in empty.stdout and "by source" not in empty.stdout
    with session_scope() as s:
        s.add(
            Document(
                url_hash="h", url="https://x.org/1", canonical_url="https://x.org/1", title="",
                text="Skiing in Bakuriani.", language="en", extraction_method="test",
                content_hash="c", cluster_id=None,
            )
        )  # fmt: skip
    none = runner.invoke(app, ["topics", "test", "baku", "--topics", str(path)])
    assert none.exit_code == 0, none.output
    assert "0 of 1 stored documents match" in none.stdout
    assert "by source" not in none.stdout and "by language" not in none.stdout
    assert f"newsmon topics match --topics {path}" in none.stdout
    assert "newsmon search WORD" in none.stdout
    window = runner.invoke(
        app, ["topics", "test", "baku", "--topics", str(path), "--since", "2020-01-01"]
    )
    assert "Widen --since/--until" in window.stdout


def test_topics_test_names_documents_and_stories(db_url: str, tmp_path: Path) -> None:
    from tests.alerts_data import story

    with session_scope() as s:
        cluster, doc = story(s, n=1, text="Talks in Baku today on the road.")
        ids = (cluster.id, doc.id)
    result = runner.invoke(app, ["topics", "test", "baku", "--topics", str(topics_file(tmp_path))])
    assert result.exit_code == 0, result.output
    assert f"doc {ids[1]} (story {ids[0]}) Statement 1" in result.stdout
    assert "#" not in result.stdout
