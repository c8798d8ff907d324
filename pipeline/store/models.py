"""Every SQLAlchemy 2 typed model of newsmon, so ``Base.metadata`` is the whole schema.

The Alembic migrations are the schema of record; ``tests/integration/test_migrations.py`` checks
that they and these classes agree. Behaviour lives with the stages (``store.crawlstate``,
``alerts.ledger``, ...); this module only describes the tables.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Aware current time in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and always returned timezone-aware (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC before storing; naive values are taken as UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what the database returns."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Full-text search lives only in the migrations (0001): SQLite's FTS5 virtual table with its
# shadow tables and triggers, PostgreSQL's expression GIN index. No class maps them (search.py
# queries them in SQL), so schema comparisons must not read them as tables to drop.
FTS_PREFIXES = ("documents_fts", "ix_documents_search")


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic autogenerate filter: everything except the migration-only full-text objects."""
    return not (reflected and compare_to is None and (name or "").startswith(FTS_PREFIXES))


# How the migrations are compared with these classes, by ``alembic revision --autogenerate``
# (migrations/env.py) and by the migrations test.
COMPARE_OPTIONS: dict[str, Any] = {
    "compare_type": True,
    "compare_server_default": True,
    "include_object": include_object,
}


class Base(DeclarativeBase):
    """Declarative base with JSON mapped for dict/list annotations."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: UTCDateTime,
    }


# Source types that originate statements (the rest republish them).
OFFICIAL_TYPES = frozenset({"ministry", "government"})


class Source(Base):
    """A monitored site, as declared in ``seeds/sources.yaml`` (upserted by name)."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(20))  # ministry | government | wire | media
    country: Mapped[str] = mapped_column(String(8))
    languages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def official(self) -> bool:
        """Ministries and governments originate statements."""
        return self.type in OFFICIAL_TYPES


class Page(Base):
    """The latest fetch of one URL: raw HTML kept zlib-compressed so extraction can re-run."""

    __tablename__ = "pages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url_hash: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"), index=True)
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(200))
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    raw_size: Mapped[int] = mapped_column(Integer, default=0)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    # NULL until the process stage has handled this fetch; the stage selects on it.
    processed_at: Mapped[datetime | None] = mapped_column(index=True)
    outcome: Mapped[str | None] = mapped_column(String(30))
    # What discovery knew when the page was recorded; the process stage reads them, so a page
    # is cleaned the same way whether it came by crawl, ingest or reprocessing.
    discovery_method: Mapped[str | None] = mapped_column(String(20))
    discovered_published: Mapped[datetime | None] = mapped_column()
    discovered_title: Mapped[str | None] = mapped_column(Text)
    discovered_language: Mapped[str | None] = mapped_column(String(10))
    # The body is a feed entry rendered as HTML, not the site's page (its hints do not apply).
    via_feed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The window of the run that recorded the page (a backfill's interval); NULL = no window.
    window_start: Mapped[datetime | None] = mapped_column()
    window_end: Mapped[datetime | None] = mapped_column()
    recorded_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL", name="fk_pages_recorded_run"), index=True
    )


class Cluster(Base):
    """A story: a document and every republished copy of it."""

    __tablename__ = "clusters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", use_alter=True, name="fk_clusters_origin"), index=True
    )
    size: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Document(Base):
    """One article per canonical URL."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url_hash: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(Text)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"), index=True)
    page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    language: Mapped[str | None] = mapped_column(String(12), index=True)
    extraction_method: Mapped[str] = mapped_column(String(40))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    # Normalised, transliterated title + text: what full-text search indexes.
    search_text: Mapped[str] = mapped_column(Text, default="")
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    similarity: Mapped[float | None] = mapped_column(Float)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime | None] = mapped_column()
    update_count: Mapped[int] = mapped_column(Integer, default=0)


class LshBand(Base):
    """One LSH band bucket of a document's MinHash; looked up by (band, bucket)."""

    __tablename__ = "lsh_bands"
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_lsh_bands_band_bucket", "band", "bucket"),)


class XlBand(Base):
    """One band bucket of a document's language-independent MinHash (names, numbers, dates).

    Looked up by (band, bucket) within a window of days, so cross-language linking stays
    one indexed range per band however long the archive grows.
    """

    __tablename__ = "xl_bands"
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger)
    # Days since 1970-01-01 of the document's arrival: the lookup window.
    day: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_xl_bands_band_bucket_day", "band", "bucket", "day"),)


