"""Start-up of the ``newsmon`` CLI: what gets imported, and that --help still lists everything.

Nothing here is timed (``scripts/bench_cli.py`` measures); these tests hold the structure that
makes start-up short: command modules import their libraries inside the commands.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from pipeline.cli import _register, app
from pipeline.store import db

# Libraries that must not load to build --help (each costs from tens of ms to ~0.7 s).
HEAVY_FOR_HELP = (
    "sqlalchemy",
    "alembic",
    "rich",
    "pydantic",
    "yaml",
    "jinja2",
    "lxml",
    "numpy",
    "scipy",
    "datasketch",
    "trafilatura",
    "scrapy",
    "twisted",
    "airflow",
    "redis",
)
# A search needs SQLAlchemy, the models and rich for its table; nothing of the other stages.
HEAVY_FOR_SEARCH = (
    "alembic",
    "numpy",
    "scipy",
    "datasketch",
    "trafilatura",
    "lxml",
    "scrapy",
    "twisted",
    "airflow",
    "jinja2",
)
REPORT = "imported:"


def run_cli(args: list[str], env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """Run the console-script entry point in a fresh interpreter: (stdout, top-level modules)."""
    code = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print("
        f"{REPORT!r} + json.dumps(sorted({{m.split('.')[0] for m in sys.modules}}))))\n"
        f"sys.argv = ['newsmon', *{args!r}]\n"
        "from pipeline.cli import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    output, _, modules = done.stdout.rpartition(REPORT)
    return output, set(json.loads(modules))


def test_help_imports_nothing_heavy() -> None:
    _, modules = run_cli(["--help"])
    assert "typer" in modules and "pipeline" in modules  # the report itself works
    assert sorted(modules.intersection(HEAVY_FOR_HELP)) == []


@pytest.mark.parametrize("group", ["alerts", "db", "sources", "replay", "topics"])
def test_group_help_imports_nothing_heavy(group: str) -> None:
    output, modules = run_cli([group, "--help"])
    assert "Commands:" in output
    # typer itself validates the top-level options with pydantic on the way to a subcommand.
    assert sorted(modules.intersection(HEAVY_FOR_HELP) - {"pydantic"}) == []


def test_help_lists_every_command_with_its_first_sentence() -> None:
    _register()
    group = get_command(app)
    ctx = group.make_context("newsmon", ["--help"], resilient_parsing=True)
    names = group.list_commands(ctx)  # type: ignore[attr-defined]  # a TyperGroup
    assert {"search", "ingest", "crawl", "alerts", "sources", "topics", "db"} <= set(names)
    output, _ = run_cli(["--help"])
    flat = " ".join(output.split())  # help rows wrap at the terminal width
    for name in names:
        command = group.get_command(ctx, name)  # type: ignore[attr-defined]
        sentence = command.get_short_help_str(limit=1000)
        assert sentence and not sentence.endswith("...")
        assert f" {name} {sentence}" in flat, f"{name!r} or its help missing from --help"


def test_search_loads_only_what_it_needs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'search.db'}"
    db.upgrade(url)
    env = {**os.environ, "NEWSMON_DATABASE_URL": url, "NEWSMON_VAR_DIR": str(tmp_path)}
    output, modules = run_cli(["search", "Zangezur"], env)
    assert "No stored document has every word of 'Zangezur'" in output
    assert "sqlalchemy" in modules
    # An up-to-date schema is recognised without importing Alembic.
    assert sorted(modules.intersection(HEAVY_FOR_SEARCH)) == []


def test_script_heads_are_alembics_heads() -> None:
    from alembic.script import ScriptDirectory

    heads = db.script_heads()
    assert heads is not None
    assert heads == frozenset(ScriptDirectory(str(db.MIGRATIONS_DIR)).get_heads())


def test_ensure_schema_still_upgrades_an_outdated_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db.upgrade(url, revision="0001")
    engine = db.get_engine(url)
    assert not db.at_heads(engine)
    db.reset_engines()
    db.ensure_schema(url)
    assert db.at_heads(db.get_engine(url))
    assert db.current_revision(url) in (db.script_heads() or ())


def test_replay_default_port_is_the_replicas() -> None:
    from pipeline.cli.replay import DEFAULT_PORT
    from pipeline.devtools.replay import DEFAULT_PORT as REPLICA_DEFAULT_PORT

    assert DEFAULT_PORT == REPLICA_DEFAULT_PORT
