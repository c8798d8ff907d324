"""Initial schema: sources, pages, documents, clusters, LSH bands, topics, matches, runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables, indexes and the full-text index."""
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("country", sa.String(8), nullable=False),
        sa.Column("languages", sa.JSON, nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("final_url", sa.Text),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id"), index=True),
        sa.Column("status", sa.Integer),
        sa.Column("content_type", sa.String(200)),
        sa.Column("etag", sa.String(500)),
        sa.Column("last_modified", sa.String(100)),
        sa.Column("raw", sa.LargeBinary),
        sa.Column("raw_size", sa.Integer, nullable=False),
        sa.Column("fetched_at", TS, nullable=False),
        sa.Column("processed_at", TS, index=True),
        sa.Column("outcome", sa.String(30)),
    )
    op.create_table(
        "clusters",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("origin_document_id", sa.Integer, index=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("canonical_url", sa.Text, nullable=False),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id"), index=True),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id"), index=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("author", sa.Text),
        sa.Column("published_at", TS, index=True),
        sa.Column("language", sa.String(12), index=True),
        sa.Column("extraction_method", sa.String(40), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False, index=True),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("minhash", sa.LargeBinary),
        sa.Column("cluster_id", sa.Integer, sa.ForeignKey("clusters.id"), index=True),
        sa.Column("duplicate_of_id", sa.Integer, sa.ForeignKey("documents.id")),
        sa.Column("similarity", sa.Float),
        sa.Column("first_seen_at", TS, nullable=False, index=True),
        sa.Column("updated_at", TS),
        sa.Column("update_count", sa.Integer, nullable=False),
    )
    with op.batch_alter_table("clusters") as batch:
        batch.create_foreign_key("fk_clusters_origin", "documents", ["origin_document_id"], ["id"])
    op.create_table(
        "lsh_bands",
        sa.Column(
            "document_id",
            sa.Integer,
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("band", sa.Integer, primary_key=True),
        sa.Column("bucket", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_lsh_bands_band_bucket", "lsh_bands", ["band", "bucket"])
    op.create_table(
        "topics",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("definition_hash", sa.String(64), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "run_counts",
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("source_id", sa.Integer, primary_key=True),
        sa.Column("outcome", sa.String(30), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "matches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "document_id",
            sa.Integer,
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "topic_id", sa.String(100), sa.ForeignKey("topics.id"), nullable=False, index=True
        ),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("terms", sa.JSON, nullable=False),
        sa.Column("passages", sa.JSON, nullable=False),
        sa.Column("matched_at", TS, nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id")),
        sa.UniqueConstraint("document_id", "topic_id", name="uq_matches_doc_topic"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # External-content FTS5 table over documents.search_text, kept in sync by triggers.
        op.execute(
            "CREATE VIRTUAL TABLE documents_fts USING fts5("
            "search_text, content='documents', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER documents_fts_ai AFTER INSERT ON documents BEGIN "
            "INSERT INTO documents_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER documents_fts_ad AFTER DELETE ON documents BEGIN "
            "INSERT INTO documents_fts(documents_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER documents_fts_au AFTER UPDATE OF search_text ON documents BEGIN "
            "INSERT INTO documents_fts(documents_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); "
            "INSERT INTO documents_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
    else:
        op.execute(
            "CREATE INDEX ix_documents_search ON documents "
            "USING gin (to_tsvector('simple', search_text))"
        )


def downgrade() -> None:
    """Drop everything (development only)."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trig in ("documents_fts_ai", "documents_fts_ad", "documents_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trig}")
        op.execute("DROP TABLE IF EXISTS documents_fts")
    for table in ("matches", "run_counts", "runs", "topics", "lsh_bands"):
        op.drop_table(table)
    with op.batch_alter_table("clusters") as batch:
        batch.drop_constraint("fk_clusters_origin", type_="foreignkey")
    for table in ("documents", "clusters", "pages", "sources"):
        op.drop_table(table)
