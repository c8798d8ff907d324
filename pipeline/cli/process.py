"""``newsmon process``: clean, fold and match every recorded page not processed yet."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.cli import app
from pipeline.cli.common import console, out, parse_day

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from pipeline.stages.runner import RunReport

# The progress bar appears only once a run has lasted this long (and stderr is a terminal).
BAR_AFTER_SECONDS = 2.0
INTERRUPTED = 130  # the shell's code for a run stopped by Ctrl-C


class LazyBar:
    """A rich progress bar on stderr that starts only for runs longer than a few seconds."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.monotonic()
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        self.done = 0

    def advance(self, total: int) -> None:
        """Count one more item done."""
        self.done += 1
        self.update(self.done, total)

    def update(self, done: int, total: int) -> None:
        """Show ``done`` of ``total`` (a no-op until the run is long enough, or off a terminal)."""
        if self.bar is None:
            if not console.rich.is_terminal or time.monotonic() - self.started < BAR_AFTER_SECONDS:
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(
                TextColumn(self.label),
                BarColumn(),
                MofNCompleteColumn(),
                console=console.rich,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        if self.task is not None:
            self.bar.update(self.task, completed=done, total=total)

    def close(self) -> None:
        """Remove the bar."""
        if self.bar is not None:
            self.bar.stop()


def with_bar(label: str, run: Callable[[LazyBar], RunReport]) -> RunReport:
    """Run with a lazy progress bar that is always removed."""
    bar = LazyBar(label)
    try:
        return run(bar)
    finally:
        bar.close()


def print_report(kind: str, report: RunReport, as_json: bool) -> None:
    """The run's outcome counts as a table or one JSON object; exit 130 when interrupted."""
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "run_id": report.run_id,
                    "pages": report.total,
                    "outcomes": dict(sorted(report.outcomes.items())),
                    "documents": len(report.documents),
                    "interrupted": report.interrupted,
                }
            )
            + "\n"
        )
    else:
        from rich.table import Table

        table = Table(title=f"{kind} run {report.run_id}: {report.total} pages")
        table.add_column("outcome")
        table.add_column("pages", justify="right")
        for outcome, n in sorted(report.outcomes.items()):
            table.add_row(outcome, str(n))
        out.print(table)
    if report.interrupted:
        console.print(
            f"interrupted: what was done is stored; run `newsmon {kind}` again for the rest"
        )
        raise typer.Exit(INTERRUPTED)


@app.command("process")
def process(
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="Only this source's pages (repeatable; default: all)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Window start (YYYY-MM-DD or ISO): pages published before it end out_of_window; "
            "with --since/--until, pages an earlier window left out are considered again."
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Window end (YYYY-MM-DD, inclusive, or ISO timestamp).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Extraction processes (default NEWSMON_PROCESS_WORKERS, else all cores)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Clean, deduplicate and match every recorded page not processed yet; print counts."""
    from pipeline.stages.runner import run_pending
    from pipeline.store.pages import Window

    start, end = parse_day(since), parse_day(until, end=True)
    if start is not None and end is not None and end < start:
        raise typer.BadParameter(f"--until {until} is before --since {since}")
    window = Window(start, end) if start is not None or end is not None else None
    report = with_bar(
        "process",
        lambda bar: run_pending(
            source_names=source,
            workers=workers,
            window=window,
            on_progress=bar.update,
            handle_interrupt=True,
        ),
    )
    print_report("process", report, as_json)
