"""Helpers shared by the CLI modules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import typer
from rich.console import Console

from pipeline.config.settings import get_settings

console = Console(stderr=True)
out = Console()


def parse_day(value: str | None, *, end: bool = False) -> datetime | None:
    """Parse ``YYYY-MM-DD`` (a day in NEWSMON_TIMEZONE) or an ISO timestamp into aware UTC."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time.max if end else time.min, get_settings().tz)
        else:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=get_settings().tz)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: expected YYYY-MM-DD or an ISO timestamp") from None
    return moment.astimezone(UTC)
