"""pipeline.dedup.sketch computes exactly datasketch's MinHash, without importing datasketch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash

from pipeline.dedup import sketch
from pipeline.dedup.text import content_of

BODY = (
    "The ministry said the commissions on border delimitation met on Tuesday and agreed "
    "to continue work on the draft regulations, including transport links through Syunik."
)

SHINGLE_SETS = {
    "one": ["a"],
    "two": ["border delimitation", "delimitation commission"],
    "body": content_of("Statement", BODY).shingles(),
    "scripts": ["Зангезурский коридор", "Զանգեզուրի միջանցք", "Zəngəzur dəhlizi", "🙂 emoji"],
    "many": [f"shingle number {i}" for i in range(3000)],
    "repeats": ["same", "same", "other", "same"],
}


def reference(shingles: list[str]) -> MinHash:
    """datasketch's own MinHash with the parameters sketch.py documents."""
    mh = MinHash(num_perm=sketch.NUM_PERM, seed=sketch.SEED, scheme=sketch.SCHEME)
    mh.update_batch([s.encode("utf-8") for s in set(shingles)])
    return mh


@pytest.mark.parametrize("name", sorted(SHINGLE_SETS))
def test_signature_equals_datasketch(name: str) -> None:
    shingles = SHINGLE_SETS[name]
    ours = sketch.signature(shingles)
    theirs = reference(shingles)
    assert ours is not None
    assert ours.hashvalues.dtype == np.uint32
    np.testing.assert_array_equal(ours.hashvalues, theirs.hashvalues)


@pytest.mark.parametrize("name", sorted(SHINGLE_SETS))
def test_bytes_are_datasketch_lean_minhash_bytes(name: str) -> None:
    shingles = SHINGLE_SETS[name]
    ours = sketch.signature(shingles)
    assert ours is not None
    lean = LeanMinHash(reference(shingles))
    buf = bytearray(lean.bytesize("<"))
    lean.serialize(buf, "<")
    assert sketch.to_bytes(ours) == bytes(buf)
    # Bytes stored before datasketch was dropped read back as the same signature.
    back = sketch.from_bytes(bytes(buf))
    np.testing.assert_array_equal(back.hashvalues, ours.hashvalues)
    assert sketch.buckets(back) == sketch.buckets(ours)


def test_buckets_match_those_of_datasketch_values() -> None:
    shingles = SHINGLE_SETS["body"]
    ours = sketch.signature(shingles)
    assert ours is not None
    values = np.asarray(reference(shingles).hashvalues, dtype="<u4")
    expected = sketch.buckets(sketch.Signature(values.astype(np.uint32)))
    assert sketch.buckets(ours) == expected
    assert len(set(expected)) > 1


def test_jaccard_estimate_equals_datasketch() -> None:
    first = SHINGLE_SETS["many"]
    second = first[:2000] + [f"other shingle {i}" for i in range(1000)]
    ours_a, ours_b = sketch.signature(first), sketch.signature(second)
    assert ours_a is not None and ours_b is not None
    expected = reference(first).jaccard(reference(second))
    assert ours_a.jaccard(ours_b) == expected
    assert 0.2 < expected < 0.8


def test_from_bytes_rejects_other_parameters() -> None:
    other = MinHash(num_perm=sketch.NUM_PERM, seed=1, scheme=sketch.SCHEME)
    other.update_batch([b"x"])
    lean = LeanMinHash(other)
    buf = bytearray(lean.bytesize("<"))
    lean.serialize(buf, "<")
    with pytest.raises(ValueError, match="seed 1"):
        sketch.from_bytes(bytes(buf))
    with pytest.raises(ValueError, match="bytes"):
        sketch.from_bytes(bytes(buf)[:-4])


def test_dedup_does_not_import_datasketch_or_scipy() -> None:
    code = (
        "import sys\n"
        "from pipeline.dedup import fingerprint\n"
        "fingerprint('Title', 'one two three four five six seven eight nine ten')\n"
        "print(sorted(m for m in ('datasketch', 'scipy') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"
