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
        replay,
        sources,
        topics,
    )


def main() -> None:
    """Console-script entry point: known errors become one clear line and exit code 2."""
    _register()
    try:
        app()
    except NewsmonError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
