"""Layer rules, read from the import statements themselves (AST), including imports in functions.

* Only ``pipeline/airflow/`` imports Airflow; the library runs and is tested without it.
* The crawlers fetch and record; cleaning, deduplication and matching belong to the process stage.
* The core (``pipeline/`` minus ``devtools/``, ``cli/``, ``airflow/``) never imports the dev tools.

Each rule is also run on a small tree written here with one violation of each kind, so a rule that
stopped finding anything fails too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Rule:
    """Python files under ``scope`` (minus ``exempt``) must not import ``forbidden``."""

    name: str
    scope: str
    exempt: tuple[str, ...]
    forbidden: tuple[str, ...]


RULES = {
    "airflow-only-in-adapter": Rule(
        "only pipeline/airflow/ imports Airflow", "pipeline", ("pipeline/airflow",), ("airflow",)
    ),
    "crawlers-record-only": Rule(
        "crawlers/ does not deduplicate or match topics",
        "crawlers",
        (),
        ("pipeline.dedup", "pipeline.topics"),
    ),
    "core-without-devtools": Rule(
        "the core does not import pipeline.devtools",
        "pipeline",
        ("pipeline/devtools", "pipeline/cli", "pipeline/airflow"),
        ("pipeline.devtools",),
    ),
}


def _package(path: Path, root: Path) -> list[str]:
    """The dotted package a file belongs to, as parts (for resolving relative imports)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return parts[:-1]


def imported_modules(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in the file, relative ones resolved, at any depth.

    ``from a import b`` yields ``a`` and ``a.b`` (``b`` may be a submodule); a literal
    ``importlib.import_module("x")`` or ``__import__("x")`` counts as an import of ``x``.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _package(path, root)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            yield node.lineno, node.args[0].value


def violations(rule: Rule, root: Path) -> list[str]:
    """``path:line imports module`` for each import breaking ``rule`` under ``root``."""
    found: list[str] = []
    for path in sorted((root / rule.scope).rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if any(rel == ex or rel.startswith(ex + "/") for ex in rule.exempt):
            continue
        for line, module in imported_modules(path, root):
            if any(module == bad or module.startswith(bad + ".") for bad in rule.forbidden):
                found.append(f"{rel}:{line} imports {module}")
    return sorted(set(found))


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_the_tree_keeps_its_layers(rule_id: str) -> None:
    rule = RULES[rule_id]
    assert list((ROOT / rule.scope).rglob("*.py")), f"nothing to check under {rule.scope}/"
    assert violations(rule, ROOT) == [], rule.name


# One file per kind of violation (and per allowed import the rules must not flag).
BAD_TREE = {
    # Airflow outside the adapter, hidden in a function as the old stages did.
    "pipeline/stages/orchestrate.py": (
        "def fail_fast():\n    from airflow.sdk.exceptions import AirflowFailException\n"
    ),
    "pipeline/alerts/smtp.py": "import airflow.sdk\n",
    "pipeline/airflow/tasks.py": "from airflow.sdk import BaseHook\n",  # allowed
    # A crawler processing pages: absolute, "from package import module" and relative forms.
    "crawlers/pipelines.py": "from pipeline.dedup.sketch import signature\n",
    "crawlers/spiders/feed.py": "def parse():\n    from pipeline import topics\n",
    "crawlers/settings.py": "from pipeline.store.pages import record_fetch\n",  # allowed
    # The core reaching into the dev tools (relative import, and by name at run time).
    "pipeline/stages/report.py": "from ..devtools import demo\n",
    "pipeline/store/db.py": (
        "import importlib\n\ndef load():\n    importlib.import_module('pipeline.devtools.replay')\n"
    ),
    "pipeline/cli/replay.py": "from pipeline.devtools.replay import serve\n",  # allowed
}

EXPECTED = {
    "airflow-only-in-adapter": [
        "pipeline/alerts/smtp.py:1 imports airflow.sdk",
        "pipeline/stages/orchestrate.py:2 imports airflow.sdk.exceptions",
        "pipeline/stages/orchestrate.py:2 imports airflow.sdk.exceptions.AirflowFailException",
    ],
    "crawlers-record-only": [
        "crawlers/pipelines.py:1 imports pipeline.dedup.sketch",
        "crawlers/pipelines.py:1 imports pipeline.dedup.sketch.signature",
        "crawlers/spiders/feed.py:2 imports pipeline.topics",
    ],
    "core-without-devtools": [
        "pipeline/stages/report.py:1 imports pipeline.devtools",
        "pipeline/stages/report.py:1 imports pipeline.devtools.demo",
        "pipeline/store/db.py:4 imports pipeline.devtools.replay",
    ],
}


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_each_rule_finds_violating_imports(rule_id: str, tmp_path: Path) -> None:
    for rel, text in BAD_TREE.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert violations(RULES[rule_id], tmp_path) == EXPECTED[rule_id]
