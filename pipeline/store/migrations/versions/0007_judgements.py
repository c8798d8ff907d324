"""Analysts' judgements of whether a story is about a topic (``judgements``).

Revision ID: 0007_judgements
Revises: 0006_crosslang
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_judgements"
down_revision = "0006_crosslang"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``judgements``: one verdict per (origin document, topic)."""
    op.create_table(
        "judgements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "document_id",
            sa.Integer,
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("cluster_id", sa.Integer, sa.ForeignKey("clusters.id", ondelete="SET NULL")),
        sa.Column("topic_id", sa.String(100), nullable=False),
        sa.Column("relevant", sa.Boolean, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("judged_at", TS, nullable=False),
        sa.UniqueConstraint("document_id", "topic_id", name="uq_judgements_doc_topic"),
    )
    op.create_index("ix_judgements_cluster_id", "judgements", ["cluster_id"])
    op.create_index("ix_judgements_topic_id", "judgements", ["topic_id"])


def downgrade() -> None:
    """Drop ``judgements``."""
    op.drop_index("ix_judgements_topic_id", table_name="judgements")
    op.drop_index("ix_judgements_cluster_id", table_name="judgements")
    op.drop_table("judgements")
