"""One corrupt file does not stop a folder; every reader is size-limited."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.devtools.synthetic import documents, to_html
from pipeline.errors import ExtractionError
from pipeline.store.db import session_scope
from pipeline.store.models import Document, Run
from pipeline.text.reader import PageTooLarge, gunzip_limited, maybe_gunzip, read_page
from tests.reliability.helpers import invoke


def _folder(tmp_path: Path) -> tuple[Path, list[str]]:
    """Good pages around a truncated .gz and a .gz that is not gzip at all."""
    folder = tmp_path / "saved"
    folder.mkdir()
    docs = list(documents(4, seed=11, copy_rate=0.0))
    (folder / "01.html").write_text(to_html(docs[0]), encoding="utf-8")
    whole = gzip.compress(to_html(docs[1]).encode())
    (folder / "02-truncated.html.gz").write_bytes(whole[: len(whole) // 2])
    (folder / "03-not-gzip.html.gz").write_bytes(b"<html><body>plain text, not gzip</body></html>")
    (folder / "04.html.gz").write_bytes(gzip.compress(to_html(docs[2]).encode()))
    (folder / "05.html").write_text(to_html(docs[3]), encoding="utf-8")
    return folder, [docs[0].url, docs[2].url, docs[3].url]


def test_a_corrupt_gzip_file_is_counted_and_the_folder_goes_on(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, stored_urls = _folder(tmp_path)
    code, out, err = invoke(["ingest", str(folder), "--json", "--workers", "1"], capsys)
    assert code == 0, err
    assert '"bad_content": 2' in out and '"new": 3' in out
    with session_scope() as session:
        urls = set(session.scalars(select(Document.url)))
        assert urls == set(stored_urls)  # the files after the bad ones are stored too
        (run,) = session.scalars(select(Run).where(Run.kind == "ingest"))
        assert run.status != "running" and run.finished_at is not None


def test_ingest_exits_non_zero_only_when_nothing_could_be_read(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.html.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (folder / "b.html.gz").write_bytes(b"not gzip")
    code, _out, err = invoke(["ingest", str(folder)], capsys)
    assert code == 1
    assert "none of the 2 files could be read" in err
    assert "Traceback" not in err


def test_the_reader_stops_a_gzip_bomb_at_the_limit(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.html.gz"
    bomb.write_bytes(gzip.compress(b"<p>" + b"a" * 5_000_000))
    with pytest.raises(PageTooLarge, match="NEWSMON_DOWNLOAD_MAXSIZE=1000000"):
        read_page(bomb, limit=1_000_000)
    # The same bytes in memory (a stored page, a response) go through the same limit.
    with pytest.raises(PageTooLarge):
        maybe_gunzip(bomb.read_bytes(), where="stored page", limit=1_000_000)
    flat = tmp_path / "flat.html"
    flat.write_bytes(b"<p>" + b"b" * 2_000_000)
    with pytest.raises(PageTooLarge, match=r"flat\.html: 2000003 bytes"):
        read_page(flat, limit=1_000_000)


def test_the_reader_names_corrupt_gzip_and_reads_concatenated_members(tmp_path: Path) -> None:
    two = gzip.compress(b"<p>one</p>") + gzip.compress(b"<p>two</p>")
    assert gunzip_limited(two, where="x", limit=1000) == b"<p>one</p><p>two</p>"
    with pytest.raises(ExtractionError, match=r"page\.gz: truncated gzip data"):
        gunzip_limited(two[:15], where="page.gz", limit=1000)
    with pytest.raises(ExtractionError, match="not valid gzip data"):
        gunzip_limited(b"\x1f\x8bxxxxxxxxxxxx", where="page.gz", limit=1000)
    plain = tmp_path / "p.html"
    plain.write_bytes(b"<p>plain</p>")
    assert read_page(plain, limit=1000) == b"<p>plain</p>"
