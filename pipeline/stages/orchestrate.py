"""What the Airflow tasks do: one function per task, plain arguments in, ids and counts out.

The DAG files in ``dags/`` only translate Airflow's context (run type, data interval, params)
into these calls, so everything here is testable without Airflow and the DAG files stay cheap to
parse. Return values go through XCom, so they hold ids, names and counts — never documents.
Heavy modules (Scrapy, trafilatura, the ORM) are imported inside the functions for the same
reason: the DAG processor imports ``dags/`` every few seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from pipeline.errors import CrawlFailed, InputError
from pipeline.text.window import parse_moment

if TYPE_CHECKING:
    from pipeline.alerts.smtp import Mailer

log = logging.getLogger(__name__)

BACKFILL = "backfill"
# Alert modes the alerting stage understands (pipeline.alerts.ledger.RUN_MODES).
ALERT_MODES = ("scheduled", "backfill", "reprocess", "digest", "instant", "none")
# What the operator may choose when triggering a run by hand ("auto" follows the run type).
NEWS_MONITOR_ALERT_CHOICES = ("auto", "scheduled", "backfill", "digest", "instant", "none")
# topic_reprocess: "digest" is the alerting rule for re-matching (a "caught up" digest section).
REPROCESS_ALERT_CHOICES = ("digest", "none", "instant")


def _run_type(value: object) -> str:
    """Airflow's DagRunType (an enum) or its string value, as the plain string."""
    return str(getattr(value, "value", value) or "manual")


def _aware(
    value: object, tz: tzinfo = UTC, *, end: bool = False, name: str = ""
) -> datetime | None:
    """A param or data-interval bound (pendulum, stdlib, ISO text) as aware UTC; None stays None.

    Days and naive times are read in ``tz`` (pipeline.text.window holds the rule).
    """
    if value is not None and not isinstance(value, str | date):
        raise InputError(f"{name or 'bound'} {value!r}: expected a date or timestamp")
    return parse_moment(value, tz, end=end, name=name)


def _iso(value: datetime | None) -> str | None:
    """ISO text for XCom and the runs table."""
    return value.isoformat() if value else None


# ---------------------------------------------------------------- news_monitor


def source_names(selected: Iterable[str] | None = None) -> list[str]:
    """Names of the enabled sources (the crawl task is mapped over them), optionally a subset."""
    from pipeline.config.sources import load_sources

    configured = [s for s in load_sources().sources if s.crawl.enabled]
    names = [s.name for s in configured]
    wanted = [n for n in (selected or []) if n]
    if not wanted:
        return names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise InputError(
            f"unknown or disabled source(s) {', '.join(unknown)}; enabled: {', '.join(names)}"
        )
    return [n for n in names if n in wanted]


def crawl_window(
    run_type: object, start: object, end: object
) -> tuple[datetime | None, datetime | None]:
    """The window a run crawls: a backfill exactly its data interval; any other run ``None``.

    ``None`` means "since each source's own last successful crawl", so a day the scheduler
    missed is caught up by the next run without one run per missed day.
    """
    if _run_type(run_type) != BACKFILL:
        return None, None
    since, until = _aware(start), _aware(end)
    if since is None or until is None or until <= since:
        raise InputError(
            f"a backfill run needs a data interval (got {start!r} .. {end!r}); the DAG's "
            "timetable must be CronDataIntervalTimetable"
        )
    return since, until


def crawl_source(
    source: str,
    *,
    run_type: object = "scheduled",
    data_interval_start: object = None,
    data_interval_end: object = None,
) -> dict[str, Any]:
    """Crawl one source (a ``scrapy crawl`` subprocess) for the run's window; counts for XCom."""
    from pipeline.config.settings import get_settings
    from pipeline.stages.crawl import run_crawl

    since, until = crawl_window(run_type, data_interval_start, data_interval_end)
    # Only production crawls the real web; demo and test modes crawl the loopback replica,
    # where per-site delays (up to 5 s a request) would only slow the demo and the tests down.
    polite = get_settings().mode == "production"
    result = run_crawl([source], since, until, polite=polite)
    outcomes = {str(k): int(v) for k, v in result.counts.get(source, {}).items()}
    summary = {
        "source": source,
        "run_id": result.run_id,
        "since": _iso(since),
        "until": _iso(until),
        "outcomes": outcomes,
        "fetched": sum(outcomes.values()),
    }
    log.info("crawl %s: %s", source, summary)
    if not result.ok:
        logs = ", ".join(str(c.log_path) for c in result.crawls if c.returncode != 0)
        codes = ", ".join(str(c.returncode) for c in result.crawls)
        raise CrawlFailed(f"crawl of {source} failed (exit {codes}); Scrapy log: {logs}")
    return summary


