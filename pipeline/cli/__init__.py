"""The ``newsmon`` command line: one typer app, each concern in its own module."""

from __future__ import annotations

import sys

import typer

from pipeline.errors import NewsmonError

app = typer.Typer(
    help="newsmon: monitor ministries and wire agencies for the topics you track.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _register() -> None:
    """Import the command modules; each adds its commands to ``app``."""
    from pipeline.cli import (  # noqa: F401
        airflow,
        alerts,
        core,
        crawl,
        dedup,
        extract,
        prune,
        replay,
        sources,
        topics,
    )


def main() -> None:
    """Console-script entry point: known errors become one clear line and exit code 2."""
    from sqlalchemy.exc import DBAPIError

    from pipeline.store.db import unavailable

    _register()
    try:
        app()
    except NewsmonError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except DBAPIError as exc:
        if not unavailable(exc):
            raise
        # The database went away mid-run. Each item is its own transaction, so only the one in
        # flight was rolled back; running the command again catches up. Only the driver's first
        # line is shown: the full error repeats the SQL and its parameters (scraped text).
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else exc.__class__.__name__
        typer.secho(
            f"error: database unavailable or lost mid-run ({reason}); what was done is kept, "
            "run the command again once NEWSMON_DATABASE_URL is reachable",
            fg=typer.colors.RED,
            err=True,
        )
        sys.exit(2)
