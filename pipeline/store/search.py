"""Full-text search over stored documents (SQLite FTS5 or PostgreSQL full-text).

Queries go through the same normalisation as the stored text and the topic matcher
(``pipeline.text.normalize``), so a query in one script or spelling finds the others:
"Zangezur" finds "Зангезурского" through the word key, and a long name spelled with other
vowels ("Нахичевань" for "Nakhchivan") through its skeleton, indexed next to the keys by
``search_text``. Documents stored before the skeletons were indexed are brought up to date by
:func:`reindex` (``newsmon db reindex``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from pipeline.errors import InputError
from pipeline.store.models import Document, Match, Source
from pipeline.text.normalize import search_key, search_text, skeleton_token

# Words shorter than this are too unselective for a prefix query.
MIN_PREFIX_LEN = 3
TOKEN = re.compile(r"\w+", re.UNICODE)
SPACE = re.compile(r"\s+")
# Bounds of a query: every word is one more AND in the full-text expression, and PostgreSQL
# parses a long tsquery recursively (20,000 words exceed its stack depth limit).
MAX_QUERY_CHARS = 1_000
MAX_QUERY_TERMS = 64


@dataclass(frozen=True)
class Hit:
    """One search result."""

    document_id: int
    title: str
    url: str
    source: str | None
    language: str | None
    published_at: datetime | None
    snippet: str


def query_tokens(query: str) -> list[str]:
    """Normalised tokens of a user query; InputError when it is empty or beyond the bounds."""
    if len(query) > MAX_QUERY_CHARS:
        raise InputError(
            f"search query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,}"
        )
    tokens = TOKEN.findall(search_key(query))
    if not tokens:
        raise InputError(f"search query {query!r} has no searchable words")
    if len(tokens) > MAX_QUERY_TERMS:
        raise InputError(
            f"search query has {len(tokens):,} words; the limit is {MAX_QUERY_TERMS} "
            "(every word must appear in a result: a few distinctive ones find more)"
        )
    return tokens


def alternatives(token: str) -> list[str]:
    """What one query word may match: its key, and for a long name its skeleton as a stem."""
    found = [token]
    skel = skeleton_token(token, stem=True)
    if skel is not None:
        found.append(skel)
    return found


def _sqlite_expr(tokens: list[str]) -> str:
    """An FTS5 expression: every word (any of its alternatives) as a prefix."""
    parts = []
    for t in tokens:
        alts = [f'"{a}"*' if len(a) >= MIN_PREFIX_LEN else f'"{a}"' for a in alternatives(t)]
        parts.append(alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")")
    return " AND ".join(parts)


def _pg_expr(tokens: list[str]) -> str:
    """A ``to_tsquery`` expression: every word (any of its alternatives) as a prefix."""
    parts = []
    for t in tokens:
        alts = [f"{a}:*" if len(a) >= MIN_PREFIX_LEN else a for a in alternatives(t)]
        parts.append(alts[0] if len(alts) == 1 else "(" + " | ".join(alts) + ")")
    return " & ".join(parts)


def _fts_ids(session: Session, tokens: list[str], limit: int) -> list[int] | None:
    """Document ids matching all tokens (prefix match), via the backend's index."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        rows = session.execute(
            # Newest rowids first: the candidates a capped fetch keeps are the recent ones.
            text(
                "SELECT rowid FROM documents_fts WHERE documents_fts MATCH :q "
                "ORDER BY rowid DESC LIMIT :n"
            ),
            {"q": _sqlite_expr(tokens), "n": limit},
        )
        return [int(r[0]) for r in rows]
    if dialect == "postgresql":
        expr = _pg_expr(tokens)
        rows = session.execute(
            text(
                "SELECT id FROM documents WHERE to_tsvector('simple', search_text) "
                "@@ to_tsquery('simple', :q) ORDER BY id DESC LIMIT :n"
            ),
            {"q": expr, "n": limit},
        )
        return [int(r[0]) for r in rows]
    return None


