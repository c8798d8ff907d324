"""MinHash signatures and their LSH band buckets.

The signatures are datasketch's ``MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")``
with its default SHA-1 hash, stored in datasketch's ``LeanMinHash`` byte layout, bit for bit.
They are computed here with numpy because importing the ``datasketch`` package also imports
its LSH modules and through them scipy: ~0.7 s added to every process that deduplicates.
``tests/unit/test_dedup_sketch.py`` checks the values and the bytes against datasketch itself.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

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
# datasketch's code for "affine32" in the LeanMinHash byte layout.
_SCHEME_CODE = 1
# The LeanMinHash header, little-endian everywhere so the bytes are the same on every machine:
# seed, the negated number of hash values (negative marks the layout with a scheme code), code.
_HEADER = struct.Struct("<qiB")
_VALUES = np.dtype("<u4")
# Buckets are stored in a signed 64-bit column (BigInteger on PostgreSQL): keep 63 bits.
_BUCKET_MASK = (1 << 63) - 1

U32 = npt.NDArray[np.uint32]


@dataclass(frozen=True, eq=False)
class Signature:
    """The NUM_PERM minimum hash values (uint32) of a shingle set."""

    hashvalues: U32

    def jaccard(self, other: Signature) -> float:
        """Estimated Jaccard similarity: the share of equal hash values."""
        return float(np.count_nonzero(self.hashvalues == other.hashvalues)) / NUM_PERM


@cache
def _permutations() -> tuple[U32, U32]:
    """The affine permutations ``h -> a*h + b mod 2**32`` (``a`` odd) that datasketch draws."""
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _fmix32(h: U32) -> U32:
    """MurmurHash3's 32-bit finalizer, which datasketch applies to every input hash first."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _sha1_hash32(items: Iterable[bytes]) -> U32:
    """datasketch's default hash: the first 4 bytes of SHA-1, little-endian."""
    digests = b"".join(hashlib.sha1(item).digest()[:4] for item in items)
    return np.frombuffer(digests, dtype=_VALUES).astype(np.uint32)


def signature(shingles: Sequence[str]) -> Signature | None:
    """MinHash of a shingle set, or None when there are no shingles."""
    if not shingles:
        return None
    a, b = _permutations()
    hashed = _fmix32(_sha1_hash32(s.encode("utf-8") for s in set(shingles)))
    # One row per shingle, one column per permutation; uint32 arithmetic wraps (mod 2**32).
    permuted = hashed.reshape(-1, 1) * a + b
    return Signature(permuted.min(axis=0))


def to_bytes(mh: Signature) -> bytes:
    """Serialise in datasketch's portable LeanMinHash layout (seed, size, scheme, values)."""
    header = _HEADER.pack(SEED, -NUM_PERM, _SCHEME_CODE)
    return header + mh.hashvalues.astype(_VALUES).tobytes()


def from_bytes(data: bytes) -> Signature:
    """Inverse of :func:`to_bytes`; ValueError for bytes of another seed, size or scheme."""
    expected = _HEADER.size + NUM_PERM * _VALUES.itemsize
    if len(data) != expected:
        raise ValueError(f"MinHash bytes: {len(data)} bytes, expected {expected}")
    seed, size, code = _HEADER.unpack_from(data)
    if (seed, size, code) != (SEED, -NUM_PERM, _SCHEME_CODE):
        raise ValueError(
            f"MinHash bytes: seed {seed}, size {-size}, scheme code {code}; "
            f"expected {SEED}, {NUM_PERM}, {_SCHEME_CODE} ({SCHEME})"
        )
    values = np.frombuffer(data, dtype=_VALUES, offset=_HEADER.size).astype(np.uint32)
    return Signature(values)


def buckets(mh: Signature) -> list[int]:
    """One non-negative 63-bit bucket per band: a hash of that band's hash values."""
    values = mh.hashvalues.astype(_VALUES)
    out = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8).digest()
        out.append(int.from_bytes(digest, "big") & _BUCKET_MASK)
    return out
