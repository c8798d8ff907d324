#!/usr/bin/env python
"""Extraction quality of newsmon vs. plain trafilatura on the shared corpora (``make eval``).

Reads ``<project root>/../shared/corpus`` at run time (never copied into the repo) and
runs both extractors on the same pages in the same process:

* newsmon: ``pipeline.clean.extract(url, html_bytes).text`` (the stored article text);
* plain trafilatura: ``trafilatura.extract(html_bytes, include_comments=False,
  include_tables=True)``.

Metrics (defined in ../shared/README.md):

* extraction-snippets: output and snippets are whitespace-normalised; TP = a ``with``
  snippet found as a substring, FN = a ``with`` snippet missing, FP = a ``without``
  snippet found; summed over pages; F1 = 2TP / (2TP + FP + FN).
* extraction-gold: token 4-gram shingle sets (tokens = whitespace-separated words,
  case kept) of the gold ``body_text`` vs. the extracted text (the title is stored
  separately in both systems, so it is compared on neither side); per-page precision
  = shared / output shingles (0 for empty output), recall = shared / gold shingles;
  both averaged over pages, F1 from the two averages.

Exits 1 if newsmon's F1 is more than 0.005 below trafilatura's on either corpus, 0 when
the corpus is absent (a fresh clone without ../shared).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import trafilatura

from pipeline.clean import extract
from pipeline.errors import ExtractionError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = PROJECT_ROOT.parent / "shared" / "corpus"
# The quality gate from issue 2: newsmon may not lose more than this much F1.
MAX_F1_LOSS = 0.005
SHINGLE = 4
WARM_UP = 5

Extractor = Callable[[str, bytes], str]


@dataclass(frozen=True)
class Page:
    """One evaluation page: where it came from, its bytes and its expectations."""

    name: str
    url: str
    html: bytes
    with_: tuple[str, ...] = ()
    without: tuple[str, ...] = ()
    gold: str = ""


@dataclass
class Score:
    """Accumulated metric parts for one system on one corpus."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    precisions: list[float] = field(default_factory=list)
    recalls: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def prf_counts(self) -> tuple[float, float, float]:
        """Precision, recall, F1 from TP/FP/FN counts (snippets corpus)."""
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        denominator = 2 * self.tp + self.fp + self.fn
        return precision, recall, (2 * self.tp / denominator if denominator else 0.0)

    def prf_average(self) -> tuple[float, float, float]:
        """Averaged per-page precision and recall, F1 of the averages (gold corpus)."""
        n = len(self.precisions) or 1
        precision, recall = sum(self.precisions) / n, sum(self.recalls) / n
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1


def squash(text: str) -> str:
    """Whitespace normalisation shared by outputs and expectations."""
    return " ".join(text.split())


def shingles(text: str) -> set[tuple[str, ...]]:
    """Token 4-gram shingles; a text shorter than 4 tokens is one shingle."""
    tokens = text.split()
    if len(tokens) < SHINGLE:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)}


def load_snippets(corpus: Path) -> list[Page]:
    """Pages and snippets of extraction-snippets (evaldata.json + html/<file>.gz)."""
    folder = corpus / "extraction-snippets"
    data = json.loads((folder / "evaldata.json").read_text(encoding="utf-8"))
    return [
        Page(
            name=entry["file"],
            url=url,
            html=gzip.decompress((folder / "html" / f"{entry['file']}.gz").read_bytes()),
            with_=tuple(entry.get("with") or ()),
            without=tuple(entry.get("without") or ()),
        )
        for url, entry in data.items()
    ]


def load_gold(corpus: Path) -> list[Page]:
    """Pages and gold bodies of extraction-gold (manifest.jsonl + html/*.html.gz)."""
    folder = corpus / "extraction-gold"
    pages = []
    for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        html = gzip.decompress((folder / entry["html_file"]).read_bytes())
        pages.append(
            Page(name=entry["html_file"], url=entry["url"], html=html, gold=entry["body_text"])
        )
    return pages


METHODS: Counter[str] = Counter()


def newsmon_text(url: str, html: bytes) -> str:
    """newsmon's stored text for a page ("" when it rejects the page); counts methods."""
    try:
        article = extract(url, html)
    except ExtractionError:
        METHODS["error"] += 1
        return ""
    METHODS[article.method] += 1
    return article.text


def trafilatura_text(url: str, html: bytes) -> str:
    """Plain trafilatura with comments off and tables on (the baseline of the gate)."""
    del url  # the reference call is the plain one, without URL
    return trafilatura.extract(html, include_comments=False, include_tables=True) or ""


