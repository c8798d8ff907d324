"""Helpers for the reliability suite: child processes, synthetic pages, database invariants."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine

from pipeline.cli import _register, main
from pipeline.config.settings import PROJECT_ROOT
from pipeline.devtools.synthetic import SyntheticDoc, documents, to_html
from pipeline.store.db import normalise_url
from pipeline.store.models import Cluster, Document, LshBand, Match, Page

# The console script, without relying on .venv/bin being on PATH.
NEWSMON = [sys.executable, "-c", "from pipeline.cli import main; main()"]
_register()


def child_env(**extra: str) -> dict[str, str]:
    """The test's environment (its NEWSMON_* settings included) for a child process."""
    env = dict(os.environ)
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_cli(
    *args: str, timeout: float = 180, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``newsmon ARGS`` in a child process, waited for."""
    return subprocess.run(
        [*NEWSMON, *args],
        cwd=PROJECT_ROOT,
        env=env or child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start a child in its own process group (so a kill takes its children too)."""
    return subprocess.Popen(
        cmd,
        cwd=PROJECT_ROOT,
        env=env or child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def kill_group(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGKILL the child's whole process group, as when a worker machine dies."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    return out, err


def wait_until(
    cond: Callable[[], bool], *, timeout: float, proc: subprocess.Popen[str] | None = None
) -> None:
    """Poll ``cond`` until true; fail if the child exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"child exited ({proc.returncode}) before the kill point:\n{out}\n{err}")
        time.sleep(0.05)
    pytest.fail("kill point not reached in time")


def invoke(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``newsmon ARGS`` in this process through ``main()`` (its exit code and streams)."""
    capsys.readouterr()
    old = sys.argv
    sys.argv = ["newsmon", *args]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    got = capsys.readouterr()
    return code, got.out, got.err


def write_pages(folder: Path, n: int, seed: int = 3, **options: Any) -> list[SyntheticDoc]:
    """``n`` synthetic news pages (a quarter of them republished copies) as .html files."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = list(documents(n, seed=seed, **options))
    for d in docs:
        (folder / f"{d.id:05d}.html").write_text(to_html(d), encoding="utf-8")
    return docs


def engine(url: str) -> Engine:
    """A separate engine for observing a database a child process writes to."""
    return create_engine(normalise_url(url))


def count(url: str, model: Any) -> int:
    """Rows of one table, read through a short-lived connection."""
    eng = engine(url)
    try:
        with eng.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        eng.dispose()


def table_counts(url: str) -> dict[str, int]:
    """Row counts of every table (the "nothing was written" check)."""
    eng = engine(url)
    try:
        with eng.connect() as conn:
            from sqlalchemy import inspect

            names = [
                n for n in inspect(conn).get_table_names() if not n.startswith("documents_fts")
            ]
            return {
                n: int(conn.scalar(text(f'SELECT count(*) FROM "{n}"')) or 0) for n in sorted(names)
            }
    finally:
        eng.dispose()


def stored_result(url: str) -> dict[str, Any]:
    """What a run stored, independent of row ids: documents, stories, origins, matches."""
    eng = engine(url)
    try:
        with eng.connect() as conn:
            docs = {i: u for i, u in conn.execute(select(Document.id, Document.url))}
            members: dict[int, set[str]] = {}
            for doc_id, cluster_id in conn.execute(select(Document.id, Document.cluster_id)):
                members.setdefault(cluster_id, set()).add(docs[doc_id])
            origins = {
                docs[o] for (o,) in conn.execute(select(Cluster.origin_document_id)) if o in docs
            }
            matches = {
                (docs[d], t) for d, t in conn.execute(select(Match.document_id, Match.topic_id))
            }
    finally:
        eng.dispose()
    return {
        "documents": sorted(docs.values()),
        "stories": sorted(tuple(sorted(m)) for m in members.values()),
        "origins": sorted(origins),
        "matches": sorted(matches),
    }


def consistency_problems(url: str, *, pages_done: bool = True) -> list[str]:
    """Invariants a crash must never break; an empty list when the database is consistent."""
    problems: list[str] = []
    eng = engine(url)
    try:
        with eng.connect() as conn:
            sizes = dict(conn.execute(select(Cluster.id, Cluster.size)).all())
            origin = dict(conn.execute(select(Cluster.id, Cluster.origin_document_id)).all())
            members: dict[int, list[int]] = {}
            for doc_id, cluster_id in conn.execute(select(Document.id, Document.cluster_id)):
                if cluster_id is None:
                    problems.append(f"document {doc_id} has no story")
                    continue
                members.setdefault(cluster_id, []).append(doc_id)
            for cid, size in sizes.items():
                got = members.get(cid, [])
                if not got:
                    problems.append(f"cluster {cid} has no documents")
                elif size != len(got):
                    problems.append(f"cluster {cid} size {size} but {len(got)} documents")
                if origin[cid] not in got:
                    problems.append(f"cluster {cid} origin {origin[cid]} is not a member")
            for cid in members:
                if cid not in sizes:
                    problems.append(f"documents point at missing cluster {cid}")
            bands = dict(
                conn.execute(
                    select(LshBand.document_id, func.count()).group_by(LshBand.document_id)
                ).all()
            )
            hashed = [
                d for (d,) in conn.execute(select(Document.id).where(Document.minhash.is_not(None)))
            ]
            short = [d for d in hashed if bands.get(d, 0) != 48]
            if short:
                problems.append(f"documents without their 48 LSH bands: {short[:5]}")
            dup_urls = conn.execute(
                select(Document.canonical_url, func.count())
                .group_by(Document.canonical_url)
                .having(func.count() > 1)
            ).all()
            if dup_urls:
                problems.append(f"URLs stored twice: {dup_urls[:3]}")
            if pages_done:
                left = conn.scalar(
                    select(func.count()).select_from(Page).where(Page.processed_at.is_(None))
                )
                if left:
                    problems.append(f"{left} fetched pages never processed")
    finally:
        eng.dispose()
    return problems
