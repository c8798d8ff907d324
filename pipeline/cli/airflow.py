"""``newsmon airflow`` (Airflow for real) and ``newsmon demo`` (the day under Airflow, offline)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from pipeline.cli import app
from pipeline.cli.common import console, out
from pipeline.config.settings import get_settings


@app.command(
    "airflow",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def airflow_command(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port of the Airflow UI and API server.")] = 8080,
    host: Annotated[
        str, typer.Option(help="Address the UI and API listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    stop: Annotated[
        bool,
        typer.Option("--stop", help="Stop the newsmon airflow started from this checkout."),
    ] = False,
) -> None:
    """Start Airflow with this project's DAGs until Ctrl-C; or run an Airflow command.

    Without arguments: the api-server (UI), scheduler, dag-processor and triggerer run as one
    process group on --host/--port (default 127.0.0.1:8080), with AIRFLOW_HOME var/airflow
    (SQLite metadata DB) and parallelism sized to the machine. Ctrl-C or SIGTERM stops all of
    them; so does `newsmon airflow --stop` from another terminal. Log in as `admin` (the
    password is printed on the first start and kept in
    var/airflow/simple_auth_manager_passwords.json.generated).

    With arguments, runs that `airflow` command in the same environment, e.g.
    `newsmon airflow dags unpause news_monitor` or
    `newsmon airflow backfill create --dag-id news_monitor --from-date ... --to-date ... --dry-run`.
    """
    from pipeline.airflow.launcher import launch, stop_running

    def say(message: str) -> None:
        console.print(message, markup=False, highlight=False, soft_wrap=True)

    if stop:
        if ctx.args:
            raise typer.BadParameter(f"--stop takes no Airflow command (got {' '.join(ctx.args)})")
        raise typer.Exit(stop_running(say=say))
    raise typer.Exit(launch(ctx.args, port=port, host=host, say=say))


@app.command("demo")
def demo(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object (last line).")
    ] = False,
    replica_port: Annotated[
        int, typer.Option(help="Port of the replica sites (part of every stored URL: keep it).")
    ] = 8800,
) -> None:
    """Run the whole day offline: replica sites, Airflow's news_monitor, mail to var/demo/outbox."""
    from rich.table import Table

    from pipeline.devtools.demo import run_demo, summary_lines, with_outlets
    from pipeline.store.db import display_url

    result = run_demo(
        replica_port=replica_port, progress=lambda msg: console.print(f"[dim]{msg}[/dim]")
    )
    s = result.summary
    if as_json:
        sys.stdout.write(json.dumps(s, ensure_ascii=False, sort_keys=True) + "\n")
        return
    database = display_url(get_settings().database_url)  # never print its password
    out.print(f"\n[bold]newsmon demo[/bold] — database {database}")
    out.print(f"Airflow run {result.dag_run.run_id}: {result.dag_run.state}")

    sources = Table(title="this run, per source")
    for col in ("source", "fetched", "new", "duplicates", "other"):
        sources.add_column(col, justify="left" if col in {"source", "other"} else "right")
    for line in result.sources:
        other = ", ".join(f"{k} {v}" for k, v in sorted(line.other.items()))
        sources.add_row(line.name, str(line.fetched), str(line.new), str(line.duplicates), other)
    out.print(sources)

    topics = Table(title="stories per topic (all stored)")
    topics.add_column("topic")
    topics.add_column("stories", justify="right")
    for topic, n in sorted(s["matches"].items()):
        topics.add_row(topic, str(n))
    out.print(topics)

    shown = with_outlets(result.stories)
    table = Table(title=f"stories (origin first) — {len(shown)} of {s['stories']}")
    for col in ("story", "title", "languages", "outlets", "topics"):
        table.add_column(col)
    for st in shown:
        table.add_row(
            str(st.cluster_id),
            st.title[:70],
            " · ".join(st.languages),
            ", ".join(st.outlets),
            ", ".join(st.topics),
        )
    out.print(table)

    out.print(
        f"stored: {s['documents']} documents in {s['stories']} stories "
        f"({s['duplicates']} folded into another's story); new this run: {s['new_documents']}"
    )
    # Each email (subscriber, instant or digest, stories), what is queued until when, where to look.
    for text in summary_lines(result):
        out.print(text, markup=False, highlight=False, soft_wrap=True)
    if not s["new_documents"]:
        out.print("nothing new stored: everything was already stored by an earlier run")
