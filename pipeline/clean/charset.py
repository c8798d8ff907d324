"""Turn fetched page bytes into text: BOM, declared charsets, then detection.

Order (WHATWG-like, made robust for the sites we monitor):
1. a byte-order mark wins, as in browsers;
2. bytes that are valid UTF-8 are UTF-8 — many CIS and Caucasus sites declare
   ``windows-1251``/``iso-8859-1`` in old templates but serve UTF-8, while real
   single-byte Cyrillic or Armenian text is essentially never valid UTF-8;
3. the HTTP ``Content-Type`` charset, then the ``<meta>`` charset (w3lib parses both);
4. charset_normalizer's best guess.
Each candidate must decode strictly; a page nothing decodes is an
:class:`~pipeline.errors.ExtractionError`.
"""

from __future__ import annotations

import re

from charset_normalizer import from_bytes
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

from pipeline.errors import ExtractionError
from pipeline.text.reader import GZIP_MAGIC, gunzip_limited

# Magic numbers of formats that reach a news crawler instead of HTML (PDF statements,
# images, archives, office files); checked before any decoding attempt.
_BINARY_MAGIC: tuple[bytes, ...] = (
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"PK\x03\x04",
    b"\xd0\xcf\x11\xe0",
    b"RIFF",
    b"\x00\x00\x01\x00",
)
# Share of C0 control characters (other than tab/newlines) above which decoded "text"
# is really binary data that happened to decode in a single-byte charset.
_MAX_CONTROL_SHARE = 0.01
# C0 control characters other than tab, line feed, form feed and carriage return.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
_SNIFF_BYTES = 4096
# Valid non-ASCII characters needed per invalid byte to call bytes "UTF-8 with stray bytes".
_MIN_UTF8_VALID_RATIO = 10


def _where(url: str | None) -> str:
    """How to name the page in an error message."""
    return url or "<page without URL>"


def maybe_gunzip(data: bytes, url: str | None = None) -> bytes:
    """Decompress gzip data within NEWSMON_DOWNLOAD_MAXSIZE; other bytes pass through."""
    if not data.startswith(GZIP_MAGIC):
        return data
    return gunzip_limited(data, where=_where(url))


def _strict(data: bytes, encoding: str | None) -> str | None:
    """Decode strictly with ``encoding``, or None when it does not fit the bytes."""
    if not encoding:
        return None
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 text with a few stray bytes replaced, if the bytes are overwhelmingly UTF-8.

    CMSs that paste a latin-1 snippet into a UTF-8 page produce this; any single-byte
    charset would garble all the other (valid multi-byte) characters instead.
    """
    text = data.decode("utf-8", errors="replace")
    errors = text.count("\ufffd")
    # non-ASCII characters, counted in C: what an ASCII encoding would drop
    valid = len(text) - len(text.encode("ascii", errors="ignore")) - errors
    return text if valid >= _MIN_UTF8_VALID_RATIO * errors else None


def _candidates(data: bytes, content_type: str | None) -> list[str]:
    """Declared charsets in priority order (HTTP header first, then meta)."""
    found: list[str] = []
    if content_type:
        declared = http_content_type_encoding(content_type)
        if declared:
            found.append(declared)
    meta = html_body_declared_encoding(data[:_SNIFF_BYTES])
    if meta:
        found.append(resolve_encoding(meta) or meta)
    return found


def _detected(data: bytes) -> str | None:
    """charset_normalizer's guess over the head and tail of the page."""
    sample = data if len(data) <= 100_000 else data[:50_000] + data[-50_000:]
    best = from_bytes(sample).best()
    return best.encoding if best is not None else None


def _looks_binary(text: str) -> bool:
    """True when decoded text is full of control characters (binary data)."""
    head = text[:_SNIFF_BYTES]
    if not head:
        return False
    return len(_CONTROL.findall(head)) / len(head) > _MAX_CONTROL_SHARE


def decode_html(data: bytes | str, content_type: str | None = None, url: str | None = None) -> str:
    """Decode page bytes to text (see module docstring); raise ExtractionError if impossible."""
    if isinstance(data, str):
        if not data.strip():
            raise ExtractionError(f"{_where(url)}: empty page")
        if _looks_binary(data):
            raise ExtractionError(f"{_where(url)}: binary content (not HTML)")
        return data
    data = maybe_gunzip(data, url)
    if not data.strip():
        raise ExtractionError(f"{_where(url)}: empty page")
    if data.startswith(_BINARY_MAGIC):
        raise ExtractionError(f"{_where(url)}: binary content (not HTML)")
    bom = read_bom(data)
    text: str | None = None
    if bom[0]:
        text = _strict(data[len(bom[1]) :], bom[0])
    # NUL bytes mean UTF-16/32 without a BOM or binary data: only detection can tell.
    if text is None and b"\x00" not in data[:_SNIFF_BYTES]:
        text = _strict(data, "utf-8") or _mostly_utf8(data)
        for encoding in _candidates(data, content_type):
            if text is not None:
                break
            text = _strict(data, encoding)
    if text is None:
        text = _strict(data, _detected(data))
    if text is None or _looks_binary(text):
        raise ExtractionError(f"{_where(url)}: undecodable or binary content")
    return text
