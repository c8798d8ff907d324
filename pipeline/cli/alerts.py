"""``newsmon alerts``: preview, send, list and mute alerts (email, webhooks, Atom feeds)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.cli import app
from pipeline.cli.common import MAX_ROWS, console, out, sub_app

if TYPE_CHECKING:
    from pipeline.alerts.subscribers import Subscriber, SubscriberSet
    from pipeline.store.models import Alert

# Kept in step with pipeline.alerts.RUN_MODES (a test checks); importing that package here would
# load the ORM and Jinja2 for every command's --help.
RUN_MODES = ("scheduled", "backfill", "reprocess", "digest", "instant", "none")

# `alerts send` exit status by AlertReport.delivery: 3 = held, the next run retries (not an error).
SEND_EXIT = {"ok": 0, "held": 3, "failed": 1}

alerts_app = sub_app("Alerts to subscribers (seeds/subscribers.yaml): email, webhooks, Atom feeds.")
app.add_typer(alerts_app, name="alerts")

ModeOpt = Annotated[
    str,
    typer.Option(
        "--mode",
        help=f"Run alert mode: {', '.join(RUN_MODES)} (backfill/reprocess wait for the digest).",
    ),
]


def _check_mode(mode: str) -> str:
    """Reject an unknown mode as a usage error."""
    if mode not in RUN_MODES:
        raise typer.BadParameter(f"{mode!r}: expected one of {', '.join(RUN_MODES)}")
    return mode


@alerts_app.command("preview")
def preview_cmd(
    subscriber: Annotated[str | None, typer.Option(help="Only this subscription id.")] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the files (default var/alerts/preview)."),
    ] = None,
    mode: ModeOpt = "scheduled",
) -> None:
    """Render what would be sent (.eml, .html, .txt; webhooks as .json); send and store nothing."""
    from rich.markup import escape
    from rich.table import Table

    from pipeline.alerts import load_subscribers
    from pipeline.alerts.preview import preview as render_preview

    subs = load_subscribers()
    if subscriber and subs.get(subscriber) is None:
        raise typer.BadParameter(f"no subscription with id {subscriber!r} in {subs.path}")
    items = render_preview(subs, subscriber=subscriber, out_dir=out_dir, mode=_check_mode(mode))
    if not items:
        out.print("Nothing would be sent: no pending alerts.")
        return
    from rich import box

    folder = items[0].files[-1].parent if items[0].files else None
    table = Table(
        title=f"{len(items)} messages would be sent (nothing was sent)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    table.add_column("subscriber", min_width=8, max_width=16, overflow="ellipsis")
    table.add_column("kind", no_wrap=True)
    table.add_column("alerts", justify="right", no_wrap=True)
    table.add_column("due", no_wrap=True)
    table.add_column("subject", ratio=1, min_width=20, overflow="fold")
    for item in items:
        table.add_row(
            escape(item.subscriber),
            item.kind,
            str(item.alerts),
            "now" if item.due else "digest hour",
            escape(item.subject),
        )
    out.print(table)
    if folder is not None:
        out.print(
            f"files in {folder}: SUBSCRIBER-N-KIND .eml (opens in a mail client), .html, .txt",
            markup=False,
            highlight=False,
        )


@alerts_app.command("send")
def send_cmd(
    mode: ModeOpt = "scheduled",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Plan new alerts, send what is due (email + webhooks), regenerate the Atom feeds.

    Exit status: 0 all due alerts delivered; 3 some are held for a retry (the next run retries
    them); 1 an alert was refused for good or given up, or the mail server is misconfigured.
    """
    from rich.markup import escape

    from pipeline.airflow.connections import smtp_mailer
    from pipeline.alerts import run_alerts

    # NEWSMON_SMTP_URL, else Airflow's smtp_default (e.g. AIRFLOW_CONN_SMTP_DEFAULT), as the DAG.
    report = run_alerts(mode=_check_mode(mode), mailer_factory=smtp_mailer)
    code = SEND_EXIT[report.delivery]
    if as_json:
        out.print_json(json.dumps({**report.as_dict(), "delivery": report.delivery}, default=str))
        if code:
            raise typer.Exit(code)
        return
    planned = report.planned
    out.print(
        f"planned {planned.get('created', 0)} new alerts "
        f"({planned.get('caught_up', 0)} caught up, {planned.get('suppressed', 0)} suppressed, "
        f"{planned.get('muted', 0)} muted); "
        f"emails sent {report.emails_sent} ({report.alerts_sent} alerts), "
        f"webhooks {report.webhooks_sent}, feeds {report.feeds}, still pending {report.pending}, "
        f"held {report.alerts_held}"
    )
    for subject in report.subjects:
        out.print(f"  sent: {escape(subject)}")
    for warning in report.warnings:
        console.print(f"[yellow]warning[/] {escape(warning)}")
    for error in report.errors:
        console.print(f"[red]failed[/] {escape(error)}")
    if code:
        console.print(f"[red]not delivered[/] {escape(report.problem())}")
        raise typer.Exit(code)


# From this width on, `alerts list` adds the planned time, the attempts and the error columns.
WIDE = 120


def _when(moment: datetime) -> str:
    """A ledger time for a narrow column, in NEWSMON_TIMEZONE: "05 Dec 08:00"."""
    from pipeline.config.settings import get_settings

    return f"{moment.astimezone(get_settings().tz):%d %b %H:%M}"


