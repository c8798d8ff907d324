"""Pages remember what discovery knew and the window of the run that recorded them.

The crawl only records pages; the process stage cleans them later with the feed/listing date,
title and language, and checks the recording run's window. Also joins the crawl and alerts
branches into one head.

Revision ID: 0004_page_discovery
Revises: 0002_crawl, 0003_alerts
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_page_discovery"
down_revision = ("0002_crawl", "0003_alerts")
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the discovery and window columns to ``pages``."""
    with op.batch_alter_table("pages") as batch:
        batch.add_column(sa.Column("discovery_method", sa.String(20)))
        batch.add_column(sa.Column("discovered_published", TS))
        batch.add_column(sa.Column("discovered_title", sa.Text))
        batch.add_column(sa.Column("discovered_language", sa.String(10)))
        batch.add_column(
            sa.Column("via_feed", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("window_start", TS))
        batch.add_column(sa.Column("window_end", TS))
        batch.add_column(
            sa.Column(
                "recorded_run_id",
                sa.Integer,
                sa.ForeignKey("runs.id", name="fk_pages_recorded_run", ondelete="SET NULL"),
            )
        )
        batch.create_index("ix_pages_recorded_run_id", ["recorded_run_id"])


def downgrade() -> None:
    """Drop the columns again."""
    with op.batch_alter_table("pages") as batch:
        batch.drop_index("ix_pages_recorded_run_id")
        batch.drop_constraint("fk_pages_recorded_run", type_="foreignkey")
        for name in (
            "recorded_run_id",
            "window_end",
            "window_start",
            "via_feed",
            "discovered_language",
            "discovered_title",
            "discovered_published",
            "discovery_method",
        ):
            batch.drop_column(name)
