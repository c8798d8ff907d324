"""The one size-limited reader of page bytes: files, gzip files and gzip data.

Every entry point (``newsmon extract``, ``newsmon ingest``, the process stage) reads through
here, so a page is refused above NEWSMON_DOWNLOAD_MAXSIZE whichever way it comes, and a gzip
bomb is never decompressed past the limit (decompression stops at ``limit + 1`` bytes).
"""

from __future__ import annotations

import zlib
from pathlib import Path

from pipeline.errors import ExtractionError, NewsmonError, Outcome

GZIP_MAGIC = b"\x1f\x8b"
# zlib's window bits for "gzip header and trailer" (RFC 1952).
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_CHUNK = 1 << 20


class PageTooLarge(NewsmonError):
    """A page larger than NEWSMON_DOWNLOAD_MAXSIZE (the crawler's limit): not read further."""

    outcome = Outcome.TOO_LARGE


def default_limit() -> int:
    """NEWSMON_DOWNLOAD_MAXSIZE, the crawler's limit, applied to every entry point."""
    from pipeline.config.settings import get_settings

    return get_settings().download_maxsize


def gunzip_limited(data: bytes, *, where: str, limit: int | None = None) -> bytes:
    """Decompress gzip ``data`` (all members) up to ``limit`` bytes.

    PageTooLarge past the limit; ExtractionError (``bad_content``) for corrupt or truncated data.
    """
    limit = default_limit() if limit is None else limit
    out = bytearray()
    rest = data
    try:
        while rest:
            inflater = zlib.decompressobj(_GZIP_WBITS)
            chunk = inflater.decompress(rest, limit + 1 - len(out))
            out += chunk
            while inflater.unconsumed_tail and len(out) <= limit:
                out += inflater.decompress(inflater.unconsumed_tail, limit + 1 - len(out))
            if len(out) > limit:
                raise PageTooLarge(
                    f"{where}: decompresses to over NEWSMON_DOWNLOAD_MAXSIZE={limit} bytes"
                )
            if not inflater.eof:
                raise ExtractionError(f"{where}: truncated gzip data")
            # Concatenated gzip members are one stream (gzip(1) writes them); padding ends it.
            rest = inflater.unused_data.lstrip(b"\x00")
            if rest and not rest.startswith(GZIP_MAGIC):
                break
    except zlib.error as exc:
        raise ExtractionError(f"{where}: not valid gzip data ({exc})") from None
    return bytes(out)


def maybe_gunzip(data: bytes, *, where: str, limit: int | None = None) -> bytes:
    """Gzip data decompressed within the limit; other bytes pass through (size-checked)."""
    limit = default_limit() if limit is None else limit
    if data.startswith(GZIP_MAGIC):
        return gunzip_limited(data, where=where, limit=limit)
    if len(data) > limit:
        raise PageTooLarge(f"{where}: {len(data)} bytes, over NEWSMON_DOWNLOAD_MAXSIZE={limit}")
    return data


def read_page(path: Path, limit: int | None = None) -> bytes:
    """Read an .html or .html.gz file as bytes within the limit.

    PageTooLarge when the file or its decompressed content is over the limit; ExtractionError
    (``bad_content``) for a corrupt or truncated gzip file; OSError is left to the caller.
    """
    limit = default_limit() if limit is None else limit
    size = path.stat().st_size
    if size > limit:
        raise PageTooLarge(f"{path}: {size} bytes, over NEWSMON_DOWNLOAD_MAXSIZE={limit}")
    data = path.read_bytes()
    if path.name.endswith(".gz") or data.startswith(GZIP_MAGIC):
        return gunzip_limited(data, where=str(path), limit=limit)
    return data
