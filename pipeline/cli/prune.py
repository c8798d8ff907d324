"""``newsmon prune``: retention of stored raw HTML."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli import app
from pipeline.cli.common import console, out


def _mb(n: int) -> str:
    """Bytes for people (MB, or kB below a tenth of one)."""
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.1f} kB"


@app.command("prune")
def prune(
    raw_older_than: Annotated[
        int,
        typer.Option(
            "--raw-older-than",
            min=0,
            metavar="DAYS",
            help="Drop the stored raw HTML of pages fetched more than DAYS days ago.",
        ),
    ],
    dry_run: Annotated[bool, typer.Option(help="Only count what would be dropped.")] = False,
    vacuum: Annotated[
        bool, typer.Option(help="Then VACUUM, so the database file gives the space back.")
    ] = False,
) -> None:
    """Drop old raw HTML; documents, stories, matches and the alert ledger are kept."""
    from pipeline.store.prune import prune_raw
    from pipeline.store.prune import vacuum as run_vacuum

    report = prune_raw(raw_older_than, dry_run=dry_run)
    verb = "would drop" if dry_run else "dropped"
    out.print(
        f"{verb} the raw HTML of {report.pages} pages fetched before "
        f"{report.cutoff:%Y-%m-%d %H:%M} UTC ({_mb(report.compressed_bytes)} stored, "
        f"{_mb(report.raw_bytes)} as fetched)"
    )
    kept = ", ".join(f"{n} {name}" for name, n in report.kept.items())
    out.print(f"kept: {kept}")
    if vacuum and not dry_run:
        console.print("vacuuming (the database is busy meanwhile) ...")
        run_vacuum()
        out.print("vacuum done")
