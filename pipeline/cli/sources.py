"""``newsmon sources``: list the configured sources and validate every seed file."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline.cli import app
from pipeline.cli.common import console, out, sub_app
from pipeline.config.settings import get_settings
from pipeline.errors import SeedError

sources_app = sub_app("Monitored sources (seeds/sources.yaml).")
app.add_typer(sources_app, name="sources")


@sources_app.command("list")
def list_sources(
    file: Annotated[Path | None, typer.Option(help="Sources file (default: configured).")] = None,
) -> None:
    """Show every configured source with its languages and discovery methods."""
    from rich.table import Table

    from pipeline.config.sources import load_sources

    sf = load_sources(file)
    table = Table(title=f"{len(sf.sources)} sources ({file or get_settings().sources_path})")
    for col in ("name", "type", "country", "languages", "discovery", "domains", "crawl"):
        table.add_column(col)
    for src in sf.sources:
        methods = ", ".join(
            f"{m.method}{'+text' if getattr(m, 'full_text', False) else ''}({m.language or '-'})"
            for m in src.discovery
        )
        flags = []
        if not src.crawl.enabled:
            flags.append("disabled")
        if src.crawl.feed_only:
            flags.append("feed-only")
        flags.append(f"c={src.crawl.concurrency}")
        if src.crawl.delay is not None:
            flags.append(f"delay={src.crawl.delay:g}s")
        table.add_row(
            src.name,
            src.type,
            src.country,
            ",".join(src.languages),
            methods,
            ",".join(src.allowed_domains),
            " ".join(flags),
        )
    out.print(table)


def _optional_loader(module: str, names: tuple[str, ...]) -> Callable[[Path], Any] | None:
    """The first loader function found in ``module`` (another concern may not exist yet)."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise
    for name in names:
        fn = getattr(mod, name, None)
        if callable(fn):
            return fn  # type: ignore[no-any-return]
    return None


def check_sources_file(path: Path) -> None:
    """Load the sources file and check that every named quirk exists in pipeline/clean/quirks.py."""
    from pipeline.config.seedfile import line_for, load_yaml
    from pipeline.config.sources import load_sources

    sf = load_sources(path)
    try:
        from pipeline.clean.quirks import QUIRKS
    except ModuleNotFoundError:
        return  # crawlers not installed (library-only use)
    _, lines = load_yaml(path)
    for i, src in enumerate(sf.sources):
        if src.article.quirks and src.article.quirks not in QUIRKS:
            known = ", ".join(sorted(QUIRKS))
            raise SeedError(
                str(path),
                line_for(("sources", i, "article", "quirks"), lines),
                f"sources[{i}].article.quirks",
                f"unknown quirk {src.article.quirks!r}; known: {known}",
            )


def seed_checks() -> list[tuple[str, Path, Callable[[Path], Any] | None]]:
    """(label, path, loader) for every seed file; loader None when that concern is not built."""
    s = get_settings()
    return [
        ("sources", s.sources_path, check_sources_file),
        ("topics", s.topics_path, _optional_loader("pipeline.topics", ("load_topics",))),
        (
            "subscribers",
            s.subscribers_path,
            _optional_loader("pipeline.alerts", ("load_subscribers",))
            or _optional_loader("pipeline.subscribers", ("load_subscribers",)),
        ),
    ]


@sources_app.command("check")
def check() -> None:
    """Validate every seed file (sources, topics, subscribers); exit 2 on the first error."""
    failed = False
    for label, path, loader in seed_checks():
        if loader is None:
            console.print(f"[yellow]skip[/] {label}: no loader in this build")
            continue
        if label != "sources" and not path.exists():
            console.print(f"[yellow]skip[/] {label}: {path} does not exist")
            continue
        try:
            loader(path)
        except SeedError as exc:
            console.print(f"[red]error[/] {label}: {exc}")
            failed = True
            continue
        out.print(f"OK {label}: {path}")
    if failed:
        raise typer.Exit(2)
