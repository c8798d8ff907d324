"""One alert per subscriber, story and channel, whatever topics the story matches.

The ledger was unique per (subscriber, topic, story, channel): a story that matched a second
topic later alerted the same person again. It is now unique per (subscriber, story, channel);
the email lists every subscribed topic the story matches. Rows that the new key folds together
(the same story under several topics) keep one: the sent one if any, else the oldest; the
others carried the same story to the same person, so nothing is lost that a message showed.

Revision ID: 0008_alerts_per_story
Revises: 0007_judgements
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0008_alerts_per_story"
down_revision = "0007_judgements"
branch_labels = None
depends_on = None

# Rows outranked by a sibling of the same (subscriber, story, channel): a sent sibling first,
# then the lowest id.
_DROP_FOLDED = """
DELETE FROM alerts WHERE id IN (
  SELECT a.id FROM alerts a WHERE EXISTS (
    SELECT 1 FROM alerts b
    WHERE b.subscriber = a.subscriber AND b.document_id = a.document_id
      AND b.channel = a.channel AND b.id <> a.id
      AND (CASE WHEN b.status = 'sent' THEN 0 ELSE 1 END, b.id)
          < (CASE WHEN a.status = 'sent' THEN 0 ELSE 1 END, a.id)
  )
)
"""


def upgrade() -> None:
    """Fold per-topic rows of one story; key the ledger on (subscriber, story, channel)."""
    op.execute(_DROP_FOLDED)
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("uq_alerts_sub_topic_story", type_="unique")
        batch.create_unique_constraint(
            "uq_alerts_sub_story", ["subscriber", "document_id", "channel"]
        )


def downgrade() -> None:
    """Back to one row per (subscriber, topic, story, channel) (every row still fits it)."""
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("uq_alerts_sub_story", type_="unique")
        batch.create_unique_constraint(
            "uq_alerts_sub_topic_story", ["subscriber", "topic_id", "document_id", "channel"]
        )
