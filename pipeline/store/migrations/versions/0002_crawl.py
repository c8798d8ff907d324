"""Crawl state: conditional-GET validators, high-water marks and last success per source key.

Revision ID: 0002_crawl
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_crawl"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``crawl_state``: one row per (source, discovery URL); key "" is the source itself."""
    op.create_table(
        "crawl_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "source_id",
            sa.Integer,
            sa.ForeignKey("sources.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(1000), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("etag", sa.String(500)),
        sa.Column("last_modified", sa.String(100)),
        sa.Column("high_water", TS),
        sa.Column("last_success_at", TS),
        sa.Column("last_attempt_at", TS),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("source_id", "key", name="uq_crawl_state_source_key"),
    )


def downgrade() -> None:
    """Drop ``crawl_state``."""
    op.drop_table("crawl_state")
