"""py3langid's model, kept uncompressed in a cache folder so that a process loads it at once.

py3langid ships its model as LZMA-compressed arrays (4.5 MB). Decompressing them takes about
half a second, and every process that detects a language pays it: each worker of the process
stage, each Airflow task, each ``newsmon`` command. The first process writes the arrays,
uncompressed, under the cache folder (``NEWSMON_CACHE_DIR``, default ``<var dir>/cache``); later
ones map them from there (the big score table is memory-mapped, so workers share its pages).

The cache is an optimisation only: a folder that cannot be written or read, or files that do
not fit together, make the process load the packaged model as before (logged, never an error).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from array import array
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

LOG = logging.getLogger(__name__)

_ARRAYS = ("ptc", "pc", "nextmove", "row", "output")
_CLASSES = "classes.json"
# The stdlib array type py3langid's DFA walk indexes fastest, by item size.
_TYPECODES = {2: "H", 4: "I", 8: "L"}


def _packaged() -> Path:
    """The model file py3langid ships."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    return Path(MODEL_DIR) / str(MODEL_FILE)


def cache_key(model: Path) -> str:
    """Folder name of the cache of ``model``: a new py3langid release or model gets a new one."""
    try:
        release = version("py3langid")
    except PackageNotFoundError:  # a vendored or source checkout of py3langid
        release = "unknown"
    stat = model.stat()
    return f"py3langid-{release}-{stat.st_size}-{stat.st_mtime_ns}"


def _as_array(values: np.ndarray[Any, Any]) -> array[int]:
    """A NumPy integer array as the stdlib array py3langid expects."""
    out = array(_TYPECODES[values.dtype.itemsize])
    out.frombytes(np.ascontiguousarray(values).tobytes())
    return out


def _write(folder: Path, model: Path) -> None:
    """Decompress ``model`` into ``folder`` atomically (a concurrent writer may win; fine)."""
    from py3langid.modelio import load_model

    ptc, pc, classes, nextmove, row, output = load_model(model)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".langid-", dir=folder.parent))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would hide it from the other users of a var dir
        arrays = {
            "ptc": np.asarray(ptc),
            "pc": np.asarray(pc),
            "nextmove": np.frombuffer(nextmove, dtype=f"u{nextmove.itemsize}"),
            "row": np.frombuffer(row, dtype=f"u{row.itemsize}"),
            "output": np.asarray(output, dtype=np.int32),
        }
        for name, values in arrays.items():
            np.save(staging / f"{name}.npy", values, allow_pickle=False)
        (staging / _CLASSES).write_text(json.dumps(list(classes)), encoding="utf-8")
        try:
            os.rename(staging, folder)
        except OSError:  # another process renamed its copy first: use theirs
            if not (folder / _CLASSES).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _drop_stale(folder)


def _drop_stale(current: Path) -> None:
    """Remove the caches of earlier py3langid releases or models (66 MB each, never read again).

    A process still mapping one keeps its pages until it exits (POSIX unlink semantics).
    """
    for other in current.parent.glob("py3langid-*"):
        if other != current and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)


def _read(folder: Path) -> Any:
    """The identifier from a cache folder; ValueError when its files do not fit together."""
    from py3langid.langid import LanguageIdentifier

    loaded = {
        name: np.load(folder / f"{name}.npy", mmap_mode="r" if name == "ptc" else None)
        for name in _ARRAYS
    }
    classes = json.loads((folder / _CLASSES).read_text(encoding="utf-8"))
    ptc, pc = loaded["ptc"], loaded["pc"]
    if not (ptc.ndim == 2 and ptc.shape[1] == len(pc) == len(classes)):
        raise ValueError("score table, priors and classes disagree")
    if len(loaded["row"]) != len(loaded["output"]):
        raise ValueError("DFA rows and outputs disagree")
    return LanguageIdentifier(
        ptc,
        np.asarray(pc),
        classes,
        _as_array(loaded["nextmove"]),
        loaded["output"].tolist(),
        norm_probs=True,
        tk_row=_as_array(loaded["row"]),
    )


def load_identifier(cache_dir: Path | None) -> Any:
    """py3langid's identifier (normalised probabilities), from the cache when it can be."""
    from py3langid.langid import LanguageIdentifier

    model = _packaged()
    if cache_dir is not None:
        folder = cache_dir / cache_key(model)
        try:
            if not (folder / _CLASSES).is_file():
                _write(folder, model)
            return _read(folder)
        except (OSError, ValueError, KeyError) as exc:
            LOG.info("language model cache %s unusable (%s); loading the packaged one", folder, exc)
    return LanguageIdentifier.from_model_file(model, norm_probs=True)
