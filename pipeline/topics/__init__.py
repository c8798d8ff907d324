"""Topic matching across languages, scripts and spellings (facade used by the pipeline).

* :func:`load_topics` validates ``seeds/topics.yaml`` (errors name file:line and field);
* :func:`get_matcher` compiles it once per file version (path + mtime + size);
* ``Matcher.match(title, text, ...)`` returns :class:`TopicMatch` items with score,
  fired terms and passages cut from the original title/text;
* :func:`sync_topics` / :func:`match_document` persist topics and matches.
"""

from __future__ import annotations

import threading
from pathlib import Path

from pipeline.config.settings import get_settings
from pipeline.topics.matcher import Matcher, Precomputed, TopicMatch
from pipeline.topics.model import TopicDef, TopicsFile, load_topics
from pipeline.topics.passages import Passage
from pipeline.topics.store import MatchChanges, apply_matches, match_document, sync_topics

__all__ = [
    "MatchChanges",
    "Matcher",
    "Passage",
    "Precomputed",
    "TopicDef",
    "TopicMatch",
    "TopicsFile",
    "apply_matches",
    "clear_cache",
    "get_matcher",
    "load_topics",
    "match_document",
    "sync_topics",
]

_lock = threading.Lock()
_matchers: dict[Path, tuple[tuple[int, int], Matcher]] = {}


def get_matcher(path: Path | None = None) -> Matcher:
    """The compiled matcher for ``path`` (default: the configured topics file), cached.

    The cache key includes the file's mtime and size, so an edited file is recompiled on
    the next call without restarting long-running workers.
    """
    path = (path or get_settings().topics_path).resolve()
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        stamp = (0, 0)  # load_topics raises the clear "not found" SeedError below
    with _lock:
        cached = _matchers.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    matcher = Matcher(load_topics(path), path)
    with _lock:
        _matchers[path] = (stamp, matcher)
    return matcher


def clear_cache() -> None:
    """Forget compiled matchers (tests)."""
    with _lock:
        _matchers.clear()
