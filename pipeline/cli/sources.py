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


def _optional_loader(module: str, names: tuple[str, ...]) -> Callable[..., Any] | None:
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


def check_sources_file(path: Path) -> list[SeedError]:
    """Load the sources file (SeedError on the first structural mistake); return what the
    runtime would refuse besides: unknown quirks, and in production mode every loopback,
    private, link-local or metadata host (the crawl's own check)."""
    from pipeline.config.hosts import production_host_problems
    from pipeline.config.seedfile import field_name, line_for, load_yaml
    from pipeline.config.sources import load_sources

    sf = load_sources(path)
    _, lines = load_yaml(path)
    problems = [
        SeedError(str(path), line_for(loc, lines), field_name(loc), msg)
        for loc, msg in production_host_problems(sf)
    ]
    try:
        from pipeline.clean.quirks import QUIRKS
    except ModuleNotFoundError:
        return problems  # crawlers not installed (library-only use)
    for i, src in enumerate(sf.sources):
        if src.article.quirks and src.article.quirks not in QUIRKS:
            known = ", ".join(sorted(QUIRKS))
            problems.append(
                SeedError(
                    str(path),
                    line_for(("sources", i, "article", "quirks"), lines),
                    f"sources[{i}].article.quirks",
                    f"unknown quirk {src.article.quirks!r}; known: {known}",
                )
            )
    return problems


def seed_checks() -> list[tuple[str, Path, Callable[..., Any] | None]]:
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


def _run_check(
    label: str, path: Path, loader: Callable[..., Any], topic_ids: set[str] | None
) -> Any:
    """Call one loader: subscribers are checked against the topic ids when the topics loaded."""
    if label == "subscribers" and topic_ids is not None:
        return loader(path, known_topics=topic_ids)
    return loader(path)


@sources_app.command("check")
def check() -> None:
    """Validate every seed file as the runtime will: sources (and, in production mode, their
    hosts), topics, and subscribers against the topics; exit 2 naming each problem."""
    from rich.markup import escape

    failed = False
    topic_ids: set[str] | None = None
    for label, path, loader in seed_checks():
        if loader is None:
            console.print(f"[yellow]skip[/] {label}: no loader in this build")
            continue
        if label != "sources" and not path.exists():
            console.print(f"[yellow]skip[/] {label}: {path} does not exist")
            continue
        try:
            loaded = _run_check(label, path, loader, topic_ids)
        except SeedError as exc:
            console.print(f"[red]error[/] {label}: {escape(str(exc))}")
            failed = True
            continue
        if label == "sources" and loaded:
            for problem in loaded:
                console.print(f"[red]error[/] {label}: {escape(str(problem))}")
            failed = True
            continue
        if label == "topics":
            # Every defined id counts, enabled or not: a subscription to a paused topic is kept.
            topic_ids = {t.id for t in loaded.topics}
        out.print(f"OK {label}: {path}")
    if failed:
        raise typer.Exit(2)