def word_hits(word: str, tokens: list[str]) -> bool:
    """True when a word of a document is what a query token finds (its key or its skeleton)."""
    key = search_key(word)
    if any(key.startswith(t) for t in tokens):
        return True
    skel = skeleton_token(key) if key else None
    return skel is not None and any(skel.startswith(a) for t in tokens for a in alternatives(t)[1:])


def word_window(text: str, start: int, end: int) -> str:
    """``text[start:end]`` moved in to whole words, on one line, "…" where the text goes on."""
    # A window edge inside a word moves to the word boundary inside the window; a window
    # that is one long word (a URL) is cut where it is.
    if start > 0 and not text[start - 1].isspace():
        gap = SPACE.search(text, start, end)
        start = gap.end() if gap else start
    if end < len(text) and not text[end].isspace():
        last = max(text.rfind(ch, start, end) for ch in " \n\t\u00a0")
        end = last if last > start else end
    body = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def snippet(doc: Document, tokens: list[str], width: int = 160) -> str:
    """A window of whole words of the text around the first word a query token finds."""
    text = doc.text
    for m in TOKEN.finditer(text):
        if word_hits(m.group(0), tokens):
            start = max(0, m.start() - width // 2)
            # the hit word itself is never cut off
            return word_window(text, min(start, m.start()), max(start + width, m.end()))
    return word_window(text, 0, width)


def search(
    session: Session,
    query: str,
    *,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    language: str | None = None,
    topic: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[Hit]:
    """Documents matching every word of ``query``, newest first (at most ``limit``, >= 1).

    ``since``/``until``: published in ``[since, until)``; ``topic``: documents matched to that
    topic; ``offset``: results to skip (paging).
    """
    if limit < 1:
        raise InputError(f"search limit must be at least 1, got {limit}")
    if offset < 0:
        raise InputError(f"search offset must be 0 or more, got {offset}")
    tokens = query_tokens(query)
    # Over-fetch from the index, then filter and order in SQL on the small candidate set.
    ids = _fts_ids(session, tokens, limit=max((offset + limit) * 50, 1000))
    q = select(Document, Source.name).outerjoin(Source, Document.source_id == Source.id)
    if ids is not None:
        if not ids:
            return []
        q = q.where(Document.id.in_(ids))
    else:
        for t in tokens:
            q = q.where(Document.search_text.contains(t))
    if source:
        q = q.where(Source.name == source)
    if since:
        q = q.where(Document.published_at >= since)
    if until:
        q = q.where(Document.published_at < until)
    if language:
        q = q.where(Document.language == language)
    if topic:
        q = q.where(Document.id.in_(select(Match.document_id).where(Match.topic_id == topic)))
    q = q.order_by(Document.published_at.desc().nulls_last(), Document.id.desc())
    q = q.offset(offset).limit(limit)
    return [
        Hit(d.id, d.title, d.url, name, d.language, d.published_at, snippet(d, tokens))
        for d, name in session.execute(q)
    ]


def reindex_batch(session: Session, *, after: int = 0, batch: int = 500) -> tuple[int, int, int]:
    """Recompute ``search_text`` of the next ``batch`` documents with id > ``after``.

    Returns (last id seen, documents read, documents changed); last id 0 when none was left.
    Only changed rows are written, so a second pass writes nothing.
    """
    rows = session.execute(
        select(Document.id, Document.title, Document.text, Document.search_text)
        .where(Document.id > after)
        .order_by(Document.id)
        .limit(batch)
    ).all()
    changed = 0
    for doc_id, title, body, stored in rows:
        fresh = search_text(f"{title}\n{body}")
        if fresh != stored:
            session.execute(update(Document).where(Document.id == doc_id).values(search_text=fresh))
            changed += 1
    return (int(rows[-1][0]) if rows else 0), len(rows), changed


def document_count(session: Session) -> int:
    """How many documents are stored (the reindex progress total)."""
    return int(session.scalar(select(func.count(Document.id))) or 0)
