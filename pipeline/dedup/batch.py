"""The ``newsmon dedup`` contract: JSON lines in, one cluster assignment per line out.

Each input line is ``{"id", "title", "text", "published"?, "source"?, "language"?}`` in
arrival order. Every line becomes a Document in a temporary SQLite database (URL
``urn:newsmon:dedup:<id>``) and goes through :func:`pipeline.dedup.assign`, the
same code the stored pipeline runs. The output line is ``{"id", "cluster",
"duplicate_of"}``: ``cluster`` is the input id of the cluster's first-arrived
document, ``duplicate_of`` the input id of the earlier document it copies, or null.

``source`` names an outlet; its type (which decides the origin of a story) is
taken from an optional ``source_type`` field, else guessed from the name:
ministry/MFA/МИД names are ``ministry``, government/Kremlin/president names
``government``, known wire agencies ``wire``, anything else ``media``.

``language`` (ISO 639-1, e.g. "hy") tells which versions are in other languages and
may be linked as translations and re-reports; without it the script decides (Armenian,
Cyrillic, Latin with ``ə``). Without ``published`` a document is linked on content alone.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.dedup.assign import assign
from pipeline.dedup.text import content_hash, tokens
from pipeline.errors import InputError
from pipeline.store import db
from pipeline.store.models import Document, Source
from pipeline.text.window import parse_moment

SOURCE_TYPES = ("ministry", "government", "wire", "media")
# Name words (normalised) that mark a source type; stems for inflected Russian words.
_MINISTRY_WORDS = frozenset({"mfa", "ministry", "mid", "мид", "mae", "xin", "minfin"})
_MINISTRY_STEMS = ("министерств", "ministr")
_GOVERNMENT_WORDS = frozenset({"government", "kremlin", "president", "gov", "primeminister"})
_GOVERNMENT_STEMS = ("правительств", "кремл", "президент", "hokumet", "hökumət", "կառավար")
_WIRE_WORDS = frozenset(
    {"tass", "тасс", "ria", "риа", "interfax", "интерфакс", "armenpress", "azertag", "apa"}
    | {"reuters", "afp", "ap", "trend", "report", "arka", "anadolu", "xinhua", "efe", "dpa"}
)
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?")
# How often the batch commits: bounds the transaction without a commit per line.
_COMMIT_EVERY = 200


@dataclass(frozen=True)
class BatchItem:
    """One validated input line."""

    line: int
    id: str | int
    title: str
    text: str
    published: datetime | None
    source: str | None
    source_type: str | None
    language: str | None = None


def guess_source_type(name: str) -> str:
    """ministry | government | wire | media, from the words of a source name."""
    words = tokens(name.replace(".", " ").replace("_", " "))
    if any(w in _MINISTRY_WORDS or w.startswith(_MINISTRY_STEMS) for w in words):
        return "ministry"
    if any(w in _GOVERNMENT_WORDS or w.startswith(_GOVERNMENT_STEMS) for w in words):
        return "government"
    if any(w in _WIRE_WORDS for w in words):
        return "wire"
    return "media"


def _parse_published(value: Any, where: str) -> datetime | None:
    """ISO 8601 date or date-time (naive taken as UTC)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError(f'{where}: "published" must be an ISO 8601 string, got {value!r}')
    try:
        return parse_moment(value, UTC)
    except InputError as exc:
        raise InputError(f'{where}: "published" {exc}') from None


