"""The offline replica of the monitored web: our own small sites served on loopback.

``start_replay()`` serves every site under ``tests/fixtures/sites/`` on its own
address 127.0.0.N (see each ``site.yaml``) and ``ReplayServer.write_sources()``
writes a sources file pointing the shipped sources at it.
"""

from __future__ import annotations

from pipeline.devtools.replay.handler import RequestRecord
from pipeline.devtools.replay.server import DEFAULT_PORT, SITES_DIR, ReplayServer, start_replay
from pipeline.devtools.replay.site import Article, ArticleSpec, FaultKind

__all__ = [
    "DEFAULT_PORT",
    "SITES_DIR",
    "Article",
    "ArticleSpec",
    "FaultKind",
    "ReplayServer",
    "RequestRecord",
    "start_replay",
]
