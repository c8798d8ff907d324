"""Benchmark: `newsmon ingest` vs plain `trafilatura.extract` on the same pages, whole processes.

Usage: .venv/bin/python scripts/bench_ingest.py [--pages DIR]
Pages: ../shared/corpus/*/html when present (third-party pages, read in place, never
copied into the repo), else our own fixture pages. Both commands run in this one invocation,
one after the other, each as a fresh process on a fresh SQLite database; the ratio is what
BENCHMARKS.md records.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PLAIN = """
import gzip, sys, trafilatura
from pathlib import Path
for name in sorted(Path(sys.argv[1]).iterdir()):
    data = name.read_bytes()
    if name.name.endswith('.gz'):
        data = gzip.decompress(data)
    trafilatura.extract(data, include_comments=False, include_tables=True)
"""


def collect(pages_dir: Path | None, into: Path) -> int:
    """Copy the benchmark pages into one flat temp folder; return their count."""
    sources: list[Path] = []
    if pages_dir:
        sources = sorted(pages_dir.iterdir())
    else:
        corpus = ROOT.parent / "shared" / "corpus"
        for sub in ("extraction-gold/html", "extraction-snippets/html"):
            if (corpus / sub).is_dir():
                sources += sorted((corpus / sub).iterdir())
        if not sources:
            sources = sorted((ROOT / "tests" / "fixtures").rglob("*.html"))
    for i, path in enumerate(sources):
        shutil.copy(path, into / f"{i:05d}_{path.name}")
    return len(sources)


def timed(cmd: list[str], env: dict[str, str]) -> float:
    """Wall time of one process."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    """Run both and print a markdown row."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pages = Path(tmp) / "pages"
        pages.mkdir()
        n = collect(args.pages, pages)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
        env.update(NEWSMON_VAR_DIR=str(Path(tmp) / "var"), NEWSMON_MODE="test")
        plain = timed([str(BIN / "python"), "-c", PLAIN, str(pages)], env)
        ours = timed([str(BIN / "newsmon"), "ingest", str(pages)], env)
    ratio = ours / plain
    print(f"pages: {n}")
    print(f"plain trafilatura.extract: {plain:.2f} s  ({n / plain:.1f} pages/s)")
    print(f"newsmon ingest:            {ours:.2f} s  ({n / ours:.1f} pages/s)")
    print(f"ratio ingest/trafilatura:  {ratio:.2f}  (goal <= 1.3)")


if __name__ == "__main__":
    main()
