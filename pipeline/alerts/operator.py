"""Operator alerts to ``NEWSMON_OPERATOR_EMAIL``: silent or failing sources, and alert delivery.

Each source condition is an episode in ``operator_alerts``: it opens when first seen, sends one
email (retried until accepted, like subscriber alerts), and closes when the source recovers. A run
that sees the same condition again sends nothing.

Delivery notices (:func:`record_delivery`) use the same table: a mail outage is an episode
(``mail:outage``) noticed once when it starts and once when it ends ("delivered N held alerts",
a ``mail:recovered:…`` row), and alerts given up after ``NEWSMON_ALERT_MAX_AGE_DAYS`` are one
``undeliverable:…`` row per run. Each notice is logged and returned for the run summary when it is
raised, and emailed once the mail server answers again (never while an outage is open).
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
from pipeline.alerts.webhook import Poster, WebhookFailed, post_json
from pipeline.config.settings import get_settings
from pipeline.errors import Outcome, SendError
from pipeline.store.db import session_scope
from pipeline.store.models import Document, OperatorAlert, RunCount, Source, utcnow
from pipeline.store.stories import source_label

log = logging.getLogger(__name__)

SOURCE_KINDS = frozenset({"silent", "failing"})
OUTAGE_KEY = "mail:outage"
SUBJECTS = {
    "silent": "{name}: silent",
    "failing": "{name}: failing fetches",
    "outage": "mail server unavailable",
    "recovered": "mail server back",
    "undeliverable": "alerts undeliverable",
}
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
        if state.active and state.kind in SOURCE_KINDS and key not in found:
            state.active, state.resolved_at, state.updated_at = False, now, now
            report.resolved.append(key)
            log.info("operator condition resolved: %s", key)
    session.flush()


def _notice(
    session: Session, key: str, kind: str, detail: str, now: datetime, *, active: bool
) -> None:
    """Store a delivery notice to be emailed once (``active``: an episode still going on)."""
    session.add(
        OperatorAlert(
            key=key,
            kind=kind,
            active=active,
            since=now,
            detail=detail,
            attempts=0,
            message_id=f"<operator-{message_token(key, now.isoformat())}@newsmon>",
            updated_at=now,
        )
    )


def record_delivery(
    session: Session,
    now: datetime,
    *,
    unusable: str | None,
    delivered: int,
    held_delivered: int,
    held: int,
    expired: list[str],
) -> list[str]:
    """Open or close the mail-outage episode and record given-up alerts; the new notices.

    ``unusable`` is why the mail server could not be used this run (None: it was not, or was
    fine), ``delivered`` the messages it accepted, ``held_delivered`` the held alerts among them,
    ``held`` the alerts now waiting for a retry, ``expired`` one line per alert given up.
    """
    notices: list[str] = []
    outage = session.get(OperatorAlert, OUTAGE_KEY)
    open_ = outage is not None and outage.active
    if unusable and not delivered and not open_:
        detail = (
            f"The mail server could not be used at {now:%Y-%m-%d %H:%M} UTC: {unusable}. "
            f"{held} alerts are held and retried every run; none is given up before "
            f"{get_settings().alert_max_age_days} days (NEWSMON_ALERT_MAX_AGE_DAYS)."
        )
        if outage is None:
            _notice(session, OUTAGE_KEY, "outage", detail, now, active=True)
        else:  # a new episode in the same row: one start notice per outage
            outage.active, outage.since, outage.resolved_at, outage.detail = True, now, None, detail
            outage.notified_at, outage.attempts, outage.last_error = None, 0, None
            outage.updated_at = now
            outage.message_id = f"<operator-{message_token(OUTAGE_KEY, now.isoformat())}@newsmon>"
        notices.append(f"mail outage started: {detail}")
    elif outage is not None and open_ and delivered:
        since = outage.since or now
        outage.active, outage.resolved_at, outage.updated_at = False, now, now
        detail = (
            f"The mail server answers again at {now:%Y-%m-%d %H:%M} UTC (unavailable since "
            f"{since:%Y-%m-%d %H:%M} UTC): delivered {held_delivered} held alerts; "
            f"{held} still held."
        )
        _notice(
            session, f"mail:recovered:{since.isoformat()}", "recovered", detail, now, active=False
        )
        notices.append(f"mail outage ended: {detail}")
    elif outage is not None and open_ and unusable:
        outage.updated_at = now
    if expired:
        days = get_settings().alert_max_age_days
        detail = (
            f"{len(expired)} alerts were not delivered within {days} days "
            f"(NEWSMON_ALERT_MAX_AGE_DAYS) and are now failed: " + "; ".join(expired)
        )
        _notice(
            session, f"undeliverable:{now.isoformat()}", "undeliverable", detail, now, active=False
        )
        notices.append(f"alerts undeliverable: {detail}")
    session.flush()
    for line in notices:
        log.warning("operator notice: %s", line)
    return notices


def post_notices(notices: list[str], now: datetime, *, poster: Poster | None = None) -> int:
    """POST each delivery notice to NEWSMON_OPERATOR_WEBHOOK_URL; how many were accepted.

    Called after the notices are committed: the webhook does not depend on the mail server, so
    the operator hears of a mail outage while it lasts. A failed POST is logged; the notice is
    still emailed once the mail server answers.
    """
    url = get_settings().operator_webhook_url
    if not url or not notices:
        return 0
    post = poster or post_json
    accepted = 0
    for line in notices:
        kind, _, detail = line.partition(": ")
        payload = {"type": "operator", "kind": kind, "detail": detail, "at": now.isoformat()}
        try:
            post(url, payload, f"operator-{message_token(kind, now.isoformat())}")
        except WebhookFailed as exc:
            log.warning("operator webhook: %s", exc)
            continue
        accepted += 1
    return accepted


def _due(session: Session) -> list[OperatorAlert]:
    """Notices not emailed yet: open source episodes, and every delivery notice."""
    rows = session.scalars(
        select(OperatorAlert)
        .where(OperatorAlert.notified_at.is_(None))
        .order_by(OperatorAlert.since, OperatorAlert.key)
    ).all()
    return [r for r in rows if r.kind not in SOURCE_KINDS or r.active]


def send_operator(
    *,
    now: datetime | None = None,
    url: str | None = None,
    mailer_factory: Callable[[], Mailer] | None = None,
    report: OperatorReport | None = None,
) -> OperatorReport:
    """Check the conditions, then email each not yet notified notice once.

    Nothing is emailed while the mail outage is open: the notices wait for the server.
    """
    now = now or utcnow()
    report = report or OperatorReport()
    with session_scope(url) as session:
        check_conditions(session, now, report)
        due = _due(session)
        outage = session.get(OperatorAlert, OUTAGE_KEY)
        mail_down = outage is not None and outage.active
        session.expunge_all()
    to_addr = get_settings().operator_email
    if not due:
        return report
    if mail_down:
        log.info("%d operator notices wait for the mail server to answer again", len(due))
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
            name = state.key.split(":", 1)[1]
            what = SUBJECTS.get(state.kind, "{name}").format(name=name)
            subject = f"[newsmon operator] {what}"
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
