"""seeds/topics.yaml: the shipped file is complete; bad files fail naming file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipeline.errors import SeedError
from pipeline.topics import load_topics
from pipeline.topics.terms import TermSyntaxError, parse_alias

SHIPPED = Path(__file__).resolve().parents[2] / "seeds" / "topics.yaml"
DEFAULT_TOPICS = {
    "zangezur-corridor",
    "border-delimitation",
    "karabakh",
    "peace-treaty",
    "osce-minsk-group",
    "transport-unblocking",
}
LANGS = {"en", "ru", "hy", "az"}


def write(tmp_path: Path, body: str) -> Path:
    """A topics file with ``body`` dedented."""
    path = tmp_path / "topics.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def _languages(node: object, cfg_sets: dict[str, dict[str, list[str]]]) -> set[str]:
    """Language codes used anywhere under a condition (set names resolved)."""
    if isinstance(node, str):
        return set(cfg_sets[node]) if node in cfg_sets else set()
    if isinstance(node, dict):
        out: set[str] = set()
        for key, value in node.items():
            if key in LANGS:
                out.add(key)
            out |= _languages(value, cfg_sets)
        return out
    if isinstance(node, list):
        return set().union(*(_languages(v, cfg_sets) for v in node)) if node else set()
    return set()


def test_shipped_file_has_the_default_topics_with_four_languages() -> None:
    cfg = load_topics(SHIPPED)
    assert {t.id for t in cfg.topics} == DEFAULT_TOPICS
    for topic in cfg.topics:
        assert len(topic.description) > 60, topic.id
        dumped = topic.model_dump(exclude_defaults=True)
        positive = {k: v for k, v in dumped.items() if k in {"any", "all"}}
        assert _languages(positive, cfg.sets) >= LANGS, topic.id


GOOD = """\
sets:
  places: {en: [Syunik, Meghri]}
topics:
  - id: demo
    name: Demo
    description: A demo topic.
    any:
      - terms: {en: [Zangezur corridor], ru: [Зангезурск* коридор*]}
      - near: {a: {en: [corridor]}, b: places, within: 3}
"""


def test_valid_file(tmp_path: Path) -> None:
    cfg = load_topics(write(tmp_path, GOOD))
    assert cfg.topics[0].id == "demo"
    assert cfg.sets["places"] == {"en": ["Syunik", "Meghri"]}


@pytest.mark.parametrize(
    ("body", "line", "field", "problem"),
    [
        (
            """\
            topics:
              - id: empty
                name: Empty
                description: No rule at all.
            """,
            2,
            "topics[0]",
            "empty rule",
        ),
        (
            """\
            topics:
              - id: typo
                name: Typo
                description: A misspelt key.
                any:
                  - terms: {en: [x y]}
                    withn: 3
            """,
            7,
            "topics[0].any[0].withn",
            "unknown key",
        ),
        (
            """\
            topics:
              - id: unknown-set
                name: Unknown set
                description: Names a set that does not exist.
                any:
                  - terms: nowhere
            """,
            6,
            "topics[0].any[0].terms",
            "unknown set 'nowhere'",
        ),
        (
            """\
            topics:
              - id: two
                name: Two
                description: Two kinds in one condition.
                any:
                  - terms: {en: [a b]}
                    near: {a: {en: [c d]}, b: {en: [e f]}}
            """,
            6,
            "topics[0].any[0]",
            "exactly one of",
        ),
        (
            """\
            topics:
              - id: star
                name: Star
                description: A star in the middle of a word.
                any:
                  - terms: {en: ["Zan*gezur"]}
            """,
            6,
            "topics[0].any[0].terms",
            "ends a stem",
        ),
        (
            """\
            topics:
              - id: short
                name: Short
                description: A one-word stem that matches everything.
                all:
                  - terms: {ru: [ар*]}
            """,
            6,
            "topics[0].all[0].terms",
            "not selective",
        ),
        (
            """\
            topics:
              - id: dup
                name: A
                description: First.
                any: [{terms: {en: [alpha]}}]
              - id: dup
                name: B
                description: Second.
                any: [{terms: {en: [beta]}}]
            """,
            6,
            "topics[1].id",
            "duplicate topic id",
        ),
        (
            """\
            topics:
              - id: Bad_Id
                name: Bad
                description: Not a slug.
                any: [{terms: {en: [alpha]}}]
            """,
            2,
            "topics[0].id",
            "pattern",
        ),
        (
            """\
            topics:
              - id: emptylist
                name: Empty list
                description: A language with no aliases.
                any: [{terms: {en: []}}]
            """,
            5,
            "topics[0].any[0].terms",
            "empty list",
        ),
    ],
)
def test_bad_files_name_line_and_field(
    tmp_path: Path, body: str, line: int, field: str, problem: str
) -> None:
    path = write(tmp_path, body)
    with pytest.raises(SeedError) as err:
        load_topics(path)
    assert err.value.path == str(path)
    assert err.value.line == line
    assert err.value.field.startswith(field)
    assert problem in err.value.problem


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="not found"):
        load_topics(tmp_path / "nope.yaml")


def test_alias_syntax_endings_stems_and_acronyms() -> None:
    variants = parse_alias("Карабах(|а|ом)")
    assert len(variants) == 3
    (stem,) = parse_alias("Зангезурск* коридор*")[0][:1]
    assert stem.stem
    (acro,) = parse_alias("TRIPP")[0]
    assert acro.acronym and not acro.stem
    (plain,) = parse_alias("Tripp")[0]
    assert not plain.acronym


@pytest.mark.parametrize("bad", ["", "  ", "(a|b", "a)", "*", "Кара(б(а))х", "a *b"])
def test_alias_syntax_errors(bad: str) -> None:
    with pytest.raises(TermSyntaxError):
        parse_alias(bad)
