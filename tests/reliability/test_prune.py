"""``newsmon prune --raw-older-than DAYS``: old raw HTML goes, everything derived from it stays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from pipeline.alerts import run_alerts
from pipeline.stages.ingest import ingest_paths
from pipeline.store.db import session_scope
from pipeline.store.models import Alert, Page, Run, utcnow
from pipeline.store.pages import record_fetch
from tests.alerts_data import subscribers
from tests.conftest import FIXTURES
from tests.reliability.helpers import invoke, stored_result, table_counts

DEMO = FIXTURES / "demo"


def _ledger() -> list[tuple[str, str, int, str]]:
    with session_scope() as session:
        return sorted(
            (a.subscriber, a.topic_id, a.document_id, a.status)
            for a in session.scalars(select(Alert))
        )


def test_prune_drops_old_raw_html_and_keeps_the_rest(
    any_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest_paths([DEMO])
    run_alerts(
        mode="none",  # ledger rows without sending anything
        subscribers=subscribers({"id": "desk", "email": "desk@example.org", "topics": ["*"]}),
    )
    now = utcnow()
    with session_scope() as session:
        pages = list(session.scalars(select(Page).order_by(Page.id)))
        old_ids = [p.id for p in pages[::2]]  # every other page is 40 days old
        sizes = {p.id: p.raw_size for p in pages}
        session.execute(
            update(Page).where(Page.id.in_(old_ids)).values(fetched_at=now - timedelta(days=40))
        )
        # An old page the process stage has not reached yet keeps its HTML.
        waiting = record_fetch(
            session,
            "https://mid.ru/en/waiting",
            source=None,
            status=200,
            body=b"<html><body><p>Not processed yet.</p></body></html>",
        )
        waiting.fetched_at = now - timedelta(days=90)
        waiting_id = waiting.id
    result, ledger, counts = stored_result(any_db_url), _ledger(), table_counts(any_db_url)
    assert ledger, "the alert ledger should hold rows"

    code, out, _err = invoke(["prune", "--raw-older-than", "30", "--dry-run"], capsys)
    assert code == 0 and f"would drop the raw HTML of {len(old_ids)} pages" in out
    assert table_counts(any_db_url) == counts

    code, out, _err = invoke(["prune", "--raw-older-than", "30"], capsys)
    assert code == 0, out
    assert f"dropped the raw HTML of {len(old_ids)} pages" in out and "kept:" in out
    with session_scope() as session:
        for page in session.scalars(select(Page)):
            if page.id in old_ids:
                assert page.raw is None and page.raw_size == sizes[page.id] > 0
            else:
                assert page.raw is not None, page.url
        assert session.get(Page, waiting_id).raw is not None  # type: ignore[union-attr]
        assert session.scalar(select(Run).where(Run.kind == "prune")) is not None
    assert stored_result(any_db_url) == result  # documents, stories, origins, matches
    assert _ledger() == ledger
    after = table_counts(any_db_url)
    assert {k: v for k, v in after.items() if k != "runs"} == {
        k: v for k, v in counts.items() if k != "runs"
    }

    code, out, _err = invoke(["prune", "--raw-older-than", "30"], capsys)
    assert "dropped the raw HTML of 0 pages" in out  # idempotent
    # Pages fetched again after a prune are stored again and found unchanged: nothing new.
    again = ingest_paths([DEMO])
    assert set(again.outcomes) == {"unchanged"}
    assert stored_result(any_db_url) == result and _ledger() == ledger


def test_prune_rejects_a_negative_age(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = invoke(["prune", "--raw-older-than", "-1"], capsys)
    assert code == 2 and "Error" in err  # a usage error; nothing pruned
