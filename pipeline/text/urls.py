"""URL canonicalisation: one canonical form per article, and its hash."""

from __future__ import annotations

import contextlib
import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from courlan import normalize_url
from w3lib.url import canonicalize_url

# Query parameters that only track campaigns or sessions; dropping them cannot change the page.
TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "piwik_", "hsa_", "_hs")
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "yclid",
        "msclkid",
        "igshid",
        "mkt_tok",
        "ref",
        "ref_src",
        "ref_url",
        "from",
        "share",
        "sessionid",
        "sid",
        "phpsessid",
        "jsessionid",
        "_ga",
        "_gl",
        "cmpid",
        "ocid",
        "spm",
        "rss",
        "rss_ref",
        "utm",
        "at_medium",
        "at_campaign",
        "s_cid",
    }
)


def canonical_url(url: str) -> str:
    """Canonical form: https, no ``www.``, no fragment, no tracking parameters, sorted query."""
    url = url.strip()
    # courlan rejects some odd-but-valid URLs; w3lib below still canonicalises them.
    with contextlib.suppress(ValueError):
        url = normalize_url(url, strict=False, trailing_slash=True)
    parts = urlsplit(canonicalize_url(url, keep_fragments=False))
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    ]
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme
    return urlunsplit((scheme, host, path, urlencode(sorted(query)), ""))


def url_hash(url: str) -> str:
    """SHA-256 (hex) of the canonical URL: the unique key of a document."""
    return hashlib.sha256(canonical_url(url).encode("utf-8")).hexdigest()


def host_of(url: str) -> str:
    """Lower-case host without ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host