def score_snippets(score: Score, page: Page, output: str) -> None:
    """Add one page's snippet TP/FP/FN."""
    text = squash(output)
    for snippet in page.with_:
        if squash(snippet) in text:
            score.tp += 1
        else:
            score.fn += 1
    score.fp += sum(1 for snippet in page.without if squash(snippet) in text)


def score_gold(score: Score, page: Page, output: str) -> None:
    """Add one page's shingle precision and recall."""
    gold, got = shingles(page.gold), shingles(output)
    if not gold:
        return
    shared = len(gold & got)
    score.precisions.append(shared / len(got) if got else 0.0)
    score.recalls.append(shared / len(gold))


def run(
    pages: Sequence[Page], systems: dict[str, Extractor], scorer: Callable[[Score, Page, str], None]
) -> tuple[dict[str, Score], dict[str, dict[str, str]]]:
    """Run every system on every page; systems alternate page by page so that load
    from other processes on the machine affects both timings alike."""
    scores = {name: Score() for name in systems}
    outputs: dict[str, dict[str, str]] = {name: {} for name in systems}
    for page in pages:
        for name, system in systems.items():
            started = time.perf_counter()
            outputs[name][page.name] = system(page.url, page.html)
            scores[name].seconds += time.perf_counter() - started
            scorer(scores[name], page, outputs[name][page.name])
    return scores, outputs


def report(corpus: str, scores: dict[str, Score], *, averaged: bool, pages: int) -> float:
    """Print one corpus's table; return newsmon's F1 minus trafilatura's."""
    print(f"\n{corpus} ({pages} pages)")
    print(f"  {'system':<12} {'precision':>9} {'recall':>9} {'F1':>9} {'seconds':>9}")
    f1s = {}
    for name, score in scores.items():
        precision, recall, f1 = score.prf_average() if averaged else score.prf_counts()
        f1s[name] = f1
        print(f"  {name:<12} {precision:9.4f} {recall:9.4f} {f1:9.4f} {score.seconds:9.2f}")
    if not averaged:
        for name, score in scores.items():
            print(f"  {name:<12} TP={score.tp} FP={score.fp} FN={score.fn}")
    delta = f1s["newsmon"] - f1s["trafilatura"]
    ratio = scores["newsmon"].seconds / max(scores["trafilatura"].seconds, 1e-9)
    print(f"  newsmon - trafilatura F1: {delta:+.4f}; time ratio newsmon/trafilatura: {ratio:.2f}")
    return delta


def show_differences(pages: Sequence[Page], outputs: dict[str, dict[str, str]]) -> None:
    """List pages where the two systems' normalised outputs differ (for tuning)."""
    for page in pages:
        ours, theirs = outputs["newsmon"][page.name], outputs["trafilatura"][page.name]
        if squash(ours) != squash(theirs):
            print(f"    differs: {page.name} ({len(ours)} vs {len(theirs)} chars)")


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate both corpora; exit code 1 when newsmon loses more than the allowed F1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder")
    parser.add_argument("--diff", action="store_true", help="list pages where outputs differ")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"eval: {args.corpus} not found; nothing to evaluate (this is fine on a fresh clone)")
        return 0
    logging.disable(logging.WARNING)  # trafilatura logs every discarded page
    systems: dict[str, Extractor] = {"newsmon": newsmon_text, "trafilatura": trafilatura_text}
    # Warm both up (imports, lazy models: py3langid ~0.7 s, dateparser's month tables)
    # so that the printed timings compare steady-state extraction, not process start.
    warm = load_gold(args.corpus)[:WARM_UP] + load_snippets(args.corpus)[:WARM_UP]
    run(warm, systems, lambda _s, _p, _o: None)
    failed = False
    for corpus, loader, scorer, averaged in (
        ("extraction-snippets", load_snippets, score_snippets, False),
        ("extraction-gold", load_gold, score_gold, True),
    ):
        pages = loader(args.corpus)
        METHODS.clear()
        scores, outputs = run(pages, systems, scorer)
        delta = report(corpus, scores, averaged=averaged, pages=len(pages))
        print(f"  newsmon methods: {dict(METHODS)}")
        if args.diff:
            show_differences(pages, outputs)
        if delta < -MAX_F1_LOSS:
            print(f"  FAIL: newsmon is more than {MAX_F1_LOSS} F1 below trafilatura on {corpus}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
