"""MinHash signatures and their LSH band buckets (datasketch)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache

import numpy as np
from datasketch import LeanMinHash, MinHash

# 48 bands of 3 rows (144 permutations). A pair of documents becomes a candidate
# with probability 1 - (1 - J^3)^48 for shingle Jaccard J:
#   J=0.50 -> 0.998, J=0.45 -> 0.990, J=0.40 -> 0.955   (copies: a copy cut to 60%
#   with boilerplate added sits near J=0.5; full copies are far above)
#   J=0.10 -> 0.047, J=0.05 -> 0.006                    (other stories on the topic)
# so copies are found and unrelated documents almost never cost a verification.
# 4 rows would drop J=0.5 to 0.95; 2 rows would make every same-topic story a candidate.
BANDS = 48
ROWS = 3
NUM_PERM = BANDS * ROWS
# Fixed seed and scheme: stored signatures and band buckets must stay comparable
# across processes and releases. Changing any of these needs a re-index.
SEED = 20260
SCHEME = "affine32"
# Little-endian everywhere so the bytes are the same on every machine.
_BYTEORDER = "<"
# Buckets are stored in a signed 64-bit column (BigInteger on PostgreSQL): keep 63 bits.
_BUCKET_MASK = (1 << 63) - 1


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """The permutation parameters for SEED, generated once per process."""
    perms = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations
    return perms[0], perms[1]


def signature(shingles: Sequence[str]) -> MinHash | None:
    """MinHash of a shingle set, or None when there are no shingles."""
    if not shingles:
        return None
    mh = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, permutations=_permutations())
    mh.update_batch([s.encode("utf-8") for s in set(shingles)])
    return mh


def to_bytes(mh: MinHash) -> bytes:
    """Serialise with datasketch's portable LeanMinHash layout."""
    lean = LeanMinHash(mh)
    buf = bytearray(lean.bytesize(_BYTEORDER))
    lean.serialize(buf, _BYTEORDER)
    return bytes(buf)


def from_bytes(data: bytes) -> LeanMinHash:
    """Inverse of :func:`to_bytes`."""
    return LeanMinHash.deserialize(data, _BYTEORDER)


def buckets(mh: MinHash) -> list[int]:
    """One non-negative 63-bit bucket per band: a hash of that band's hash values."""
    values = np.asarray(mh.hashvalues, dtype="<u4")
    out = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8).digest()
        out.append(int.from_bytes(digest, "big") & _BUCKET_MASK)
    return out