class Topic(Base):
    """A tracked topic, upserted from ``seeds/topics.yaml``."""

    __tablename__ = "topics"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    definition_hash: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Match(Base):
    """A document matched a topic; unique per (document, topic)."""

    __tablename__ = "matches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    topic_id: Mapped[str] = mapped_column(ForeignKey("topics.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    terms: Mapped[list[Any]] = mapped_column(JSON, default=list)
    passages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    matched_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    __table_args__ = (UniqueConstraint("document_id", "topic_id", name="uq_matches_doc_topic"),)


class Judgement(Base):
    """An analyst's verdict on whether a story is about a topic (one per story and topic).

    Kept on the story's origin document, which is what an evaluation matches again; the
    cluster id is recorded as it was when judged (stories merge, documents stay).
    """

    __tablename__ = "judgements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    cluster_id: Mapped[int | None] = mapped_column(
        ForeignKey("clusters.id", ondelete="SET NULL"), index=True
    )
    topic_id: Mapped[str] = mapped_column(String(100), index=True)
    relevant: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)
    judged_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (UniqueConstraint("document_id", "topic_id", name="uq_judgements_doc_topic"),)


class Run(Base):
    """One invocation of a stage or command, with its counters in ``run_counts``."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    status: Mapped[str] = mapped_column(String(20), default="running")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    # Who runs it, so that a later run can tell a dead one from a live one (store/runs.py).
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime | None] = mapped_column()


class RunCount(Base):
    """How many items of one source ended with one outcome in one run."""

    __tablename__ = "run_counts"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    # 0 stands for "no source" so the key stays non-null on every backend.
    source_id: Mapped[int] = mapped_column(Integer, primary_key=True, default=0)
    outcome: Mapped[str] = mapped_column(String(30), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class CrawlState(Base):
    """Incremental-crawl state of one discovery URL of a source (or of the source, key "")."""

    __tablename__ = "crawl_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(1000))
    method: Mapped[str] = mapped_column(String(20))
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    high_water: Mapped[datetime | None] = mapped_column()
    last_success_at: Mapped[datetime | None] = mapped_column()
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (UniqueConstraint("source_id", "key", name="uq_crawl_state_source_key"),)


# The values of ``Alert.status`` and ``Alert.channel``.
# held: a delivery failed for a reason that may pass (server away, 4xx, misconfigured): retried.
# merged: the row's story was merged into a story the subscriber was already alerted of.
ALERT_STATUSES: tuple[str, ...] = (
    "pending",
    "held",
    "sent",
    "failed",
    "suppressed",
    "muted",
    "merged",
)
ALERT_CHANNELS: tuple[str, ...] = ("email", "webhook")


class Alert(Base):
    """One alert of one story to one subscriber through one channel, whatever topics it matches.

    A row names its story by the story's origin document when planned (cluster ids change when
    dedup merges stories); see ``pipeline.alerts.ledger``.
    """

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber: Mapped[str] = mapped_column(String(100))
    # The first subscribed topic the story matched when planned (the message lists them all).
    topic_id: Mapped[str] = mapped_column(String(100))
    # The story's origin document when planned: the story's identity.
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    # The story's cluster id, refreshed from the document whenever the row is claimed.
    cluster_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10), default="email")
    status: Mapped[str] = mapped_column(String(12), default="pending")
    # instant | digest: how this row goes out (decided once, at planning).
    delivery: Mapped[str] = mapped_column(String(10), default="instant")
    caught_up: Mapped[bool] = mapped_column(Boolean, default=False)
    run_mode: Mapped[str] = mapped_column(String(20), default="scheduled")
    planned_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # A sender owns a row while claimed_until is in the future (a crashed sender's lease expires);
    # on a held row without claim_token it is the earliest retry (the backoff).
    claim_token: Mapped[str | None] = mapped_column(String(40))
    claimed_until: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    # Assigned when first claimed and kept through retries: the same alert, the same Message-ID.
    message_id: Mapped[str | None] = mapped_column(String(200), index=True)
    __table_args__ = (
        UniqueConstraint("subscriber", "document_id", "channel", name="uq_alerts_sub_story"),
        Index("ix_alerts_status_channel", "status", "channel"),
        Index("ix_alerts_document", "document_id"),
    )


class AlertMute(Base):
    """A story an analyst silenced for everyone (``newsmon alerts mute CLUSTER``)."""

    __tablename__ = "alert_mutes"
    # The story's origin when muted; a story is muted when any of its documents is muted.
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    cluster_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    muted_at: Mapped[datetime] = mapped_column(default=utcnow)


class OperatorAlert(Base):
    """State of one operator condition (a silent or failing source): one email per episode."""

    __tablename__ = "operator_alerts"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    since: Mapped[datetime | None] = mapped_column()
    detail: Mapped[str] = mapped_column(Text, default="")
    notified_at: Mapped[datetime | None] = mapped_column()
    message_id: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
