"""Decoding page bytes: BOM, UTF-8, declared charsets, detection, binary rejection."""

from __future__ import annotations

import codecs
import gzip

import pytest

from pipeline.clean.charset import decode_html
from pipeline.errors import ExtractionError

RU = "Заявление министерства о демаркации границы между Арменией и Азербайджаном. " * 5
HY = "Հայաստանի և Ադրբեջանի սահմանազատման հանձնաժողովների հանդիպումը։ " * 5


def html(body: str, head: str = "") -> str:
    """A small page around ``body``."""
    return f"<html><head>{head}</head><body><p>{body}</p></body></html>"


def test_meta_charset_windows_1251() -> None:
    raw = html(RU, '<meta charset="windows-1251">').encode("cp1251")
    assert RU in decode_html(raw)


def test_http_header_charset_beats_meta() -> None:
    # koi8-r bytes with a stale meta declaration: the HTTP header is right
    raw = html(RU, '<meta charset="windows-1251">').encode("koi8_r")
    assert RU in decode_html(raw, "text/html; charset=KOI8-R")


def test_valid_utf8_wins_over_a_wrong_declaration() -> None:
    raw = html(HY, '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">')
    assert HY in decode_html(raw.encode("utf-8"), "text/html; charset=windows-1251")


def test_utf8_page_with_a_stray_latin1_byte() -> None:
    raw = html(HY + " caf#").encode("utf-8").replace(b"#", b"\xe9")
    text = decode_html(raw)
    assert HY in text  # not garbled into a single-byte charset
    assert "caf\ufffd" in text


def test_byte_order_marks() -> None:
    page = html(HY)
    assert HY in decode_html(codecs.BOM_UTF8 + page.encode("utf-8"))
    assert HY in decode_html(codecs.BOM_UTF16_LE + page.encode("utf-16-le"))


def test_undeclared_single_byte_cyrillic_is_detected() -> None:
    raw = html(RU * 3).encode("cp1251")
    assert RU in decode_html(raw)


def test_gzip_is_decompressed() -> None:
    assert HY in decode_html(gzip.compress(html(HY).encode("utf-8")))


def test_text_passes_through() -> None:
    assert decode_html(html(HY)) == html(HY)


@pytest.mark.parametrize(
    "payload",
    [b"", b"  \n", "", b"%PDF-1.4 ...", b"\xff\xd8\xff\xe0\x00\x10JFIF", bytes(range(32)) * 50],
)
def test_unusable_bytes(payload: bytes) -> None:
    with pytest.raises(ExtractionError, match=r"https://x\.example/p"):
        decode_html(payload, None, "https://x.example/p")
