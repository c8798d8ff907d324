"""`newsmon dedup` contract and `newsmon stories`; the dev-set evaluation reaches its goal."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.cli import _register, app
from pipeline.dedup import assign
from pipeline.dedup.batch import guess_source_type
from pipeline.store import db
from pipeline.store.models import Document, Match, Source, Topic
from tests.conftest import PROJECT_ROOT
from tests.fixtures.dedup import devset

_register()
runner = CliRunner()
ORIGINALS = {d.id: d for d in devset.load_originals()}


def _line(doc: devset.Doc, **extra: Any) -> str:
    return json.dumps(
        {"id": doc.id, "title": doc.title, "text": doc.text, **extra}, ensure_ascii=False
    )


def _run(lines: list[str]) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["dedup"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    return [json.loads(x) for x in result.stdout.splitlines()]


def _copy(doc_id: str, kinds: list[str], new_id: str, seed: int = 3) -> devset.Doc:
    orig = ORIGINALS[doc_id]
    return devset.make_copy(orig, kinds, random.Random(seed), "TASS", new_id)


def test_dedup_contract_one_line_per_input_in_order() -> None:
    a = ORIGINALS["en-am-consultations-georgia"]
    b = ORIGINALS["en-am-consultations-france"]  # same template, same day
    rows = _run(
        [
            _line(a, published="2025-06-12T09:00:00Z", source="MFA Armenia"),
            _line(_copy(a.id, ["headline", "boilerplate"], "a-copy"), source="news.am"),
            _line(b, source="MFA Armenia"),
            _line(_copy(a.id, ["cut", "lead"], "a-cut")),
            _line(_copy(b.id, ["quotes", "noise"], "b-copy")),
            json.dumps({"id": 7, "title": "", "text": a.text}),  # exact copy, integer id
        ]
    )
    assert [r["id"] for r in rows] == [a.id, "a-copy", b.id, "a-cut", "b-copy", 7]
    assert {r["id"]: r["cluster"] for r in rows} == {
        a.id: a.id,
        "a-copy": a.id,
        b.id: b.id,
        "a-cut": a.id,
        "b-copy": b.id,
        7: a.id,
    }
    dup = {r["id"]: r["duplicate_of"] for r in rows}
    assert dup[a.id] is None and dup[b.id] is None
    assert dup["a-copy"] == dup["a-cut"] == dup[7] == a.id
    assert dup["b-copy"] == b.id


def test_official_origin_arriving_after_its_cut_copies_joins_them() -> None:
    orig = ORIGINALS["ru-minsk-group"]
    rows = _run(
        [
            _line(_copy(orig.id, ["cut"], "c1", seed=1), source="ТАСС"),
            _line(_copy(orig.id, ["cut", "boilerplate"], "c2", seed=5), source="Sputnik Армения"),
            _line(orig, source="МИД России"),
        ]
    )
    assert {r["cluster"] for r in rows} == {"c1"}
    assert rows[2]["duplicate_of"] in {"c1", "c2"}


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ('{"id": "a", "title": "t", "text": "x"}\n{not json}\n', "line 2: not valid JSON"),
        ('{"id": "a", "title": "t"}\n', 'line 1: "text" must be a string'),
        ("[1, 2]\n", "line 1: expected a JSON object"),
        ('{"title": "t", "text": "x"}\n', 'line 1: "id" must be'),
        ('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', "id 'a' already used on line 1"),
        ('{"id": "a", "text": "x", "published": "yesterday"}\n', 'line 1: "published"'),
    ],
)
def test_dedup_bad_input_names_the_line_and_exits_2(stdin: str, message: str) -> None:
    result = runner.invoke(app, ["dedup"], input=stdin)
    assert result.exit_code == 2
    assert message in result.output
    assert not result.stdout.strip().startswith("{")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("MFA Armenia", "ministry"),
        ("МИД России", "ministry"),
        ("mid.ru", "ministry"),
        ("Kremlin", "government"),
        ("Правительство России", "government"),
        ("TASS", "wire"),
        ("Armenpress", "wire"),
        ("news.am", "media"),
        ("Caucasus Watch", "media"),
    ],
)
def test_source_type_is_guessed_from_the_name(name: str, kind: str) -> None:
    assert guess_source_type(name) == kind


def _store(session: Any, doc: devset.Doc, source: Source, n: int) -> Document:
    row = Document(
        url=f"https://example.org/{n}",
        url_hash=f"{n:064d}",
        canonical_url="x",
        source_id=source.id,
        title=doc.title,
        text=doc.text,
        extraction_method="test",
        content_hash="",
        search_text="",
        update_count=0,
    )
    session.add(row)
    session.flush()
    assign(session, row)
    return row


def test_stories_lists_outlets_origin_first_and_filters_by_topic(db_url: str) -> None:
    orig = ORIGINALS["en-tr-normalisation"]
    other = ORIGINALS["en-eu-mission"]
    with db.session_scope(db_url) as s:
        wire = Source(name="TASS", type="wire", country="ru", languages=[], config={})
        mfa = Source(name="MFA Turkey", type="ministry", country="tr", languages=[], config={})
        s.add_all([wire, mfa])
        s.flush()
        _store(s, _copy(orig.id, ["lead"], "c"), wire, 1)
        official = _store(s, orig, mfa, 2)
        unrelated = _store(s, other, wire, 3)
        s.add(
            Topic(
                id="normalisation",
                name="Normalisation",
                description="",
                definition={},
                definition_hash="",
            )
        )
        s.flush()
        s.add(
            Match(
                document_id=official.id, topic_id="normalisation", score=1.0, terms=[], passages=[]
            )
        )
        assert unrelated.cluster_id != official.cluster_id
    result = runner.invoke(app, ["stories", "--json"])
    assert result.exit_code == 0, result.output
    stories = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(stories) == 2
    story = next(s for s in stories if s["size"] == 2)
    assert story["outlets"] == ["MFA Turkey", "TASS"]  # the official origin first
    assert story["members"][0]["origin"] and story["title"] == orig.title
    topic = runner.invoke(app, ["stories", "--json", "--topic", "normalisation"])
    assert [json.loads(x)["cluster"] for x in topic.stdout.splitlines()] == [story["cluster"]]
    assert runner.invoke(app, ["stories", "--json", "--since", "2999-01-01"]).stdout == ""
    table = runner.invoke(app, ["stories"])
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    (at,) = [i for i, x in enumerate(lines) if x.startswith(f"story {story['cluster']} ")]
    block = "\n".join(lines[at : [*lines, ""].index("", at)])  # up to the next story
    assert block.index("MFA Turkey") < block.index("TASS")  # the origin first
    assert runner.invoke(app, ["stories", "--since", "tomorrow"]).exit_code == 2


def test_dev_set_reaches_its_goals() -> None:
    path = PROJECT_ROOT / "scripts" / "eval_dedup.py"
    spec = importlib.util.spec_from_file_location("eval_dedup", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_dedup"] = module
    spec.loader.exec_module(module)
    docs = devset.build()
    _, out = module.evaluate(docs, use_cli=False)
    scores = module.split_scores(docs, out)
    # Precision over every pair, copies (same language) at F1 0.99. Versions in other
    # languages are linked only on evidence our own negatives never reach: recall there is
    # reported by scripts/eval_dedup.py, and must not fall below what it links today. Half the
    # inputs are undated: the border-commission and Crossroads versions share one date and no
    # other distinctive name, and fold only when dated (one publisher, within hours).
    assert module.meets_goal(scores), scores
    assert scores["cross_language"]["precision"] == 1.0, scores
    assert scores["cross_language"]["recall"] >= 0.30, scores
    assert len(out) == len(docs) >= 250