def _optional_str(obj: dict[str, Any], key: str, where: str) -> str | None:
    """A string field that may be absent or null."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f'{where}: "{key}" must be a string, got {type(value).__name__}')
    return value


def _language(obj: dict[str, Any], where: str) -> str | None:
    """An optional language code such as "en", "hy" or "ru-RU"."""
    value = _optional_str(obj, "language", where)
    if value is None or not value.strip():
        return None
    if not _LANGUAGE.fullmatch(value.strip()):
        raise InputError(f'{where}: "language" must be a code such as "en" or "hy", got {value!r}')
    return value.strip().casefold()


def parse_lines(lines: Iterable[str], name: str = "stdin") -> list[BatchItem]:
    """Validate every input line first, so a bad line fails before any output."""
    items: list[BatchItem] = []
    seen: dict[str | int, int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{name} line {number}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise InputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        ident = obj.get("id")
        if isinstance(ident, bool) or not isinstance(ident, str | int) or ident == "":
            raise InputError(f'{where}: "id" must be a non-empty string or an integer')
        if ident in seen:
            raise InputError(f"{where}: id {ident!r} already used on line {seen[ident]}")
        seen[ident] = number
        text = obj.get("text")
        if not isinstance(text, str):
            raise InputError(f'{where}: "text" must be a string')
        source_type = _optional_str(obj, "source_type", where)
        if source_type is not None and source_type not in SOURCE_TYPES:
            raise InputError(f'{where}: "source_type" must be one of {", ".join(SOURCE_TYPES)}')
        items.append(
            BatchItem(
                line=number,
                id=ident,
                title=_optional_str(obj, "title", where) or "",
                text=text,
                published=_parse_published(obj.get("published"), where),
                source=_optional_str(obj, "source", where) or None,
                source_type=source_type,
                language=_language(obj, where),
            )
        )
    return items


def _source(session: Session, cache: dict[str, Source], item: BatchItem) -> Source | None:
    """The Source row for an item's outlet name, created on first use."""
    if item.source is None:
        return None
    if item.source not in cache:
        kind = item.source_type or guess_source_type(item.source)
        source = Source(name=item.source[:100], type=kind, country="", languages=[], config={})
        session.add(source)
        session.flush()
        cache[item.source] = source
    return cache[item.source]


def _document(item: BatchItem, source: Source | None, seen: datetime) -> Document:
    """A Document row for one input line."""
    url = f"urn:newsmon:dedup:{item.id}"
    return Document(
        url=url,
        url_hash=hashlib.sha256(url.encode("utf-8")).hexdigest(),
        canonical_url=url,
        source_id=source.id if source else None,
        title=item.title,
        text=item.text,
        published_at=item.published,
        language=item.language,
        extraction_method="input",
        content_hash=content_hash(item.title, item.text),
        search_text="",
        first_seen_at=seen,
        update_count=0,
    )


def run_batch(
    items: Iterable[BatchItem], *, database_url: str | None = None
) -> Iterator[dict[str, Any]]:
    """Assign each item in order; yield ``{"id", "cluster", "duplicate_of"}`` per item.

    Runs on a fresh temporary SQLite database unless ``database_url`` names one
    (which must be empty of these ``urn:newsmon:dedup:`` documents).
    """
    with tempfile.TemporaryDirectory(prefix="newsmon-dedup-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'dedup.db'}"
        engine = db.ensure_schema(url)
        try:
            with Session(engine, expire_on_commit=False) as session:
                yield from _assign_all(session, items)
                session.commit()
        finally:
            if database_url is None:
                engine.dispose()


def _assign_all(session: Session, items: Iterable[BatchItem]) -> Iterator[dict[str, Any]]:
    """The loop of :func:`run_batch` inside one session.

    Output waits for the last input: a later document that copies members of two
    clusters merges them, and every line reports the final cluster.
    """
    order: list[tuple[BatchItem, Document]] = []
    sources: dict[str, Source] = {}
    # Strictly increasing first-seen times keep arrival order even on coarse clocks.
    base = datetime.now(UTC)
    for n, item in enumerate(items):
        doc = _document(item, _source(session, sources, item), base + timedelta(microseconds=n))
        session.add(doc)
        session.flush()
        assign(session, doc)
        order.append((item, doc))
        if (n + 1) % _COMMIT_EVERY == 0:
            session.commit()
    session.flush()
    final = {
        doc_id: cid for doc_id, cid in session.execute(select(Document.id, Document.cluster_id))
    }
    input_id = {doc.id: item.id for item, doc in order}
    label: dict[int | None, str | int] = {}
    for item, doc in order:
        label.setdefault(final[doc.id], item.id)
    for item, doc in order:
        dup = doc.duplicate_of_id
        yield {
            "id": item.id,
            "cluster": label[final[doc.id]],
            "duplicate_of": input_id.get(dup) if dup is not None else None,
        }
