"""Fault responses for crawler tests: each one must end as a counted outcome, never a hang."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

from pipeline.devtools.replay.site import FaultKind

# A small PDF-looking blob (our own bytes): magic header, NULs and high bytes, EOF marker.
PDF_BYTES = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    + bytes(range(256)) * 16
    + b"\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)
MALFORMED_FEED = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>\n'
    b"<title>Broken feed</title>\n<item><title>Unclosed & unescaped <b>title</title>\n"
    b"<link>http://example.invalid/a</link>\n<pubDate>not a date</pubDate>\n</channel"
)
# Billion-laughs expansion plus an external entity: a safe parser must refuse both.
ENTITY_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY xxe SYSTEM "file:///etc/hostname">
]>
<rss version="2.0"><channel><title>&lol7;</title>
<item><title>&xxe;</title><link>http://example.invalid/entity</link></item>
</channel></rss>
"""
_FILLER = (
    "<p>This paragraph repeats to make the page larger than any sensible download limit; "
    "a crawler must stop reading and count the page as too large.</p>\n"
)


def _send(
    h: BaseHTTPRequestHandler,
    status: int,
    ctype: str,
    body: bytes,
    head: bool,
    location: str | None = None,
) -> int:
    """Write a complete response; return its status."""
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    if location:
        h.send_header("Location", location)
    h.end_headers()
    if not head:
        h.wfile.write(body)
    return status


def _oversized(h: BaseHTTPRequestHandler, size: int, head: bool) -> int:
    """Stream ``size`` bytes of valid HTML with an honest Content-Length."""
    start = b"<!DOCTYPE html><html><head><title>Oversized page</title></head><body>\n"
    end = b"</body></html>\n"
    filler = _FILLER.encode()
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", str(size))
    h.end_headers()
    if head:
        return 200
    h.wfile.write(start)
    left = size - len(start) - len(end)
    chunk = filler * 256
    while left > 0:
        piece = chunk[:left]
        h.wfile.write(piece)  # BrokenPipe when the client gives up: handled by the caller
        left -= len(piece)
    h.wfile.write(end)
    return 200


def serve_fault(
    h: BaseHTTPRequestHandler,
    kind: FaultKind,
    *,
    path: str,
    query: str,
    head: bool,
    stopping: threading.Event,
    slow_seconds: float,
    oversized_bytes: int,
    offsite_url: str,
) -> int:
    """Answer a request with the fault ``kind``; return the status sent (0 if nothing was)."""
    html = "text/html; charset=utf-8"
    if kind == "http_500":
        return _send(
            h, 500, html, b"<html><body><h1>500 Internal Server Error</h1></body></html>", head
        )
    if kind == "not_found":
        return _send(h, 404, html, b"<html><body><h1>404 Not Found</h1></body></html>", head)
    if kind == "slow":
        # Wait on the stop event (not time.sleep) so stopping the server never hangs.
        if stopping.wait(slow_seconds):
            return 0
        return _send(h, 200, html, b"<html><body><p>Finally answered.</p></body></html>", head)
    if kind == "redirect_loop":
        hop = parse_qs(query).get("hop", ["0"])[0]
        target = path if hop == "1" else f"{path}?hop=1"
        return _send(h, 302, html, b"", head, location=target)
    if kind == "oversized":
        return _oversized(h, oversized_bytes, head)
    if kind == "binary_as_html":
        return _send(h, 200, html, PDF_BYTES, head)
    if kind == "pdf":
        return _send(h, 200, "application/pdf", PDF_BYTES, head)
    if kind == "malformed_feed":
        return _send(h, 200, "application/rss+xml; charset=utf-8", MALFORMED_FEED, head)
    if kind == "xml_entities":
        return _send(h, 200, "application/rss+xml; charset=utf-8", ENTITY_FEED, head)
    if kind == "offsite_redirect":
        return _send(h, 302, html, b"", head, location=offsite_url)
    raise ValueError(f"unknown fault kind {kind!r}")
