"""Score dedup on the shared sets (../shared/corpus): newsmon beside the plain baseline.

- ``dedup-dev``: republished copies (same language). Pair precision, recall, F1; recall per
  pair kind and per edit kind (a pair counts once for each of its ``transforms``); the share
  of merged pairs per negative kind.
- ``crosslang-dev``: the same article in en/ru/hy/az. Pooled and per language pair.

Documents go through ``newsmon dedup``'s code (``parse_lines`` + ``run_batch``) in file
order; a pair is "same" when both land in one cluster. The baseline is datasketch
``MinHashLSH(threshold=0.5, num_perm=128)`` over word 5-shingles of the lower-cased text,
each document joining the cluster of its first hit. The texts are read here only, never
copied into the project. Report only: nothing here fails a run.

``--orders N`` also feeds each set in reverse and in N seeded shuffles and says whether
newsmon's stories stay the same as in file order (a crawl records pages in another order
every day), with the pooled figures of each order.

    python scripts/eval_dedup_shared.py [--shared DIR] [--orders N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpus"
SETS = ("dedup-dev", "crosslang-dev")


def load(folder: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Documents and labelled pairs of one shared set."""
    docs = [json.loads(x) for x in (folder / "docs.jsonl").read_text("utf-8").splitlines() if x]
    pairs = [json.loads(x) for x in (folder / "pairs.jsonl").read_text("utf-8").splitlines() if x]
    return docs, pairs


def newsmon(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Cluster of every document through the ``newsmon dedup`` contract."""
    from pipeline.dedup import parse_lines, run_batch

    items = parse_lines(json.dumps(d, ensure_ascii=False) for d in docs)
    return {o["id"]: o["cluster"] for o in run_batch(items)}


def baseline(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Plain MinHash-LSH: word 5-shingles of the lower-cased text, first hit's cluster."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    cluster: dict[str, Any] = {}
    order: dict[str, int] = {}
    for doc in docs:
        words = doc["text"].lower().split()
        shingles = {" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))}
        mh = MinHash(num_perm=128)
        for shingle in shingles:
            mh.update(shingle.encode("utf-8"))
        # The query answers a set: "first hit" is the earliest stored one, so runs agree.
        hits = sorted(lsh.query(mh), key=order.__getitem__)
        cluster[doc["id"]] = cluster[hits[0]] if hits else doc["id"]
        order[doc["id"]] = len(order)
        lsh.insert(doc["id"], mh)
    return cluster


def _prf(tp: int, fp: int, fn: int) -> str:
    """Precision, recall and F1 as one line."""
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return f"P {p:.4f}  R {r:.4f}  F1 {f1:.4f}  (tp {tp}, fp {fp}, fn {fn})"


def score(
    pairs: list[dict[str, Any]], cluster: dict[str, Any], language: dict[str, str]
) -> list[str]:
    """Report lines: pooled, per pair kind, per transform and per language pair."""
    counts = Counter[str]()
    by_kind: dict[str, list[int]] = {}
    by_edit: dict[str, list[int]] = {}
    by_langs: dict[str, list[int]] = {}
    for pair in pairs:
        same = int(cluster[pair["a"]] == cluster[pair["b"]])
        label = pair["label"]
        outcome = ("tp" if same else "fn") if label else ("fp" if same else "tn")
        counts[outcome] += 1
        by_kind.setdefault(pair["kind"], [0, 0])
        by_kind[pair["kind"]][0] += same
        by_kind[pair["kind"]][1] += 1
        for edit in pair.get("transforms", []) if label else []:
            by_edit.setdefault(edit, [0, 0])
            by_edit[edit][0] += same
            by_edit[edit][1] += 1
        if language:
            langs = "-".join(sorted((language[pair["a"]], language[pair["b"]])))
            row = by_langs.setdefault(langs, [0, 0, 0])
            row[0 if outcome == "tp" else 1 if outcome == "fp" else 2] += outcome != "tn"
    lines = [_prf(counts["tp"], counts["fp"], counts["fn"])]
    lines.append(
        "pairs put together, by kind: "
        + ", ".join(f"{k} {n}/{total}" for k, (n, total) in sorted(by_kind.items()))
    )
    if by_edit:
        lines.append(
            "recall by edit: "
            + ", ".join(f"{k} {n}/{total}" for k, (n, total) in sorted(by_edit.items()))
        )
    for langs, (tp, fp, fn) in sorted(by_langs.items()):
        lines.append(f"  {langs}: {_prf(tp, fp, fn)}")
    return lines


def report(shared: Path = SHARED) -> None:
    """Print the figures of both shared sets, or one line saying why they are skipped."""
    missing = [name for name in SETS if not (shared / name / "pairs.jsonl").is_file()]
    if missing:
        print(f"shared dedup sets skipped: {', '.join(missing)} not found under {shared}")
        return
    for name in SETS:
        docs, pairs = load(shared / name)
        language = {d["id"]: d["language"] for d in docs if d.get("language")}
        print(f"{name}: {len(docs)} documents, {len(pairs)} labelled pairs")
        for label, run in (("newsmon ", newsmon), ("baseline", baseline)):
            t0 = time.perf_counter()
            cluster = run(docs)
            seconds = time.perf_counter() - t0
            lines = score(pairs, cluster, language)
            print(f"  {label} {lines[0]}  [{seconds:.1f}s]")
            for line in lines[1:]:
                print(f"    {line}")


def _stories(cluster: dict[str, Any]) -> set[frozenset[str]]:
    """The stories as sets of document ids (cluster names depend on the order)."""
    groups: dict[Any, set[str]] = {}
    for doc_id, name in cluster.items():
        groups.setdefault(name, set()).add(doc_id)
    return {frozenset(group) for group in groups.values()}


def report_orders(shared: Path, shuffles: int) -> None:
    """newsmon's stories and pooled figures with the documents in other arrival orders."""
    for name in SETS:
        if not (shared / name / "pairs.jsonl").is_file():
            continue
        docs, pairs = load(shared / name)
        orders = {"file order": docs, "reversed": docs[::-1]}
        for seed in range(1, shuffles + 1):
            mixed = docs[:]
            random.Random(seed).shuffle(mixed)
            orders[f"shuffle {seed}"] = mixed
        first: set[frozenset[str]] | None = None
        print(f"{name} by arrival order:")
        for label, order in orders.items():
            cluster = newsmon(order)
            stories = _stories(cluster)
            first = stories if first is None else first
            moved = len(stories ^ first)
            same = "same stories" if not moved else f"{moved} stories differ from file order"
            print(f"  {label:10s} {score(pairs, cluster, {})[0]}  {len(stories)} stories, {same}")


def main() -> int:
    """Score the shared sets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="shared corpus folder")
    parser.add_argument(
        "--orders", type=int, default=0, metavar="N", help="also reversed and N shuffled orders"
    )
    args = parser.parse_args()
    report(args.shared)
    if args.orders:
        report_orders(args.shared, args.orders)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
