"""Operator alerts to ``NEWSMON_OPERATOR_EMAIL``: a silent source, a source whose fetches fail.

Each condition is an episode in ``operator_alerts``: it opens when first seen, sends one email
(retried until accepted, like subscriber alerts), and closes when the source recovers. A run that
sees the same condition again sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.alerts.ledger import message_token
from pipeline.alerts.render import build_message, render_operator
from pipeline.alerts.smtp import Mailer, SmtpMailer, SmtpUnavailable, resolve_config
from pipeline.config.settings import get_settings
from pipeline.errors import Outcome, SendError
from pipeline.store.db import session_scope
from pipeline.store.models import Document, OperatorAlert, RunCount, Source, utcnow
from pipeline.store.stories import source_label

log = logging.getLogger(__name__)

FETCH_FAILURES = {str(Outcome.HTTP_ERROR), str(Outcome.TOO_LARGE), str(Outcome.BAD_CONTENT)}
# A run with fewer fetches of a source than this cannot show a spike (one 503 is 100%).
MIN_FETCHES = 3
SPIKE_RATIO = 0.5  # "failed fetches exceed half of a run"
# "its previous runs were mostly fine": at most this failure ratio over the last few runs.
HEALTHY_RATIO = 0.2
PREVIOUS_RUNS = 5


@dataclass
class OperatorReport:
    """What one operator check did."""

    active: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    emails_sent: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Plain counters for logs and XCom."""
        return dict(self.__dict__)


def _enabled(source: Source) -> bool:
    """Sources switched off in seeds are not expected to yield anything."""
    crawl = (source.config or {}).get("crawl") or {}
    return bool(crawl.get("enabled", True)) if isinstance(crawl, dict) else True


def silent_sources(session: Session, now: datetime) -> dict[Source, str]:
    """Sources with no new document for NEWSMON_SOURCE_SILENCE_DAYS days (counted from creation)."""
    days = get_settings().source_silence_days
    limit = now - timedelta(days=days)
    last = dict(
        session.execute(
            select(Document.source_id, func.max(Document.first_seen_at)).group_by(
                Document.source_id
            )
        ).all()
    )
    out: dict[Source, str] = {}
    for source in session.scalars(select(Source).order_by(Source.name)):
        if not _enabled(source):
            continue
        seen = last.get(source.id)
        reference = seen or source.created_at
        if reference <= limit:
            since = f"since {seen:%Y-%m-%d %H:%M} UTC" if seen else "ever (since it was added)"
            out[source] = (
                f"{source_label(source)} ({source.name}) has yielded no new document {since}; "
                f"the limit is {days} days (NEWSMON_SOURCE_SILENCE_DAYS). Check its site, feed "
                f"URLs and `newsmon sources check`."
            )
    return out


def _run_totals(session: Session, source_id: int) -> list[tuple[int, int, int]]:
    """(run id, fetches, failures) of the latest runs that counted this source, newest first."""
    rows = session.execute(
        select(RunCount.run_id, RunCount.outcome, RunCount.count).where(
            RunCount.source_id == source_id,
            RunCount.run_id.in_(
                select(RunCount.run_id)
                .where(RunCount.source_id == source_id)
                .group_by(RunCount.run_id)
                .order_by(RunCount.run_id.desc())
                .limit(PREVIOUS_RUNS + 1)
            ),
        )
    ).all()
    totals: dict[int, list[int]] = {}
    for run_id, outcome, count in rows:
        t = totals.setdefault(run_id, [0, 0])
        t[0] += count
        t[1] += count if outcome in FETCH_FAILURES else 0
    return [(rid, t[0], t[1]) for rid, t in sorted(totals.items(), reverse=True)]


