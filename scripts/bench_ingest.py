"""Benchmark: `newsmon ingest` vs plain `trafilatura.extract` on the same pages, whole processes.

Usage: .venv/bin/python scripts/bench_ingest.py [--pages DIR ...] [--repeat N] [--json]

Pages: the HTML of ../shared/corpus/extraction-gold and extraction-snippets (third-party pages,
read in place, never copied into the repo), else our own fixture pages. One run measures, each
command as a fresh process (interpreter start-up and imports included):

* plain: ``trafilatura.extract(html, include_comments=False, include_tables=True)`` on every page;
* ``newsmon ingest --workers 1`` on the same pages into a fresh SQLite database;
* ``newsmon ingest --workers 2`` likewise;
* ``newsmon extract`` on the same pages: the cleaning step alone (trafilatura plus the
  publication date, language and metadata newsmon stores), no database, dedup or topics. It is
  the floor under the ingest ratio: ingest can be no faster than its own cleaning.

The newsmon commands share one cache folder (``NEWSMON_CACHE_DIR``), filled once before the
rounds, as a user's var dir is after the first command: the language model is read from it
uncompressed. The four alternate within each of ``--repeat`` rounds (so a change in the machine's
load hits all of them) and the median wall time of each is kept. Reported: ingest/plain (the goal
is <= 1.3), extract/plain (its floor) and the speed-up of 2 workers over 1, with the load
average before and after and the CPU time of each process (user + system, which other processes'
load distorts less than wall time; with 2 workers it adds up the workers' CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CORPUS = ROOT.parent / "shared" / "corpus"
CORPUS_DIRS = ("extraction-gold/html", "extraction-snippets/html")
SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")
GOAL_RATIO = 1.3
# The same pages, the same settings, nothing else: what a user of trafilatura alone would run.
PLAIN = """
import gzip, sys, trafilatura
from pathlib import Path
for folder in sys.argv[1:]:
    for name in sorted(Path(folder).iterdir()):
        data = name.read_bytes()
        if name.name.endswith('.gz'):
            data = gzip.decompress(data)
        trafilatura.extract(data, include_comments=False, include_tables=True)
"""


@dataclass
class Timings:
    """Wall and CPU seconds of one command over the rounds."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        """Keep one round's times."""
        self.wall.append(wall)
        self.cpu.append(cpu)

    @property
    def median(self) -> float:
        """Median wall time."""
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        """Median CPU time."""
        return statistics.median(self.cpu)


def page_dirs(given: list[Path] | None) -> list[Path]:
    """Folders holding the benchmark pages: the given ones, the corpus, else our fixtures."""
    if given:
        return given
    found = [CORPUS / sub for sub in CORPUS_DIRS if (CORPUS / sub).is_dir()]
    return found or [ROOT / "tests" / "fixtures" / "pages"]


def count_pages(dirs: list[Path]) -> int:
    """HTML files in the folders (what both commands read)."""
    return sum(1 for d in dirs for p in d.iterdir() if p.name.endswith(SUFFIXES))


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system, children included) and stdout of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, check=True, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def ingest(
    workers: int, dirs: list[Path], tmp: Path, env: dict[str, str], pages: int
) -> tuple[float, float, dict[str, int]]:
    """One ``newsmon ingest`` into a fresh database; checks that every page was handled."""
    var = Path(tempfile.mkdtemp(prefix=f"w{workers}-", dir=tmp))
    cmd = [str(BIN / "newsmon"), "ingest", "--workers", str(workers), "--json", *map(str, dirs)]
    wall, cpu, out = timed(cmd, {**env, "NEWSMON_VAR_DIR": str(var)})
    report = json.loads(out)
    if report.get("pages") != pages:
        raise SystemExit(f"ingest handled {report.get('pages')} of {pages} pages: {report}")
    return wall, cpu, dict(report["outcomes"])


def load() -> str:
    """The 1/5/15-minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    """Run the rounds and print the table rows BENCHMARKS.md records."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=Path, action="append", help="folder of pages (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (median kept); default 3")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    dirs = page_dirs(args.pages)
    pages = count_pages(dirs)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env["NEWSMON_MODE"] = "test"
    runs = {name: Timings() for name in ("plain", "extract", "workers1", "workers2")}
    outcomes: dict[str, int] = {}
    load_before = load()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env["NEWSMON_CACHE_DIR"] = str(tmp / "cache")
        warm = "from pipeline.clean.lang import guess_language; guess_language('warm')"
        subprocess.run([str(BIN / "python"), "-c", warm], check=True, env=env)
        for _ in range(args.repeat):
            wall, cpu, _out = timed([str(BIN / "python"), "-c", PLAIN, *map(str, dirs)], env)
            runs["plain"].add(wall, cpu)
            # extract writes nothing; its own var dir keeps the user's untouched all the same
            extract_env = {**env, "NEWSMON_VAR_DIR": str(tmp / "extract-var")}
            wall, cpu, _out = timed([str(BIN / "newsmon"), "extract", *map(str, dirs)], extract_env)
            runs["extract"].add(wall, cpu)
            for workers in (1, 2):
                wall, cpu, outcomes = ingest(workers, dirs, tmp, env, pages)
                runs[f"workers{workers}"].add(wall, cpu)
    ratio = runs["workers1"].median / runs["plain"].median
    speedup = runs["workers1"].median / runs["workers2"].median
    result = {
        "started": started,
        "machine": f"{platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores",
        "load_before": load_before,
        "load_after": load(),
        "pages": pages,
        "repeat": args.repeat,
        "outcomes": outcomes,
        "wall_s": {k: [round(x, 2) for x in t.wall] for k, t in runs.items()},
        "median_wall_s": {k: round(t.median, 2) for k, t in runs.items()},
        "median_cpu_s": {k: round(t.median_cpu, 2) for k, t in runs.items()},
        "ratio_ingest_plain": round(ratio, 2),
        "ratio_extract_plain": round(runs["extract"].median / runs["plain"].median, 2),
        "ratio_ingest_plain_cpu": round(runs["workers1"].median_cpu / runs["plain"].median_cpu, 2),
        "speedup_2_workers": round(speedup, 2),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{started}; {result['machine']}; load average before {load_before}, after {load()}")
    print(f"{pages} pages, median of {args.repeat} rounds; ingest outcomes {outcomes}")
    print("| command | wall s (median) | pages/s | CPU s (median) |")
    print("| --- | ---: | ---: | ---: |")
    labels = {
        "plain": "plain `trafilatura.extract`",
        "extract": "`newsmon extract` (cleaning only)",
        "workers1": "`newsmon ingest --workers 1`",
        "workers2": "`newsmon ingest --workers 2`",
    }
    for key, label in labels.items():
        t = runs[key]
        print(f"| {label} | {t.median:.2f} | {pages / t.median:.1f} | {t.median_cpu:.2f} |")
    verdict = "met" if ratio <= GOAL_RATIO else "not met"
    cpu_ratio = result["ratio_ingest_plain_cpu"]
    print(f"ratio ingest --workers 1 / plain: {ratio:.2f} (goal <= {GOAL_RATIO}: {verdict})")
    print(f"CPU ratio: {cpu_ratio:.2f}")
    print(f"floor: newsmon extract / plain: {result['ratio_extract_plain']:.2f}")
    print(f"speed-up --workers 2 over --workers 1: {speedup:.2f}")
    print(f"all wall times: {result['wall_s']}")


if __name__ == "__main__":
    main()
