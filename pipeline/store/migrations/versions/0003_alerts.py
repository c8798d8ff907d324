"""Alerts: the ledger (one row per subscriber, topic, story and channel), mutes, operator episodes.

Revision ID: 0003_alerts
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_alerts"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``alerts``, ``alert_mutes`` and ``operator_alerts``."""
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subscriber", sa.String(100), nullable=False),
        sa.Column("topic_id", sa.String(100), nullable=False),
        # The story's origin document when planned: its identity (cluster ids change on merges).
        sa.Column(
            "document_id",
            sa.Integer,
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("cluster_id", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("delivery", sa.String(10), nullable=False),
        sa.Column("caught_up", sa.Boolean, nullable=False),
        sa.Column("run_mode", sa.String(20), nullable=False),
        sa.Column("planned_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("claim_token", sa.String(40)),
        sa.Column("claimed_until", TS),
        sa.Column("sent_at", TS),
        sa.Column("message_id", sa.String(200)),
        sa.UniqueConstraint(
            "subscriber", "topic_id", "document_id", "channel", name="uq_alerts_sub_topic_story"
        ),
    )
    op.create_index("ix_alerts_status_channel", "alerts", ["status", "channel"])
    op.create_index("ix_alerts_document", "alerts", ["document_id"])
    op.create_index("ix_alerts_message_id", "alerts", ["message_id"])
    op.create_table(
        "alert_mutes",
        sa.Column(
            "document_id",
            sa.Integer,
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("cluster_id", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("muted_at", TS, nullable=False),
    )
    op.create_table(
        "operator_alerts",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source_id", sa.Integer),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("since", TS),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("notified_at", TS),
        sa.Column("message_id", sa.String(200)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("resolved_at", TS),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    """Drop the alert tables."""
    op.drop_table("operator_alerts")
    op.drop_table("alert_mutes")
    op.drop_index("ix_alerts_message_id", table_name="alerts")
    op.drop_index("ix_alerts_document", table_name="alerts")
    op.drop_index("ix_alerts_status_channel", table_name="alerts")
    op.drop_table("alerts")
