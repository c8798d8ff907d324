"""Cross-language linking: band buckets of each document's language-independent MinHash.

Documents stored before this revision have no rows: they are found again by copies in
their own language, and by translations once re-deduplicated.

Revision ID: 0006_crosslang
Revises: 0005_run_liveness
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_crosslang"
down_revision = "0005_run_liveness"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``xl_bands`` with its (band, bucket, day) index."""
    op.create_table(
        "xl_bands",
        sa.Column(
            "document_id",
            sa.Integer,
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("band", sa.Integer, primary_key=True),
        sa.Column("bucket", sa.BigInteger, nullable=False),
        sa.Column("day", sa.Integer, nullable=False),
    )
    op.create_index("ix_xl_bands_band_bucket_day", "xl_bands", ["band", "bucket", "day"])


def downgrade() -> None:
    """Drop ``xl_bands``."""
    op.drop_index("ix_xl_bands_band_bucket_day", table_name="xl_bands")
    op.drop_table("xl_bands")