def process(*, kind: str = "process", workers: int | None = None) -> dict[str, Any]:
    """Clean, deduplicate and match every recorded page not processed yet (from any run).

    The one process stage (``newsmon process``): extraction on ``workers`` processes (default
    NEWSMON_PROCESS_WORKERS, else all cores), storing in recording order; each page's window is
    the one its crawl recorded.
    """
    from pipeline.stages.runner import run_pending

    report = run_pending(kind=kind, workers=workers)
    summary = {
        "run_id": report.run_id,
        "pages": report.total,
        "outcomes": dict(report.outcomes),
        "documents": len(report.documents),
    }
    log.info("process: %s", summary)
    return summary


def alert_mode_for(run_type: object, requested: str | None = "auto") -> str:
    """The alert mode of a run: as requested, or by run type (backfills wait for the digest)."""
    requested = requested or "auto"
    if requested not in NEWS_MONITOR_ALERT_CHOICES:
        raise InputError(
            f"alert mode {requested!r}: expected one of {', '.join(NEWS_MONITOR_ALERT_CHOICES)}"
        )
    if requested != "auto":
        return requested
    return BACKFILL if _run_type(run_type) == BACKFILL else "scheduled"


def _alert_counts(result: object) -> dict[str, Any]:
    """Counts from ``run_alerts``'s report (dataclass, mapping or object with counters)."""
    if isinstance(result, Mapping):
        data = dict(result)
    elif hasattr(result, "__dataclass_fields__"):
        from dataclasses import asdict

        data = asdict(result)  # type: ignore[call-overload]
    else:
        data = {k: v for k, v in vars(result).items() if not k.startswith("_")}
    # XCom carries ids and counts only: drop subjects, addresses, message bodies.
    return {
        k: v
        for k, v in data.items()
        if isinstance(v, int | float | bool)
        or v is None
        or (isinstance(v, dict) and all(isinstance(x, int) for x in v.values()))
    }


def alert(
    *,
    mode: str,
    now: datetime | None = None,
    mailer_factory: Callable[[], Mailer] | None = None,
) -> dict[str, Any]:
    """Send what is due under ``mode`` (pipeline.alerts); counts for XCom.

    ``mailer_factory`` opens the mail server the caller resolved (the DAG task: NEWSMON_SMTP_URL
    or Airflow's ``smtp_default``); None means NEWSMON_SMTP_URL only. Alerts held for a retry
    are a warning (the next run retries them; ``alerts_held`` in the counts); an alert refused for
    good or given up, or a misconfigured mail server, raises :class:`DeliveryError`.
    """
    from pipeline.alerts import run_alerts
    from pipeline.errors import DeliveryError

    if mode not in ALERT_MODES:
        raise InputError(f"alert mode {mode!r}: expected one of {', '.join(ALERT_MODES)}")
    result = run_alerts(mode=mode, now=now, mailer_factory=mailer_factory)
    summary = {"mode": mode, **_alert_counts(result)}
    for notice in result.warnings:
        log.warning("alert: %s", notice)
    if result.delivery == "failed":
        log.error("alert: %s", summary)
        raise DeliveryError(f"alerts not delivered: {result.problem()}")
    if result.delivery == "held":
        log.warning("alert: %s", result.problem())
    log.info("alert: %s", summary)
    return summary


