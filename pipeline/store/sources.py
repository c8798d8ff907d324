"""The ``sources`` rows, kept in step with ``seeds/sources.yaml`` (one row per source, by name)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.config.sources import SourcesFile
from pipeline.store.models import Source


def sync_sources(session: Session, sources_file: SourcesFile) -> dict[str, Source]:
    """Upsert one ``sources`` row per configured source (by name); return them by name."""
    existing = {s.name: s for s in session.scalars(select(Source))}
    out: dict[str, Source] = {}
    for cfg in sources_file.sources:
        row = existing.get(cfg.name)
        config = cfg.model_dump(mode="json")
        if row is None:
            row = Source(name=cfg.name)
            session.add(row)
        # Assign only on change so an unchanged sync does not bump updated_at.
        for attr, value in (
            ("type", cfg.type),
            ("country", cfg.country),
            ("languages", list(cfg.languages)),
            ("config", config),
        ):
            if getattr(row, attr, None) != value:
                setattr(row, attr, value)
        out[cfg.name] = row
    session.flush()
    return out
