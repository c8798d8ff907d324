"""Generate realistic synthetic news documents (see pipeline/devtools/synthetic.py).

Usage::

    .venv/bin/python scripts/gen_synthetic.py N [--seed S] [--copy-rate R] [--topic-rate R]
        [--html DIR]

Without ``--html`` it writes JSON lines on stdout, one document per line, in the shape the
``newsmon dedup`` and ``newsmon topics match`` contracts read:
``{"id", "title", "text", "language", "published", "source", "url", "copy_of"}``
(``copy_of`` is the id of the document a republished copy copies: the expected dedup answer).
With ``--html DIR`` it writes one news page per document instead (``DIR/00042.html``), ready for
``newsmon ingest DIR``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.devtools.synthetic import documents, to_html


def main() -> None:
    """Parse arguments and write the documents."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("n", type=int, help="how many documents")
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--copy-rate", type=float, default=0.25, help="share of republished copies")
    ap.add_argument("--topic-rate", type=float, default=0.12, help="share on a tracked topic")
    ap.add_argument("--html", type=Path, help="write .html pages into this folder")
    args = ap.parse_args()
    docs = documents(args.n, seed=args.seed, copy_rate=args.copy_rate, topic_rate=args.topic_rate)
    if args.html:
        args.html.mkdir(parents=True, exist_ok=True)
        for d in docs:
            (args.html / f"{d.id:05d}.html").write_text(to_html(d), encoding="utf-8")
        return
    for d in docs:
        row = {
            "id": str(d.id),
            "title": d.title,
            "text": d.text,
            "language": d.language,
            "published": d.published.isoformat(),
            "source": d.source,
            "url": d.url,
            "copy_of": None if d.copy_of is None else str(d.copy_of),
        }
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
