"""``newsmon extract``: run the cleaning step on saved pages and print JSON lines.

Contract (evaluation scripts rely on it): one JSON object per file on stdout,
``{"path", "title", "text", "published", "language", "method"}``; ``path`` is the
argument exactly as given, or ``os.path.join(folder_argument, name)`` for a file
found in a given folder; ``published`` is ISO-8601 UTC or null. A file that cannot
be extracted gets an error line on stderr (naming it), the others still run, and
the exit code is 1. Progress goes to stderr only.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.cli import app
from pipeline.cli.common import console
from pipeline.errors import ExtractionError, InputError

if TYPE_CHECKING:
    from rich.progress import Progress

HTML_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")


def expand_paths(paths: list[str]) -> Iterator[str]:
    """Files as given, and the HTML files of given folders (sorted, not recursive).

    A folder without any is a usage error (InputError): printing nothing and exiting 0 would
    look like success.
    """
    for path in paths:
        if os.path.isdir(path):
            names = sorted(
                name
                for name in os.listdir(path)
                if name.endswith(HTML_SUFFIXES) and os.path.isfile(os.path.join(path, name))
            )
            if not names:
                raise InputError(
                    f"{path}: folder holds no {', '.join(HTML_SUFFIXES)} files "
                    "(folders are not searched recursively)"
                )
            yield from (os.path.join(path, name) for name in names)
        else:
            yield path


def read_page(path: str) -> bytes:
    """Bytes of an .html file, decompressed for .gz; InputError naming the file otherwise."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if path.endswith(".gz"):
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{path}: not a valid gzip file ({exc})") from None
    return data


def extract_record(path: str, url: str | None) -> dict[str, str | None]:
    """The JSON record for one file (raises ExtractionError / InputError)."""
    from pipeline.clean import extract  # heavy imports only when the command runs

    article = extract(url, read_page(path))
    return {
        "path": path,
        "title": article.title,
        "text": article.text,
        "published": article.published.isoformat() if article.published else None,
        "language": article.language,
        "method": article.method,
    }


def _run(files: list[str], url: str | None, progress: Progress | None) -> int:
    """Print one record per file; return how many failed."""
    from rich.markup import escape

    task = progress.add_task("extract", total=len(files)) if progress else None
    failed = 0
    for path in files:
        try:
            typer.echo(json.dumps(extract_record(path, url), ensure_ascii=False))
        except InputError as exc:  # read_page's messages start with the path already
            failed += 1
            console.print(f"[red]error[/red]: {escape(str(exc))}", markup=True, highlight=False)
        except ExtractionError as exc:
            failed += 1
            console.print(
                f"[red]error[/red]: {escape(path)}: {escape(str(exc))}",
                markup=True,
                highlight=False,
            )
        if progress is not None and task is not None:
            progress.advance(task)
    return failed


@app.command("extract")
def extract_command(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="HTML or .html.gz files, or folders of them.",
            metavar="PATH...",
            show_default=False,
        ),
    ],
    url: Annotated[
        str | None,
        typer.Option("--url", help="The page's URL (only with a single file)."),
    ] = None,
) -> None:
    """Extract title, text, date and language from saved pages; print one JSON line per file."""
    files = list(expand_paths(paths))
    if url is not None and len(files) != 1:
        raise typer.BadParameter(f"--url needs exactly one file, got {len(files)}")
    if len(files) > 1:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        columns = (TextColumn("extract"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=console.rich, transient=True) as progress:
            failed = _run(files, url, progress)
    else:
        failed = _run(files, url, None)
    if failed:
        console.print(f"{failed} of {len(files)} files failed", highlight=False)
        raise typer.Exit(1)