def report(
    *,
    dag_id: str,
    dag_run_id: str,
    run_type: object,
    expected_sources: Iterable[str] | None,
    crawls: Iterable[Mapping[str, Any] | None] | None,
    steps: Mapping[str, Mapping[str, Any] | None],
    data_interval_start: object = None,
    data_interval_end: object = None,
) -> dict[str, Any]:
    """Record the run's summary in the ``runs`` table and the task log; name what failed.

    ``steps`` maps each later step's name (process, alert, ...) to its XCom. A task that failed
    after its retries hands on no XCom, so a missing result means that step failed; the caller
    fails the run with the returned ``failed`` list.
    """
    from pipeline.store.db import session_scope
    from pipeline.store.runs import finish_run, start_run

    done = [dict(c) for c in (crawls or []) if c]
    crawled = {c["source"] for c in done}
    # None: the task listing the sources failed (bad sources file), so nothing was crawled.
    failed = ["sources"] if expected_sources is None else []
    failed += [f"crawl:{name}" for name in expected_sources or [] if name not in crawled]
    failed += [name for name, result in steps.items() if result is None]
    summary: dict[str, Any] = {
        "dag_id": dag_id,
        "dag_run_id": dag_run_id,
        "run_type": _run_type(run_type),
        "data_interval": [_iso(_aware(data_interval_start)), _iso(_aware(data_interval_end))],
        "crawl": {
            c["source"]: {
                "run_id": c.get("run_id"),
                "fetched": c.get("fetched", 0),
                "outcomes": c.get("outcomes", {}),
            }
            for c in done
        },
        **{name: dict(result or {}) for name, result in steps.items()},
        "failed": failed,
    }
    with session_scope() as session:
        run_id = start_run(session, "airflow", summary).id
        finish_run(
            session,
            run_id,
            status="failed" if failed else "ok",
            error=("failed: " + ", ".join(failed)) if failed else None,
        )
    summary["run_id"] = run_id
    for line in summary_lines(summary):
        log.info("%s", line)
    return summary


def summary_lines(summary: Mapping[str, Any]) -> list[str]:
    """A readable run summary for the task log."""
    lines = [f"{summary['dag_id']} {summary['dag_run_id']} ({summary['run_type']})"]
    for name, c in sorted(summary.get("crawl", {}).items()):
        text = ", ".join(f"{k} {v}" for k, v in sorted(c["outcomes"].items())) or "nothing"
        lines.append(f"  crawl {name}: {text}")
    skip = {"dag_id", "dag_run_id", "run_type", "data_interval", "crawl", "failed", "run_id"}
    for name, result in summary.items():
        if name in skip or not isinstance(result, Mapping):
            continue
        counts: dict[str, Any] = dict(result.get("outcomes") or {}) or {
            k: v for k, v in result.items() if isinstance(v, int | float) and k != "run_id"
        }
        text = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        lines.append(f"  {name}: {text or 'nothing to do'}")
    if summary.get("failed"):
        lines.append("  FAILED: " + ", ".join(summary["failed"]))
    return lines


# ---------------------------------------------------------------- topic_reprocess


def reprocess_window(since: object, until: object) -> tuple[datetime | None, datetime | None]:
    """Validate the date range of a re-matching run (either end may be open)."""
    from pipeline.config.settings import get_settings

    tz = get_settings().tz
    start = _aware(since, tz, name="since")
    end = _aware(until, tz, end=True, name="until")
    if start and end and end <= start:
        raise InputError(f"date range {since} .. {until} is empty")
    return start, end


def rematch(
    *, topic_ids: Iterable[str] | None = None, since: object = None, until: object = None
) -> dict[str, Any]:
    """Match stored documents published in the range against the topics again; counts."""
    from pipeline.topics import get_matcher
    from pipeline.topics.reprocess import reprocess

    start, end = reprocess_window(since, until)
    ids = [t for t in (topic_ids or []) if t]
    result = reprocess(get_matcher(), ids or None, since=start, until=end)
    summary = {
        "run_id": result.run_id,
        "topics": len(result.topics),
        "documents": result.documents,
        "outcomes": {str(k): int(v) for k, v in result.outcomes.items()},
    }
    log.info("rematch %s..%s: %s", _iso(start), _iso(end), summary)
    return summary


def reprocess_alert_mode(requested: str | None) -> str:
    """The alerting stage's mode for a re-matching run (default: the next digest)."""
    requested = requested or "digest"
    if requested not in REPROCESS_ALERT_CHOICES:
        raise InputError(
            f"alert mode {requested!r}: expected one of {', '.join(REPROCESS_ALERT_CHOICES)}"
        )
    # "reprocess" is the alerting stage's name for "into the next digest, under caught up".
    return "reprocess" if requested == "digest" else requested
