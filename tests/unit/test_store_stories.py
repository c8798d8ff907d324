"""The one story read model: origin first, outlets, topics, the match that explains a story."""

from __future__ import annotations

from datetime import timedelta

from pipeline.store.db import session_scope
from pipeline.store.stories import load_story, stories
from tests.alerts_data import DAY1, copy_of, match, story


def test_a_story_lists_its_origin_first_then_copies_by_first_seen(db_url: str) -> None:
    with session_scope(db_url) as s:
        cluster, origin = story(s, n=1)
        later = copy_of(s, cluster, origin, source_name="tass")
        earlier = copy_of(s, cluster, origin, source_name="ria")
        earlier.first_seen_at = origin.first_seen_at - timedelta(hours=2)  # seen before the origin
        again = copy_of(s, cluster, origin, source_name="tass", url="https://tass.example.org/b")
        s.flush()
        got = load_story(s, cluster.id)
    assert got is not None
    assert [m.document_id for m in got.members] == [origin.id, earlier.id, later.id, again.id]
    assert got.origin.is_origin and got.origin.official and not got.members[1].official
    assert got.title == origin.title and got.size == 4
    assert got.outlets == ["mfa-am", "ria", "tass"]  # distinct names, the origin's first
    assert got.members[1].source_label == "RIA"  # the seed label, for alerts
    assert got.topics == ["zangezur-corridor"]


def test_best_match_prefers_the_origin_then_the_strongest_copy(db_url: str) -> None:
    with session_scope(db_url) as s:
        cluster, origin = story(s, n=1)
        weak = copy_of(s, cluster, origin, source_name="tass", matched=False)
        strong = copy_of(s, cluster, origin, source_name="ria", matched=False)
        match(s, weak, "peace-treaty", "delegation", score=0.4)
        match(s, strong, "peace-treaty", "minister", score=0.9)
        got = load_story(s, cluster.id)
    assert got is not None
    explains = got.best_match("zangezur-corridor")
    assert explains is not None and explains.document_id == origin.id
    copy_match = got.best_match("peace-treaty")
    assert copy_match is not None and copy_match.document_id == strong.id
    assert copy_match.terms == ("minister",) and copy_match.passages[0]["text"]
    assert got.best_match("border-delimitation") is None
    assert got.topics == ["peace-treaty", "zangezur-corridor"]


def test_stories_filter_by_topic_size_and_first_seen(db_url: str) -> None:
    with session_scope(db_url) as s:
        one, origin = story(s, n=1)
        copy_of(s, one, origin)
        two, _ = story(s, n=2, topic_id="peace-treaty", term="peace treaty")
        one.updated_at, two.updated_at = DAY1 + timedelta(hours=2), DAY1 + timedelta(days=1)
        s.flush()  # the most recently updated story comes first
        listed = [st.cluster_id for st in stories(s)]
        by_topic = [st.cluster_id for st in stories(s, topic="peace-treaty")]
        bigger = [st.cluster_id for st in stories(s, min_size=2)]
        recent = stories(s, since=DAY1 + timedelta(minutes=30))
    assert listed == [two.id, one.id]
    assert by_topic == [two.id] and bigger == [one.id]
    assert [st.cluster_id for st in recent] == [one.id]  # its copy was first seen an hour later


def test_a_missing_story_is_none(db_url: str) -> None:
    with session_scope(db_url) as s:
        assert load_story(s, 12345) is None
