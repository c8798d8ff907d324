"""The ``newsmon`` command line: one typer app, each concern in its own module.

Start-up is part of the interface: ``newsmon --help`` imports every command module, so a
command module imports only the standard library, typer and ``pipeline.cli.common`` at top
level, and everything heavy (SQLAlchemy, rich, trafilatura, numpy, Airflow...) inside its
command functions. ``tests/unit/test_cli_imports.py`` holds that line. A new command module
is one more name in the import list of :func:`_register`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from pipeline.cli.common import Group
from pipeline.errors import NewsmonError

if TYPE_CHECKING:
    from sqlalchemy.exc import DBAPIError

app = typer.Typer(
    help="newsmon: monitor ministries and wire agencies for the topics you track.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain click help: typer's rich help renderer alone costs ~0.13 s of start-up.
    rich_markup_mode=None,
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _register() -> None:
    """Import the command modules (light at top level); each adds its commands to ``app``."""
    from pipeline.cli import (  # noqa: F401
        airflow,
        alerts,
        core,
        crawl,
        dedup,
        extract,
        process,
        prune,
        replay,
        runday,
        runs,
        serve,
        sources,
        topics,
    )


def _lost_database(exc: Exception) -> DBAPIError | None:
    """``exc`` when it says the database is unavailable or was lost mid-run, else None."""
    # Only a command that imported SQLAlchemy can raise its errors; importing it here for an
    # except clause would cost every command, --help included, ~0.2 s.
    loaded = sys.modules.get("sqlalchemy.exc")
    if loaded is None:
        return None
    dbapi_error: type[DBAPIError] = loaded.DBAPIError
    if not isinstance(exc, dbapi_error):
        return None
    from pipeline.store.db import unavailable

    return exc if unavailable(exc) else None


def main() -> None:
    """Console-script entry point: known errors become one clear line and exit code 2."""
    _register()
    try:
        app()
    except NewsmonError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except Exception as exc:
        lost = _lost_database(exc)
        if lost is None:
            raise
        # The database went away mid-run. Each item is its own transaction, so only the one in
        # flight was rolled back; running the command again catches up. Only the driver's first
        # line is shown: the full error repeats the SQL and its parameters (scraped text).
        reason = str(lost.orig).strip().splitlines()[0] if lost.orig else lost.__class__.__name__
        typer.secho(
            f"error: database unavailable or lost mid-run ({reason}); what was done is kept, "
            "run the command again once NEWSMON_DATABASE_URL is reachable",
            fg=typer.colors.RED,
            err=True,
        )
        sys.exit(2)
