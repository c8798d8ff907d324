"""Library errors as Airflow task failures: what is worth retrying and what is not.

The stages raise only newsmon's own errors (``pipeline.errors``). A DAG task wraps its call in
:func:`fail_fast`, so an error that no retry can fix fails the task at once instead of waiting
through minutes of retries, and :func:`fail_if_steps_failed` fails the ``report`` task (and so
the run, which emails the operator) when an earlier step failed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from pipeline.errors import ConfigError, DeliveryError, InputError, NewsmonError, SeedError

# Bad settings, a broken seed file or a bad param stay wrong however often the task runs. Anything
# else (a site that is down, a crawl that failed, a locked database, a mail server away) may pass
# on a retry, so it is left to the task's retries.
# DeliveryError: alerts refused for good or a misconfigured mail server; a retry would only find
# the failed alerts already recorded and pass, hiding the failure.
PERMANENT: tuple[type[NewsmonError], ...] = (
    ConfigError,
    InputError,
    SeedError,
    DeliveryError,
)


@contextmanager
def fail_fast() -> Iterator[None]:
    """Turn a permanent newsmon error into ``AirflowFailException`` (no retries), message kept."""
    try:
        yield
    except PERMANENT as exc:
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc


def fail_if_steps_failed(summary: Mapping[str, Any]) -> None:
    """Fail the task, without retries, when the run summary names failed steps."""
    failed = summary.get("failed") or []
    if failed:
        raise AirflowFailException("failed steps: " + ", ".join(str(f) for f in failed))
