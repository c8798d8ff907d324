"""Read-only totals of what is stored: documents, stories, matches per topic.

Stories themselves (origin, outlets, topics) come from the read model, ``pipeline.store.stories``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.store.models import Cluster, Document, Match


def totals(session: Session) -> dict[str, Any]:
    """Totals the demo and evaluation scripts read."""
    documents = session.scalar(select(func.count(Document.id))) or 0
    stories = session.scalar(select(func.count(Cluster.id))) or 0
    # Folded into another's story = every member of a story but one; this holds whatever order the
    # copies arrived in (a late official origin leaves its earlier copies' duplicate_of pointing
    # at each other, so counting duplicate_of_id would depend on arrival order).
    duplicates = documents - stories
    per_topic = session.execute(
        select(Match.topic_id, func.count(func.distinct(Document.cluster_id)))
        .join(Document, Document.id == Match.document_id)
        .group_by(Match.topic_id)
    )
    return {
        "documents": documents,
        "duplicates": duplicates,
        "stories": stories,
        "matches": {topic: n for topic, n in per_topic},
    }
