"""Topic matching quality on our labelled dev set: precision/recall per topic.

Usage: python scripts/eval_topics.py [--devset FILE] [--topics FILE] [--errors]
Exits 1 when any default topic is below the goal (0.95 precision and recall).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.topics import Matcher, load_topics
from pipeline.topics.evaluation import GOAL, evaluate, read_devset

ROOT = Path(__file__).resolve().parent.parent
DEVSET = ROOT / "tests" / "fixtures" / "topics" / "devset.jsonl"
TOPICS = ROOT / "seeds" / "topics.yaml"


def main() -> int:
    """Print the table; return the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devset", type=Path, default=DEVSET)
    ap.add_argument("--topics", type=Path, default=TOPICS)
    ap.add_argument("--errors", action="store_true", help="list the ids of wrong examples")
    args = ap.parse_args()
    rows = read_devset(args.devset)
    matcher = Matcher(load_topics(args.topics), args.topics)
    scores = evaluate(matcher, rows)
    langs = sorted({str(r.get("language")) for r in rows})
    negatives = sum(1 for r in rows if not r["topics"])
    print(f"topic dev set: {len(rows)} texts ({', '.join(langs)}), {negatives} with no topic")
    print(f"{'topic':24} {'pos':>4} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}")
    failed = False
    for tid, s in scores.items():
        ok = s.precision >= GOAL and s.recall >= GOAL
        failed |= not ok
        print(
            f"{tid:24} {s.tp + s.fn:4d} {s.tp:4d} {s.fp:4d} {s.fn:4d} "
            f"{s.precision:9.3f} {s.recall:7.3f}{'' if ok else '  BELOW GOAL'}"
        )
        if args.errors and (s.false_positives or s.false_negatives):
            print(f"    false positives: {', '.join(s.false_positives) or '-'}")
            print(f"    false negatives: {', '.join(s.false_negatives) or '-'}")
    print(f"goal: precision and recall >= {GOAL} for every topic: {'FAIL' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
