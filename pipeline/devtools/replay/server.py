"""The replica HTTP server: one threaded listener per site on its own loopback address.

Every response carries ETag and Last-Modified and honours If-None-Match /
If-Modified-Since with 304, so crawlers' conditional GETs can be tested. Every request
is recorded (``ReplayServer.requests``) so tests can assert what was, and was not,
fetched.
"""

from __future__ import annotations

import errno
import json
import threading
from dataclasses import asdict
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from pipeline.config.settings import PROJECT_ROOT
from pipeline.devtools.replay.handler import RequestRecord, SiteServer
from pipeline.devtools.replay.render import SiteRuntime, anchor_epoch, anchor_moment
from pipeline.devtools.replay.site import Article, ArticleSpec, FaultKind, SiteDef, load_sites
from pipeline.errors import ConfigError

SITES_DIR = PROJECT_ROOT / "tests" / "fixtures" / "sites"
DEFAULT_PORT = 8800  # CLI default; tests pass port=0 (a free port shared by all sites)
OFFSITE_SITE = "offsite.test"  # target of the offsite_redirect fault
# Larger than the default NEWSMON_DOWNLOAD_MAXSIZE (10 MiB) so the page is refused.
OVERSIZED_BYTES = 11 * 1024 * 1024


class ReplayServer:
    """The offline replica: every site under ``base_dir`` on ``host_prefix + loopback``."""

    def __init__(
        self,
        base_dir: Path | None = None,
        host_prefix: str = "127.0.0.",
        port: int = 0,
        *,
        now: datetime | None = None,
        today: date | None = None,
        sites: list[str] | None = None,
        log_file: Path | None = None,
        slow_seconds: float = 30.0,
        oversized_bytes: int = OVERSIZED_BYTES,
    ) -> None:
        self.base_dir = base_dir or SITES_DIR
        self.host_prefix, self.requested_port = host_prefix, port
        # The anchor moment: article ages count back from it (the start, by default; a --today
        # day means its midday). ``today`` is its UTC date, for tests that reason in days.
        self.now = anchor_moment(now or today or datetime.now(UTC))
        self.today = self.now.date()
        self.log_file, self.slow_seconds, self.oversized_bytes = (
            log_file,
            slow_seconds,
            oversized_bytes,
        )
        defs = load_sites(self.base_dir)
        if sites is not None:
            unknown = set(sites) - {d.name for d in defs}
            if unknown:
                raise ConfigError(f"unknown replica site(s) {sorted(unknown)}; see {self.base_dir}")
            defs = [d for d in defs if d.name in sites]
        self.defs: dict[str, SiteDef] = {d.name: d for d in defs}
        self.port = 0
        self.runtimes: dict[str, SiteRuntime] = {}
        self._servers: list[SiteServer] = []
        self._threads: list[threading.Thread] = []
        self._requests: list[RequestRecord] = []
        self.errors: list[str] = []  # template errors while serving (a fixture bug)
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._hosts = {h.lower(): d.name for d in defs for h in (d.name, *d.manifest.hosts)}

    # ----- lifecycle -----

    def ip_for(self, site: str) -> str:
        """Loopback address of a site."""
        return f"{self.host_prefix}{self.defs[self.site_name(site)].manifest.loopback}"

    def start(self) -> ReplayServer:
        """Bind every site (one shared port) and serve in background threads."""
        for attempt in range(20):
            try:
                self._bind_all(self.requested_port)
                break
            except OSError as exc:
                self._close_all()
                if exc.errno != errno.EADDRINUSE or self.requested_port or attempt == 19:
                    raise ConfigError(
                        f"replica cannot listen on {self.host_prefix}*:{self.requested_port}: "
                        f"{exc}; choose another --port (or 0 for a free one)"
                    ) from None
        for srv in self._servers:
            t = threading.Thread(
                target=srv.serve_forever,
                kwargs={"poll_interval": 0.2},
                name=f"replica-{srv.runtime.site.name}",
                daemon=True,
            )
            t.start()
            self._threads.append(t)
        return self

    def _bind_all(self, port: int) -> None:
        """Bind all sites on ``port`` (0: the first bind picks it, the others share it)."""
        epoch = anchor_epoch(self.now)
        for d in self.defs.values():
            ip = f"{self.host_prefix}{d.manifest.loopback}"
            runtime = SiteRuntime(d, self.now, "", self.url_for, epoch)
            srv = SiteServer((ip, port), self, runtime)
            port = srv.server_address[1]
            runtime.base = f"http://{ip}:{port}"
            self._servers.append(srv)
            self.runtimes[d.name] = runtime
        self.port = port

    def _close_all(self) -> None:
        """Close bound sockets after a failed start."""
        for srv in self._servers:
            srv.server_close()
        self._servers.clear()
        self.runtimes.clear()

    def stop(self) -> None:
        """Stop every listener (in parallel, so stopping takes one poll interval)."""
        self._stopping.set()
        stoppers = [threading.Thread(target=s.shutdown) for s in self._servers]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join()
        for srv in self._servers:
            srv.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> ReplayServer:
        return self if self._servers else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- addresses -----

    @property
    def sites(self) -> list[str]:
        """Site names (the real hosts they replace), in loopback order."""
        return sorted(self.defs, key=lambda n: self.defs[n].manifest.loopback)

    def site_name(self, site_or_host: str) -> str:
        """Site name for a site name or any real host it answers for (``www.mid.ru``)."""
        name = self._hosts.get(site_or_host.lower())
        if name is None:
            raise KeyError(
                f"no replica for {site_or_host!r}; replica sites: {', '.join(self.sites)}"
            )
        return name

    def has_replica(self, host: str) -> bool:
        """True when ``host`` (a real host name) is served by the replica."""
        return host.lower() in self._hosts

    def url_for(self, site: str, path: str = "") -> str:
        """``http://127.0.0.N:PORT`` + path for a site (or real host)."""
        return f"http://{self.ip_for(site)}:{self.port}{path}"

    def rewrite_url(self, url: str) -> str:
        """A real-site URL -> the same path on the replica (unknown hosts unchanged)."""
        parts = urlsplit(url)
        if not parts.hostname or not self.has_replica(parts.hostname):
            return url
        netloc = f"{self.ip_for(parts.hostname)}:{self.port}"
        return urlunsplit(("http", netloc, parts.path, parts.query, parts.fragment))

    def offsite_url(self, path: str) -> str:
        """Where the offsite_redirect fault points: another replica host, or nowhere."""
        query = "?" + urlencode({"from": path})
        if OFFSITE_SITE in self.defs:
            return self.url_for(OFFSITE_SITE, "/landing" + query)
        return "http://offsite.invalid/landing" + query

    # ----- content and faults (tests) -----

    def runtime(self, site: str) -> SiteRuntime:
        """The live state of a site."""
        if not self.runtimes:
            raise ConfigError("the replica is not started; use start_replay() or .start()")
        return self.runtimes[self.site_name(site)]

    def articles(
        self, site: str, *, lang: str | None = None, drafts: bool = False
    ) -> list[Article]:
        """A site's articles, newest first (drafts only when asked)."""
        rt = self.runtime(site)
        arts = sorted(rt.articles.values(), key=lambda a: (a.published, a.id), reverse=True)
        return [a for a in arts if (drafts or a.visible) and (lang is None or a.lang == lang)]

    def article_url(self, site: str, article_id: str) -> str:
        """Replica URL of an article."""
        rt = self.runtime(site)
        return rt.url(rt.articles[article_id].path)

    def add_article(self, site: str, **fields: Any) -> Article:
        """Add an article (``ArticleSpec`` fields; without a date it is dated now)."""
        rt = self.runtime(site)
        now = datetime.now(rt.site.tz)
        if "age" not in fields:
            fields.setdefault("days_ago", 0)
            fields.setdefault("time", now.strftime("%H:%M"))
        return rt.add(ArticleSpec.model_validate(fields), datetime.now(UTC))

    def publish(self, site: str, article_id: str) -> Article:
        """Make a draft article (``draft: true`` in its file) appear in feeds and listings."""
        return self.runtime(site).publish(article_id, datetime.now(UTC))

    def set_fault(self, site: str, path: str, kind: FaultKind | None) -> None:
        """Serve ``path`` on ``site`` as a fault from now on (None restores it)."""
        self.runtime(site).set_fault(path, kind)

    # ----- request log -----

    def _record(self, site: str, h: BaseHTTPRequestHandler, status: int) -> None:
        """Append to the in-memory log (and the log file, when set)."""
        rec = RequestRecord(
            site,
            h.command,
            h.path,
            status,
            h.headers.get("If-None-Match"),
            h.headers.get("If-Modified-Since"),
            h.headers.get("User-Agent"),
            datetime.now(UTC),
        )
        with self._log_lock:
            self._requests.append(rec)
            if self.log_file is not None:
                self.log_file.parent.mkdir(parents=True, exist_ok=True)
                with self.log_file.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps({**asdict(rec), "at": rec.at.isoformat()}) + "\n")

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request so far, oldest first (a copy)."""
        with self._log_lock:
            return list(self._requests)

    def requests_for(self, site: str) -> list[RequestRecord]:
        """Requests to one site."""
        name = self.site_name(site)
        return [r for r in self.requests if r.site == name]

    def clear_requests(self) -> None:
        """Forget the log (e.g. between a first and a second crawl)."""
        with self._log_lock:
            self._requests.clear()

    # ----- sources file -----

    def write_sources(
        self,
        out: Path | None = None,
        sources_in: Path | None = None,
        *,
        include_test_sources: bool = False,
    ) -> Path:
        """Write a sources file pointing the shipped sources at this replica (see sourcesfile)."""
        from pipeline.devtools.replay.sourcesfile import write_sources

        return write_sources(self, out, sources_in, include_test_sources=include_test_sources)


def start_replay(
    base_dir: Path | None = None, host_prefix: str = "127.0.0.", port: int = 0, **options: Any
) -> ReplayServer:
    """Start the replica; use as ``with start_replay() as replay:`` or call ``.stop()``."""
    return ReplayServer(base_dir, host_prefix, port, **options).start()
