"""Write a sources file that points the shipped sources at the replica.

Only the scheme, host and port of each URL change (the replica's paths mirror the real
sites'), ``allowed_domains`` become the replica's loopback addresses, and host names inside
URL regexes are swapped the same way. Sources without a replica, and discovery methods whose
URL the replica does not serve, are left out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from pipeline.config.settings import get_settings

if TYPE_CHECKING:
    from pipeline.devtools.replay.server import ReplayServer

URL_KEYS = ("url", "page_url", "archive_url")
REGEX_KEYS = ("url_pattern", "follow")


def _served(server: ReplayServer, url: str) -> bool:
    """True when the replica answers ``url`` with a normal 200 page."""
    parts = urlsplit(url)
    if not parts.hostname or not server.has_replica(parts.hostname):
        return False
    got = server.runtime(parts.hostname).respond(parts.path or "/", parts.query)
    return got.status == 200 and got.fault is None


def _rewrite_regex(server: ReplayServer, pattern: str) -> str:
    """Swap real host names inside a URL regex for the replica's ``ip:port``."""
    hosts = sorted(
        (h for name in server.sites for h in (name, *server.defs[name].manifest.hosts)),
        key=len,
        reverse=True,
    )
    out = pattern
    for host in hosts:
        target = re.escape(f"{server.ip_for(host)}:{server.port}").replace("\\", "\\\\")
        # Only whole host names: not preceded by a letter, digit, "-" or an escaped/raw dot
        # that belongs to a longer name (en.kremlin.ru is replaced before kremlin.ru).
        for form in (re.escape(host), host):
            out = re.sub(r"(?<![\w-])" + re.escape(form) + r"(?![\w-])", target, out)
    if out != pattern and "https?://" not in out:
        out = out.replace("https://", "https?://")  # the replica speaks plain http
    return out


def _domains(server: ReplayServer, domains: list[str]) -> list[str]:
    """Allowed domains -> the loopback addresses of every replica host on or under them."""
    out: list[str] = []
    for name in server.sites:
        hosts = (name, *server.defs[name].manifest.hosts)
        if any(h == d or h.endswith("." + d) for h in hosts for d in domains):
            ip = server.ip_for(name)
            if ip not in out:
                out.append(ip)
    return out


def replica_entry(
    server: ReplayServer, entry: dict[str, Any], *, require_served: bool = True
) -> dict[str, Any] | None:
    """One source (as dumped YAML data) pointed at the replica, or None without a replica.

    With ``require_served`` a discovery method is kept only when the replica answers its URL
    with a normal page; test sources keep their fault URLs on purpose.
    """
    methods = []
    for method in entry.get("discovery", []):
        host = urlsplit(method["url"]).hostname or ""
        if not server.has_replica(host) or (require_served and not _served(server, method["url"])):
            continue
        m = dict(method)
        for key in URL_KEYS:
            if m.get(key):
                m[key] = server.rewrite_url(m[key])
        for key in REGEX_KEYS:
            if m.get(key):
                m[key] = _rewrite_regex(server, m[key])
        methods.append(m)
    if not methods:
        return None
    out = dict(entry)
    out["discovery"] = methods
    home = entry.get("homepage", "")
    host = urlsplit(home).hostname or ""
    out["homepage"] = (
        server.rewrite_url(home)
        if server.has_replica(host)
        else server.url_for(urlsplit(methods[0]["url"]).hostname or "", "/")
    )
    out["allowed_domains"] = _domains(server, list(entry.get("allowed_domains", [])))
    article = dict(entry.get("article") or {})
    if article.get("url_pattern"):
        article["url_pattern"] = _rewrite_regex(server, article["url_pattern"])
        out["article"] = article
    return out


def replica_sources(
    server: ReplayServer, sources_in: Path | None = None, *, include_test_sources: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """(sources file data, names of sources left out because they have no replica)."""
    from pipeline.config.sources import load_sources, parse_sources

    # The shipped file, not NEWSMON_SOURCES_FILE (which may already point at a replica file).
    path = sources_in or get_settings().seeds_dir / "sources.yaml"
    shipped = load_sources(path)
    entries, dropped = [], []
    for src in shipped.sources:
        entry = replica_entry(server, src.model_dump(mode="json", exclude_unset=True))
        if entry is None:
            dropped.append(src.name)
        else:
            entries.append(entry)
    if include_test_sources:
        for name in server.sites:
            extra = server.defs[name].manifest.source
            entry = replica_entry(server, extra, require_served=False) if extra else None
            if entry is not None:
                entries.append(entry)
    data = {"sources": entries}
    parse_sources(data, file=f"<replica of {path}>")  # fail here, not in the crawler
    return data, dropped


def write_sources(
    server: ReplayServer,
    out: Path | None = None,
    sources_in: Path | None = None,
    *,
    include_test_sources: bool = False,
) -> Path:
    """Write the replica sources file (default ``var/replay/sources.yaml``); return its path."""
    from pipeline.config.sources import load_sources

    out = out or get_settings().var_dir / "replay" / "sources.yaml"
    data, dropped = replica_sources(server, sources_in, include_test_sources=include_test_sources)
    header = (
        "# GENERATED by the offline replica (pipeline/replay) - do not edit; it is rewritten on\n"
        "# every `newsmon replay serve`. The shipped sources, every URL pointed at the replica\n"
        f"# on {server.host_prefix}N:{server.port}; article dates are relative to "
        f"{server.today.isoformat()}.\n"
        f"# Left out (no replica): {', '.join(dropped) or 'none'}.\n"
        "# Use: NEWSMON_SOURCES_FILE=<this file> NEWSMON_MODE=demo (or test).\n"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    out.write_text(header + body, encoding="utf-8")
    load_sources(out)  # the file as written must load (errors name file:line)
    return out


__all__ = ["replica_entry", "replica_sources", "write_sources"]