def failing_sources(session: Session, active: set[str]) -> dict[Source, str]:
    """Sources whose latest run failed more than half its fetches after mostly healthy runs.

    An episode already open stays open until a run fails at most half (recovery).
    """
    out: dict[Source, str] = {}
    for source in session.scalars(select(Source).order_by(Source.name)):
        runs = _run_totals(session, source.id)
        if not runs:
            continue
        run_id, total, failed = runs[0]
        spiking = total >= MIN_FETCHES and failed > SPIKE_RATIO * total
        before = runs[1:]
        prev_total = sum(t for _, t, _ in before)
        prev_failed = sum(f for _, _, f in before)
        healthy_before = prev_total > 0 and prev_failed <= HEALTHY_RATIO * prev_total
        still_open = f"failing:{source.name}" in active and failed > SPIKE_RATIO * total
        if (spiking and healthy_before) or still_open:
            out[source] = (
                f"{source_label(source)} ({source.name}): {failed} of {total} fetches failed in "
                f"run {run_id} (previous {len(before)} runs: {prev_failed} of {prev_total}). "
                f"See `newsmon` run counts and the crawl log for that run."
            )
    return out


def check_conditions(session: Session, now: datetime, report: OperatorReport) -> None:
    """Open, keep or close episodes; opening one makes it due for an email."""
    states = {s.key: s for s in session.scalars(select(OperatorAlert))}
    active = {k for k, s in states.items() if s.active}
    found: dict[str, tuple[str, Source, str]] = {}
    for source, detail in silent_sources(session, now).items():
        found[f"silent:{source.name}"] = ("silent", source, detail)
    for source, detail in failing_sources(session, active).items():
        found[f"failing:{source.name}"] = ("failing", source, detail)
    for key, (kind, source, detail) in found.items():
        state = states.get(key)
        if state is None:
            state = OperatorAlert(key=key, kind=kind, source_id=source.id, active=False, attempts=0)
            session.add(state)
        if not state.active:
            state.active, state.since, state.resolved_at = True, now, None
            state.notified_at, state.attempts, state.last_error = None, 0, None
            state.message_id = f"<operator-{message_token(key, now.isoformat())}@newsmon>"
            report.opened.append(key)
        state.detail, state.updated_at = detail, now
        report.active.append(key)
    for key, state in states.items():
        if state.active and key not in found:
            state.active, state.resolved_at, state.updated_at = False, now, now
            report.resolved.append(key)
            log.info("operator condition resolved: %s", key)
    session.flush()


def send_operator(
    *,
    now: datetime | None = None,
    url: str | None = None,
    mailer_factory: Callable[[], Mailer] | None = None,
    report: OperatorReport | None = None,
) -> OperatorReport:
    """Check the conditions, then email each open, not yet notified episode once."""
    now = now or utcnow()
    report = report or OperatorReport()
    with session_scope(url) as session:
        check_conditions(session, now, report)
        due = session.scalars(
            select(OperatorAlert).where(
                OperatorAlert.active.is_(True), OperatorAlert.notified_at.is_(None)
            )
        ).all()
        session.expunge_all()
    to_addr = get_settings().operator_email
    if not due:
        return report
    if not to_addr:
        log.warning(
            "operator conditions open but NEWSMON_OPERATOR_EMAIL is empty: %s",
            ", ".join(s.key for s in due),
        )
        return report
    mailer = mailer_factory() if mailer_factory else SmtpMailer(resolve_config())
    try:
        for state in due:
            what = "silent" if state.kind == "silent" else "failing fetches"
            subject = f"[newsmon operator] {state.key.split(':', 1)[1]}: {what}"
            rendered = render_operator(subject, [state.detail])
            msg = build_message(
                rendered,
                to_addr=to_addr,
                mail_from=mailer.mail_from,
                message_id=state.message_id or f"<operator-{message_token(state.key)}@newsmon>",
                date=now,
            )
            error: str | None = None
            unavailable = False
            try:
                mailer.send(msg)
            except SendError as exc:
                error, unavailable = str(exc), isinstance(exc, SmtpUnavailable)
                report.errors.append(error)
            with session_scope(url) as session:
                row = session.get(OperatorAlert, state.key)
                if row is not None and error is None:
                    row.notified_at = now
                elif row is not None:
                    row.attempts += 1
                    row.last_error = error
            if error is None:
                report.emails_sent += 1
            elif unavailable:
                break
    finally:
        mailer.close()
    return report
