"""``newsmon alerts``: preview, send, list and mute alerts (email, webhooks, Atom feeds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import app
from pipeline.cli.common import MAX_ROWS, console, out, sub_app

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
    table = Table(title=f"{len(items)} messages would be sent (nothing was sent)")
    for col in ("subscriber", "kind", "alerts", "due now", "subject", "file"):
        table.add_column(col)
    for item in items:
        table.add_row(
            item.subscriber,
            item.kind,
            str(item.alerts),
            "yes" if item.due else "at digest hour",
            escape(item.subject),
            str(item.files[-1]) if item.files else "",
        )
    out.print(table)


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


@alerts_app.command("list")
def list_cmd(
    status: Annotated[
        str | None, typer.Option(help="pending, held, sent, failed, suppressed, muted or merged.")
    ] = None,
    subscriber: Annotated[str | None, typer.Option(help="Only this subscription id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_ROWS, help="Newest rows shown.")] = 50,
) -> None:
    """Show the alert ledger, newest first, with counts per status."""
    from rich.markup import escape
    from rich.table import Table
    from sqlalchemy import func, select

    from pipeline.store.db import session_scope
    from pipeline.store.models import ALERT_STATUSES, Alert

    if status is not None and status not in ALERT_STATUSES:
        raise typer.BadParameter(
            f"{status!r}: expected one of {', '.join(ALERT_STATUSES)}", param_hint="'--status'"
        )
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
        table = Table(title=f"alert ledger: {summary}")
        for col in ("id", "subscriber", "topic", "story", "channel", "status", "delivery"):
            table.add_column(col)
        for col in ("tries", "planned", "sent", "error"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                str(r.id),
                r.subscriber,
                r.topic_id,
                str(r.cluster_id),
                r.channel,
                r.status,
                r.delivery + (" (caught up)" if r.caught_up else ""),
                str(r.attempts),
                f"{r.planned_at:%Y-%m-%d %H:%M}",
                f"{r.sent_at:%Y-%m-%d %H:%M}" if r.sent_at else "",
                escape((r.last_error or "")[:60]),
            )
    out.print(table)


@alerts_app.command("mute")
def mute_cmd(
    cluster: Annotated[int, typer.Argument(help="Story (cluster) id, as shown in alerts (#N).")],
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
