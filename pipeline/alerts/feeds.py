"""Per-topic Atom feeds (RFC 4287), regenerated each run: ``<var>/feeds/<topic>.xml``.

Each feed holds the newest :data:`FEED_SIZE` stories of one topic with their matched passages.
Output is deterministic (times come from the data, not the clock), so an unchanged topic rewrites
nothing and feed readers see no spurious updates.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.alerts.render import language_name, safe_url
from pipeline.alerts.stories import StoryView, load_story, topic_names
from pipeline.config.settings import get_settings
from pipeline.store.models import AlertMute, Cluster, Document, Match, Topic

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_SIZE = 100
# tag: URIs (RFC 4151) need an authority and a date; the date only has to be stable.
TAG_AUTHORITY = "tag:newsmon,2025:"
_A = f"{{{ATOM_NS}}}"


def rfc3339(moment: datetime) -> str:
    """``2026-11-27T08:00:00Z``."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def feeds_dir() -> Path:
    """Where the feeds are written."""
    return get_settings().var_dir / "feeds"


def _entry_html(view: StoryView) -> str:
    """The entry content: meta line, outlets, passages (escaped, hits marked)."""
    parts = [
        Markup("<p>%s · %s · %s</p>")
        % (view.origin, rfc3339(view.date), language_name(view.language))
    ]
    if len(view.outlets) > 1:
        links = Markup(", ").join(
            Markup('<a href="%s">%s</a>') % (safe_url(o.url), o.name) for o in view.outlets
        )
        parts.append(Markup("<p>Outlets: %s</p>") % links)
    if view.terms:
        parts.append(Markup("<p>Matched: %s</p>") % ", ".join(view.terms))
    for p in view.passages:
        parts.append(Markup("<blockquote>%s</blockquote>") % p.html)
    return str(Markup("\n").join(parts))


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    """Append an Atom element."""
    el = etree.SubElement(parent, _A + tag, attrib=attrs or None)
    if text is not None:
        el.text = text
    return el


def story_ids(session: Session, topic_id: str, limit: int = FEED_SIZE) -> list[int]:
    """The newest stories matching a topic (muted ones left out)."""
    q = (
        select(Cluster.id)
        .where(
            Cluster.id.in_(
                select(Document.cluster_id)
                .join(Match, Match.document_id == Document.id)
                .where(Match.topic_id == topic_id)
            ),
            Cluster.id.not_in(
                select(Document.cluster_id)
                .join(AlertMute, AlertMute.document_id == Document.id)
                .where(Document.cluster_id.is_not(None))
            ),
        )
        .order_by(Cluster.first_seen_at.desc(), Cluster.id.desc())
        .limit(limit)
    )
    return list(session.scalars(q).all())


def build_feed(session: Session, topic: Topic, names: dict[str, str]) -> bytes:
    """One topic's Atom document."""
    views: list[StoryView] = []
    firsts: dict[int, datetime] = {}
    for cid in story_ids(session, topic.id):
        view = load_story(session, cid, topic.id, names=names)
        cluster = session.get(Cluster, cid)
        if view is not None and cluster is not None:
            views.append(view)
            firsts[cid] = cluster.first_seen_at
    feed = etree.Element(_A + "feed", nsmap={None: ATOM_NS})
    _sub(feed, "id", f"{TAG_AUTHORITY}topic/{topic.id}")
    _sub(feed, "title", f"newsmon: {topic.name or topic.id}")
    if topic.description:
        _sub(feed, "subtitle", " ".join(topic.description.split()))
    updated = max([v.updated for v in views], default=topic.updated_at)
    _sub(feed, "updated", rfc3339(updated))
    author = _sub(feed, "author")
    _sub(author, "name", "newsmon")
    _sub(feed, "generator", "newsmon", uri="https://github.com/newsmon/newsmon")
    for view in views:
        entry = _sub(feed, "entry")
        stamp = firsts[view.cluster_id].astimezone(UTC).strftime("%Y%m%dT%H%M%S")
        _sub(entry, "id", f"{TAG_AUTHORITY}story/{view.cluster_id}-{stamp}")
        _sub(entry, "title", " ".join(view.title.split()) or "(untitled)")
        _sub(entry, "updated", rfc3339(view.updated))
        _sub(entry, "published", rfc3339(view.date))
        entry_author = _sub(entry, "author")
        _sub(entry_author, "name", view.origin)
        _sub(entry, "link", rel="alternate", href=safe_url(view.url))
        for outlet in view.outlets[1:]:
            _sub(entry, "link", rel="related", href=safe_url(outlet.url), title=outlet.name)
        _sub(entry, "category", term=topic.id, label=view.topic_name)
        _sub(entry, "content", _entry_html(view), type="html")
    return bytes(etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True))


def _safe_name(topic_id: str) -> str:
    """A file name from a topic id (ids are slugs; this only guards against surprises)."""
    return re.sub(r"[^a-z0-9_-]", "_", topic_id.lower()) or "_"


def write_feeds(session: Session, *, out_dir: Path | None = None) -> list[Path]:
    """Regenerate every topic's feed; files are replaced atomically and only when changed."""
    out = out_dir or feeds_dir()
    out.mkdir(parents=True, exist_ok=True)
    names = topic_names(session)
    written: list[Path] = []
    for topic in session.scalars(select(Topic).order_by(Topic.id)):
        data = build_feed(session, topic, names)
        path = out / f"{_safe_name(topic.id)}.xml"
        written.append(path)
        if path.exists() and path.read_bytes() == data:
            continue
        tmp = path.with_suffix(".xml.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return written
