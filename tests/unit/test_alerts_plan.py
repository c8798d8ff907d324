"""Planning the alert ledger: one row per (subscriber, story, channel), idempotent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pipeline.alerts.ledger import mute_cluster, plan_alerts
from pipeline.alerts.send import claim, digest_boundary, due_rows, group_rows
from pipeline.store.db import session_scope
from pipeline.store.models import Alert, AlertMute, Cluster
from tests.alerts_data import DAY1, copy_of, match, story, subscribers

INSTANT = {"id": "desk", "email": "desk@example.org", "mode": "instant"}
DIGEST = {"id": "daily", "email": "daily@example.org", "mode": "digest", "digest_hour": 8}


def rows(session: object) -> list[Alert]:
    return list(session.scalars(select(Alert).order_by(Alert.id)))  # type: ignore[attr-defined]


def test_plan_is_idempotent_and_copies_add_nothing(any_db_url: str) -> None:
    subs = subscribers(INSTANT, DIGEST)
    with session_scope(any_db_url) as s:
        c1, d1 = story(s, n=1)
        story(s, n=2)
        first = plan_alerts(s, subs, now=DAY1)
    assert first.created == 4 and first.already == 0
    with session_scope(any_db_url) as s:
        again = plan_alerts(s, subs, now=DAY1 + timedelta(hours=1))
        assert again.created == 0
        # A republished copy joins the cluster; an updated page keeps its cluster.
        copy_of(s, c1, d1)
        d1.text += " Updated paragraph about the corridor."
        d1.update_count += 1
        s.flush()
        assert plan_alerts(s, subs, now=DAY1 + timedelta(hours=2)).created == 0
        assert len(rows(s)) == 4
        assert {(r.subscriber, r.delivery, r.status) for r in rows(s)} == {
            ("desk", "instant", "pending"),
            ("daily", "digest", "pending"),
        }


def test_ledger_key_is_unique_in_the_database(db_url: str) -> None:
    with pytest.raises(IntegrityError), session_scope(db_url) as s:
        c, d = story(s, n=1)
        for _ in range(2):
            s.add(
                Alert(
                    subscriber="a",
                    topic_id="zangezur-corridor",
                    cluster_id=c.id,
                    document_id=d.id,
                    channel="email",
                    status="pending",
                    delivery="instant",
                    caught_up=False,
                    run_mode="scheduled",
                    planned_at=DAY1,
                    attempts=0,
                )
            )
            s.flush()


def test_merged_moved_and_reorigined_stories_stay_alerted(db_url: str) -> None:
    """Dedup merges clusters, moves updated pages and changes origins: no new alert from that."""
    subs = subscribers(INSTANT)
    with session_scope(db_url) as s:
        c1, d1 = story(s, n=1)
        c2, d2 = story(s, n=2)
        c3, d3 = story(s, n=3)
        assert plan_alerts(s, subs, now=DAY1).created == 3
        # A copy links stories 1 and 2: dedup folds cluster 2 into 1 and deletes it.
        d2.cluster_id = c1.id
        s.flush()
        s.delete(c2)
        # Story 3's page is updated and dedup moves it to a fresh cluster; the old one goes.
        fresh = Cluster(origin_document_id=d3.id, size=1, first_seen_at=DAY1, updated_at=DAY1)
        s.add(fresh)
        s.flush()
        d3.cluster_id = fresh.id
        s.flush()
        s.delete(c3)
        # The ministry's own statement arrives later and becomes story 1's origin.
        late = copy_of(s, c1, d1, source_name="mid-ru")
        c1.origin_document_id = late.id
        s.flush()
        again = plan_alerts(s, subs, now=DAY1 + timedelta(hours=1))
        assert (again.created, again.merged) == (0, 1)
        # Story 2's pending row would repeat the merged story: story 1's row speaks for it.
        assert {r.document_id: r.status for r in rows(s)} == {
            d1.id: "pending",
            d2.id: "merged",
            d3.id: "pending",
        }
        due, _ = due_rows(s, subs, "email", DAY1)
        claimed = claim(s, [r.id for r in due], DAY1)
        assert {r.document_id: r.cluster_id for r in claimed} == {d1.id: c1.id, d3.id: fresh.id}


def test_since_language_and_source_filters(db_url: str) -> None:
    subs = subscribers(
        {**INSTANT, "since": "2026-03-09"},
        {"id": "ru-only", "email": "ru@example.org", "languages": ["ru"]},
        {"id": "mid-only", "email": "mid@example.org", "sources": ["mid-ru"]},
    )
    with session_scope(db_url) as s:
        story(s, n=1, published=DAY1 - timedelta(days=5))  # before desk's since
        story(s, n=2, language="ru", source_name="mid-ru")
        story(s, n=3)
        plan_alerts(s, subs, now=DAY1)
        got = {(r.subscriber, r.cluster_id) for r in rows(s)}
    assert ("desk", 1) not in got and ("desk", 2) in got and ("desk", 3) in got
    assert {c for sub, c in got if sub == "ru-only"} == {2}
    assert {c for sub, c in got if sub == "mid-only"} == {2}


@pytest.mark.parametrize(
    ("mode", "status", "delivery", "caught_up"),
    [
        ("scheduled", "pending", "instant", False),
        ("backfill", "pending", "digest", True),
        ("reprocess", "pending", "digest", True),
        ("none", "suppressed", "digest", True),
        ("instant", "pending", "instant", False),
    ],
)
def test_run_alert_modes(
    db_url: str, mode: str, status: str, delivery: str, caught_up: bool
) -> None:
    with session_scope(db_url) as s:
        story(s, n=1)
        report = plan_alerts(s, subscribers(INSTANT), run_mode=mode, now=DAY1)
        (row,) = rows(s)
    assert (row.status, row.delivery, row.caught_up) == (status, delivery, caught_up)
    assert report.suppressed == (status == "suppressed")


def test_old_story_in_scheduled_run_waits_for_digest_as_caught_up(db_url: str) -> None:
    with session_scope(db_url) as s:
        story(s, n=1, published=DAY1 - timedelta(days=4))
        plan_alerts(s, subscribers(INSTANT), now=DAY1)
        (row,) = rows(s)
    assert (row.delivery, row.caught_up) == ("digest", True)


def test_unknown_mode_is_rejected(db_url: str) -> None:
    with session_scope(db_url) as s, pytest.raises(ValueError, match="alert mode"):
        plan_alerts(s, subscribers(INSTANT), run_mode="hourly")


def test_mute_silences_pending_and_future_rows(db_url: str) -> None:
    subs = subscribers(INSTANT)
    with session_scope(db_url) as s:
        c1, _d1 = story(s, n=1)
        plan_alerts(s, subs, now=DAY1)
        assert mute_cluster(s, c1.id, reason="horse breed") == 1
        assert mute_cluster(s, c1.id) == 0  # idempotent
        assert s.scalar(select(func.count()).select_from(AlertMute)) == 1
        plan_alerts(s, subscribers(INSTANT, DIGEST), now=DAY1)
        assert {r.status for r in rows(s)} == {"muted"}
        with pytest.raises(LookupError):
            mute_cluster(s, 999)


def test_digest_boundary_uses_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.config.settings import get_settings

    monkeypatch.setenv("NEWSMON_TIMEZONE", "Asia/Baku")  # UTC+4
    get_settings.cache_clear()
    sub = subscribers(DIGEST).items[0]
    # 03:30 UTC = 07:30 Baku: the last 08:00 Baku was yesterday 04:00 UTC.
    now = DAY1.replace(hour=3, minute=30)
    assert digest_boundary(sub, now) == DAY1.replace(hour=4, minute=0) - timedelta(days=1)
    assert digest_boundary(sub, now + timedelta(hours=1)) == DAY1.replace(hour=4, minute=0)


def test_claim_is_exclusive_and_groups_one_story_per_message(any_db_url: str) -> None:
    subs = subscribers({**INSTANT, "topics": ["zangezur-corridor", "peace-treaty"]})
    with session_scope(any_db_url) as s:
        _c1, d1 = story(s, n=1)
        match(s, d1, "peace-treaty", "deputy minister")
        story(s, n=2)
        plan_alerts(s, subs, now=DAY1)
    with session_scope(any_db_url) as s:
        due, skipped = due_rows(s, subs, "email", DAY1)
        # One row per story: story 1 matches both topics and still has one row (the first topic).
        assert len(due) == 2 and skipped == 0
        assert {r.topic_id for r in due} == {"zangezur-corridor"}
        mine = claim(s, [r.id for r in due], DAY1)
        groups = group_rows(mine, subs, DAY1)
    assert len(mine) == 2
    assert sorted(len(g.rows) for g in groups) == [1, 1]
    assert len({g.message_id for g in groups}) == 2
    with session_scope(any_db_url) as s:
        assert claim(s, [r.id for r in due], DAY1) == []  # a concurrent sender gets nothing
        assert due_rows(s, subs, "email", DAY1)[0] == []
        # After the lease a crashed sender's rows come back, with their Message-IDs.
        later = DAY1 + timedelta(hours=1)
        back = claim(s, [r.id for r in due], later)
        assert {r.message_id for r in back} == {g.message_id for g in groups}


def test_caught_up_rule_can_be_turned_off(db_url: str) -> None:
    with session_scope(db_url) as s:
        story(s, n=1, published=DAY1 - timedelta(days=4))
        plan_alerts(s, subscribers(INSTANT), now=DAY1, caught_up_after=None)
        (row,) = rows(s)
    assert (row.delivery, row.caught_up) == ("instant", False)


def test_row_planned_concurrently_is_counted_not_an_error(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs that both saw the story as new: the second INSERT hits the unique key quietly."""
    from pipeline.alerts import ledger

    subs = subscribers(INSTANT)
    with session_scope(db_url) as s:
        c, d = story(s, n=1)
        plan_alerts(s, subs, now=DAY1)
        monkeypatch.setattr(ledger, "candidates", lambda *a: [(c.id, d.id, DAY1, False)])
        report = plan_alerts(s, subs, now=DAY1)
    assert (report.created, report.already) == (0, 1)


def test_topic_matched_later_and_merge_into_sent_story_alert_nothing(any_db_url: str) -> None:
    subs = subscribers({**INSTANT, "topics": ["zangezur-corridor", "peace-treaty"]})
    with session_scope(any_db_url) as s:
        c1, d1 = story(s, n=1)
        c2, d2 = story(s, n=2)
        assert plan_alerts(s, subs, now=DAY1).created == 2
        first = next(r for r in rows(s) if r.document_id == d1.id)
        first.status = "sent"
        # Story 1 comes to match a second subscribed topic: added to the story, no new row.
        match(s, d1, "peace-treaty", "deputy minister")
        # Dedup merges story 2 (still queued) into story 1 (already sent).
        d2.cluster_id = c1.id
        s.flush()
        s.delete(c2)
        s.flush()
        again = plan_alerts(s, subs, now=DAY1 + timedelta(hours=1))
        assert (again.created, again.merged) == (0, 1)
        assert {r.document_id: r.status for r in rows(s)} == {d1.id: "sent", d2.id: "merged"}
        assert due_rows(s, subs, "email", DAY1)[0] == []
