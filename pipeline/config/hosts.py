"""Which source hosts production mode refuses: loopback, private, link-local and metadata ones.

The offline replica serves its sites on loopback addresses, so test and demo mode crawl them; in
production a source written as such an address (or ``localhost``) is a mistake or an attempt to
reach internal services. Only what the sources file literally says is judged: no DNS lookups,
so ``newsmon sources check`` and the crawl give the same answer offline.
"""

from __future__ import annotations

import ipaddress
import socket
from datetime import date
from urllib.parse import urlsplit

from pipeline.config.seedfile import Loc
from pipeline.config.settings import get_settings
from pipeline.config.sources import FeedMethod, ListingMethod, SourceConfig, SourcesFile
from pipeline.errors import ConfigError

# Names that always mean this machine or the cloud's instance-metadata service.
LOCAL_NAMES = frozenset({"localhost", "metadata.google.internal"})
# The metadata service of the big clouds (AWS, GCP, Azure, OpenStack...); named in messages.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` spells, in any form the resolver accepts ("127.1", "0x7f.1"...)."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        try:
            # inet_aton reads the legacy forms getaddrinfo also accepts; it never queries DNS.
            ip = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def non_public_host(host: str) -> str | None:
    """Why ``host`` is not a public internet host ("loopback", "private"...), or None."""
    host = host.lower().rstrip(".")
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return "this machine" if "localhost" in host else "the cloud metadata service"
    ip = _literal_ip(host)
    if ip is None:
        return None
    if ip in METADATA_ADDRESSES:
        return "the cloud metadata service"
    for why, flag in (
        ("a loopback address", ip.is_loopback),
        ("a link-local address", ip.is_link_local),
        ("the unspecified address (this machine)", ip.is_unspecified),
        ("a multicast address", ip.is_multicast),
        ("a private address", ip.is_private),
    ):
        if flag:
            return why
    return None if ip.is_global else "not a public address"


def source_hosts(index: int, src: SourceConfig) -> list[tuple[Loc, str]]:
    """(location in the file, host) of every host a source names: domains and URLs."""
    base: Loc = ("sources", index)
    hosts: list[tuple[Loc, str]] = [
        ((*base, "allowed_domains", j), d) for j, d in enumerate(src.allowed_domains)
    ]
    urls: list[tuple[Loc, str]] = [((*base, "homepage"), src.homepage)]
    for j, m in enumerate(src.discovery):
        at: Loc = (*base, "discovery", j)
        urls.append(((*at, "url"), m.url))
        if isinstance(m, FeedMethod | ListingMethod) and m.page_url:
            urls.append(((*at, "page_url"), m.page_url.format(page=2)))
        if isinstance(m, ListingMethod) and m.archive_url:
            urls.append(((*at, "archive_url"), m.archive_url.format(date=date(2026, 1, 31))))
    hosts += [(loc, urlsplit(url).hostname or "") for loc, url in urls]
    return hosts


def production_host_problems(
    sf: SourcesFile, names: set[str] | None = None
) -> list[tuple[Loc, str]]:
    """(location, message) for each host production mode refuses; [] outside production mode.

    ``names`` limits the check to those sources (a crawl of some of them).
    """
    if get_settings().mode != "production":
        return []
    problems: list[tuple[Loc, str]] = []
    for i, src in enumerate(sf.sources):
        if names is not None and src.name not in names:
            continue
        seen: set[str] = set()  # a host is named once per source, where it first appears
        for loc, host in source_hosts(i, src):
            why = non_public_host(host)
            if why is not None and host not in seen:
                seen.add(host)
                problems.append(
                    (
                        loc,
                        f"source {src.name!r}: host {host!r} is {why}; NEWSMON_MODE=production "
                        "never crawls loopback/private hosts (NEWSMON_MODE=test or demo allow "
                        "the offline replica)",
                    )
                )
    return problems


def check_production_hosts(sf: SourcesFile, selected: list[SourceConfig]) -> None:
    """ConfigError naming every refused host of the ``selected`` sources (production mode)."""
    problems = production_host_problems(sf, {s.name for s in selected})
    if problems:
        raise ConfigError("; ".join(msg for _, msg in problems))
