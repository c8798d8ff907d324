"""The language model cache: same answers as the packaged model, and never a reason to fail."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.clean import lang
from pipeline.clean.langmodel import _packaged, cache_key, load_identifier
from pipeline.config.settings import get_settings

# Our own sentences, one per language we support plus two we do not.
SAMPLES = (
    "The ministry said the commission on border delimitation will meet again in spring.",
    "Министерство заявило, что комиссия по делимитации границы соберётся весной.",
    "Նախարարությունը հայտնել է, որ սահմանազատման հանձնաժողովը կհավաքվի գարնանը։",
    "Nazirlik bildirib ki, sərhədin delimitasiyası üzrə komissiya yazda toplanacaq.",
    "Le ministère a indiqué que la commission se réunira de nouveau au printemps.",
    "Das Ministerium teilte mit, die Kommission werde im Frühjahr erneut tagen.",
)


@pytest.fixture(scope="module")
def packaged() -> Any:
    """The identifier as py3langid loads it itself (no cache)."""
    return load_identifier(None)


def _same_answers(a: Any, b: Any) -> None:
    """Both identifiers classify and rank every sample identically."""
    for text in SAMPLES:
        assert a.classify(text) == b.classify(text)
        assert a.rank(text)[:5] == b.rank(text)[:5]


def test_the_first_load_writes_the_cache_and_later_loads_read_it(
    tmp_path: Path, packaged: Any
) -> None:
    folder = tmp_path / cache_key(_packaged())
    first = load_identifier(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == [
        "classes.json",
        "nextmove.npy",
        "output.npy",
        "pc.npy",
        "ptc.npy",
        "row.npy",
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".langid-")]  # no staging left
    second = load_identifier(tmp_path)
    # the second one reads the score table from the cache file, memory-mapped
    assert isinstance(second.nb_ptc, np.memmap)
    _same_answers(packaged, first)
    _same_answers(packaged, second)


def test_a_new_model_replaces_the_cache_of_the_old_one(tmp_path: Path, packaged: Any) -> None:
    old = tmp_path / "py3langid-0.0.1-123-456"
    old.mkdir()
    (old / "classes.json").write_text("[]", encoding="utf-8")
    unrelated = tmp_path / "something-else"
    unrelated.mkdir()
    _same_answers(packaged, load_identifier(tmp_path))
    assert not old.exists()
    assert unrelated.is_dir()  # only language model caches are ours to remove
    assert (tmp_path / cache_key(_packaged()) / "classes.json").is_file()


def test_a_damaged_cache_falls_back_to_the_packaged_model(
    tmp_path: Path, packaged: Any, caplog: pytest.LogCaptureFixture
) -> None:
    load_identifier(tmp_path)
    folder = tmp_path / cache_key(_packaged())
    (folder / "classes.json").write_text('["en", "ru"]', encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="pipeline.clean.langmodel"):
        identifier = load_identifier(tmp_path)
    assert "unusable" in caplog.text and str(folder) in caplog.text
    _same_answers(packaged, identifier)
    (folder / "ptc.npy").write_bytes(b"not an array")
    _same_answers(packaged, load_identifier(tmp_path))


def test_a_cache_folder_that_cannot_be_made_falls_back(tmp_path: Path, packaged: Any) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    _same_answers(packaged, load_identifier(blocker))


def test_a_cache_another_process_finished_first_is_used(tmp_path: Path, packaged: Any) -> None:
    # Two workers start together: both decompress, one renames its copy first. The loser's
    # rename fails on the existing folder and it reads the winner's files.
    load_identifier(tmp_path)
    folder = tmp_path / cache_key(_packaged())
    from pipeline.clean.langmodel import _write

    _write(folder, _packaged())
    assert (folder / "classes.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".langid-")]
    _same_answers(packaged, load_identifier(tmp_path))


def test_detection_reads_the_cache_under_the_cache_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_CACHE_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    lang._identifier.cache_clear()
    try:
        assert lang.detect_language(SAMPLES[4]) == "fr"
        assert (tmp_path / "models" / cache_key(_packaged()) / "ptc.npy").is_file()
    finally:
        lang._identifier.cache_clear()


def test_the_cache_defaults_to_the_var_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NEWSMON_CACHE_DIR", raising=False)
    monkeypatch.setenv("NEWSMON_VAR_DIR", str(tmp_path / "v"))
    get_settings.cache_clear()
    assert get_settings().cache_path == tmp_path / "v" / "cache"
