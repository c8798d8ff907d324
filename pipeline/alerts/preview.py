"""``newsmon alerts preview``: render what would be sent into files; send and change nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from pipeline.alerts.ledger import plan_alerts, refresh_clusters
from pipeline.alerts.send import compose, due_rows, group_rows, is_due
from pipeline.alerts.subscribers import SubscriberSet
from pipeline.alerts.webhook import build_payload
from pipeline.config.settings import get_settings
from pipeline.store.db import session_scope
from pipeline.store.models import utcnow


@dataclass(frozen=True)
class PreviewItem:
    """One message that would go out."""

    subscriber: str
    kind: str  # instant | digest | webhook
    subject: str
    due: bool
    alerts: int
    files: tuple[Path, ...]


def preview(
    subs: SubscriberSet,
    *,
    subscriber: str | None = None,
    out_dir: Path | None = None,
    mode: str = "scheduled",
    now: datetime | None = None,
    url: str | None = None,
) -> list[PreviewItem]:
    """Plan and render every pending message (due or not) into ``out_dir``; roll everything back."""
    now = now or utcnow()
    out = out_dir or get_settings().var_dir / "alerts" / "preview"
    out.mkdir(parents=True, exist_ok=True)
    items: list[PreviewItem] = []
    numbers: dict[str, int] = {}
    with session_scope(url) as session:
        plan_alerts(session, subs, run_mode=mode, now=now)
        for channel in ("email", "webhook"):
            rows, _ = due_rows(session, subs, channel, now, due_only=False)
            if subscriber:
                rows = [r for r in rows if r.subscriber == subscriber]
            refresh_clusters(session, [r.id for r in rows])
            session.expire_all()
            for group in group_rows(rows, subs, now):
                sub = group.subscriber
                numbers[sub.id] = n = numbers.get(sub.id, 0) + 1
                due = all(is_due(r, sub, now) for r in group.rows)
                stem = out / f"{sub.id}-{n:03d}-{group.kind}"
                files: list[Path] = []
                subject = ""
                if channel == "email":
                    msg = compose(session, group, now, get_settings().mail_from)
                    if msg is None:
                        continue
                    subject = str(msg["Subject"])
                    for ext, body in (
                        (".eml", msg.as_bytes()),
                        (".txt", _part(msg, "plain").encode()),
                        (".html", _part(msg, "html").encode()),
                    ):
                        path = stem.with_suffix(ext)
                        path.write_bytes(body)
                        files.append(path)
                else:
                    payload = build_payload(session, group, now)
                    if payload is None:
                        continue
                    subject = f"POST {sub.webhook}"
                    path = stem.with_suffix(".json")
                    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
                    files.append(path)
                items.append(
                    PreviewItem(sub.id, group.kind, subject, due, len(group.rows), tuple(files))
                )
        session.rollback()
    return items


def _part(msg: EmailMessage, subtype: str) -> str:
    """The decoded text of one alternative part."""
    body = msg.get_body(preferencelist=(subtype,))
    return body.get_content() if body is not None else ""
