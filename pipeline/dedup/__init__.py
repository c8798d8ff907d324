"""Deduplication: republished copies folded into one story (cluster).

Facade used by the store and the CLI:

- :func:`content_hash` — hash of a document's normalised body (exact copies).
- :func:`assign` — put a flushed document into its cluster (exact, then MinHash
  LSH kept in ``lsh_bands`` + verification, else a new cluster); idempotent.
- :func:`fingerprint` — hash, MinHash and band buckets, for bulk loaders.
- :func:`run_batch` — the ``newsmon dedup`` JSON-lines contract on a temporary database.

Modules: ``text`` (normalisation, shingles, hash), ``sketch`` (MinHash, bands),
``verify`` (copy decision), ``lookup`` (fingerprints, band rows, copy lookups),
``clusters`` (story bookkeeping), ``crosslang`` + ``versions`` (versions in other
languages), ``assign`` (the decision), ``batch``. Stories are read through
``pipeline.store.stories``.
"""

from __future__ import annotations

from pipeline.dedup.assign import DedupResult, Fingerprint, Kind, assign, fingerprint, reassign
from pipeline.dedup.batch import BatchItem, parse_lines, run_batch
from pipeline.dedup.text import content_hash, normalise
from pipeline.dedup.verify import Verdict, compare

__all__ = [
    "BatchItem",
    "DedupResult",
    "Fingerprint",
    "Kind",
    "Verdict",
    "assign",
    "compare",
    "content_hash",
    "fingerprint",
    "normalise",
    "parse_lines",
    "reassign",
    "run_batch",
]
