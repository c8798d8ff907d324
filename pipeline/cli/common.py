"""Helpers shared by the CLI modules.

Every command module is imported to build ``newsmon --help``, so this module and they import
only the standard library and typer at top level; rich, SQLAlchemy and the pipeline's heavy
parts are imported inside the commands (``tests/unit/test_cli_imports.py`` checks).
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from pipeline.config.settings import get_settings
from pipeline.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

    # typer bundles its own click; these are the types its TyperGroup methods take.
    from typer._click import Context, HelpFormatter


class LazyConsole:
    """A rich Console made on first use, so that importing the CLI does not import rich."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr

    @cached_property
    def rich(self) -> Console:
        """The Console itself (for ``Progress(console=...)``)."""
        from rich.console import Console

        return Console(stderr=self._stderr)

    def print(self, *objects: Any, **kwargs: Any) -> None:
        """``Console.print``."""
        self.rich.print(*objects, **kwargs)

    def print_json(self, json: str) -> None:
        """``Console.print_json``."""
        self.rich.print_json(json)


# Upper bound of every --limit: the table is for reading, and a bound keeps the value inside the
# databases' integer range (SQLite raises OverflowError beyond 2**63).
MAX_ROWS = 10_000

console = LazyConsole(stderr=True)
out = LazyConsole(stderr=False)


class Group(TyperGroup):
    """A command group whose --help shows each command's whole first sentence."""

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        """List the commands; click would cut their help at the line width with "..."."""
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def sub_app(help: str) -> typer.Typer:
    """A command group styled like the main app (plain help: rich's help renderer is slow)."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None, cls=Group)


def parse_day(value: str | None, *, end: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` (a whole day in NEWSMON_TIMEZONE) or an ISO timestamp as aware UTC.

    The rule is ``pipeline.text.window``'s: a day as an end (``end``) means its last moment.
    """
    from pipeline.text.window import parse_moment

    try:
        return parse_moment(value, get_settings().tz, end=end)
    except InputError as exc:
        raise typer.BadParameter(str(exc)) from None