def digest_due(sub: Subscriber, planned_at: datetime) -> datetime:
    """When a digest row planned at ``planned_at`` goes out: the next digest hour after it."""
    from pipeline.alerts.send import digest_boundary

    last = digest_boundary(sub, planned_at)  # the digest hour at or before planning
    return datetime.combine(last.date() + timedelta(days=1), last.timetz())


def _status_time(row: Alert, subs: SubscriberSet | None) -> str:
    """What a row is waiting for, or when it went: "due 05 Dec 08:00", "next run", a time."""
    if row.sent_at is not None:
        return _when(row.sent_at)
    if row.status not in {"pending", "held"}:
        return ""
    if row.status == "held":
        return "retry next run"
    if row.channel == "webhook" or row.delivery == "instant":
        return "next run"
    sub = subs.get(row.subscriber) if subs is not None else None
    if sub is None:
        return "not subscribed" if subs is not None else "at digest hour"
    return f"due {_when(digest_due(sub, row.planned_at))}"


def _kind(row: Alert) -> str:
    """How the row is delivered: instant, digest, caught up (in a digest) or webhook."""
    if row.channel == "webhook":
        return "webhook"
    return "caught up" if row.caught_up else row.delivery


@alerts_app.command("list")
def list_cmd(
    status: Annotated[
        str | None, typer.Option(help="pending, held, sent, failed, suppressed, muted or merged.")
    ] = None,
    subscriber: Annotated[str | None, typer.Option(help="Only this subscription id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_ROWS, help="Newest rows shown.")] = 50,
) -> None:
    """Show the alert ledger, newest first, with counts per status and when queued ones are due."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table
    from sqlalchemy import func, select

    from pipeline.alerts import load_subscribers
    from pipeline.errors import NewsmonError
    from pipeline.store.db import session_scope
    from pipeline.store.models import ALERT_STATUSES, Alert

    if status is not None and status not in ALERT_STATUSES:
        raise typer.BadParameter(
            f"{status!r}: expected one of {', '.join(ALERT_STATUSES)}", param_hint="'--status'"
        )
    subs: SubscriberSet | None
    try:
        subs = load_subscribers()
    except NewsmonError as exc:  # the ledger is still worth reading; due times are not known
        console.print(f"[yellow]warning[/] due times unknown: {escape(str(exc))}")
        subs = None
    wide = out.rich.width >= WIDE
    with session_scope() as session:
        counts = dict(
            session.execute(select(Alert.status, func.count(Alert.id)).group_by(Alert.status)).all()
        )
        q = select(Alert).order_by(Alert.id.desc()).limit(limit)
        if status:
            q = q.where(Alert.status == status)
        if subscriber:
            q = q.where(Alert.subscriber == subscriber)
        rows = session.scalars(q).all()
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "empty"
        table = Table(
            title=f"alert ledger: {summary}",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            padding=(0, 1, 0, 0),
        )
        # Ids, kinds, statuses and times keep their width; subscriber and topic give way.
        table.add_column("alert", justify="right", no_wrap=True, min_width=5)
        # Ids have no spaces: wrappable columns are what rich narrows, and "…" ends a long id.
        table.add_column("subscriber", min_width=8, max_width=16, overflow="ellipsis")
        table.add_column("topic", min_width=8, max_width=24, overflow="ellipsis")
        table.add_column("story", justify="right", no_wrap=True, min_width=5)
        table.add_column("kind", no_wrap=True, min_width=9)
        table.add_column(
            "status", no_wrap=True, min_width=max((len(r.status) for r in rows), default=6)
        )
        table.add_column("sent / due", no_wrap=True, min_width=16)
        if wide:
            table.add_column("planned", no_wrap=True)
            table.add_column("tries", justify="right", no_wrap=True)
            table.add_column("error", ratio=1, overflow="fold")
        errors: list[str] = []
        for r in rows:
            cells = [
                str(r.id),
                escape(r.subscriber),
                escape(r.topic_id),
                str(r.cluster_id),
                _kind(r),
                r.status,
                _status_time(r, subs),
            ]
            if wide:
                cells += [_when(r.planned_at), str(r.attempts), escape(r.last_error or "")]
            elif r.last_error:
                errors.append(f"alert {r.id} ({r.attempts} tries): {r.last_error}")
            table.add_row(*cells)
    if not rows:
        out.print(
            f"{table.title}; no rows" + (" match the filters" if status or subscriber else "")
        )
        return
    out.print(table)
    for line in errors:
        out.print(line, markup=False, highlight=False)
    from pipeline.config.settings import get_settings

    out.print(f"times in {get_settings().timezone}", style="dim")


@alerts_app.command("mute")
def mute_cmd(
    cluster: Annotated[int, typer.Argument(help='Story id: N as in "story N" in alerts.')],
    reason: Annotated[str, typer.Option(help="Why (kept in the database).")] = "",
) -> None:
    """Silence a story for every subscriber (a false positive): pending alerts become muted."""
    from pipeline.alerts import mute_cluster
    from pipeline.store.db import session_scope

    with session_scope() as session:
        try:
            n = mute_cluster(session, cluster, reason=reason)
        except LookupError as exc:
            raise typer.BadParameter(str(exc)) from None
    out.print(f"story {cluster} muted; {n} pending alerts will not be sent")
