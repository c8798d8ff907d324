"""Runs record their host, process id and last heartbeat, so a dead run can be marked ``died``.

Revision ID: 0005_run_liveness
Revises: 0004_page_discovery
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_run_liveness"
down_revision = "0004_page_discovery"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add ``host``, ``pid`` and ``heartbeat_at`` to ``runs`` (empty for earlier runs)."""
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("host", sa.String(255)))
        batch.add_column(sa.Column("pid", sa.Integer))
        batch.add_column(sa.Column("heartbeat_at", TS))


def downgrade() -> None:
    """Drop the columns again."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("pid")
        batch.drop_column("host")
