"""The replica's demo story: its copies are copies for the project's dedup, its neighbours are not.

Renders pages without sockets, extracts them with the same cleaner the crawler uses and
compares them with the dedup verifier, so the fixture texts and the dedup rules cannot drift
apart unnoticed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import pytest

from pipeline.clean import extract
from pipeline.dedup.text import Shingles, content_of
from pipeline.dedup.verify import compare
from pipeline.devtools.replay.render import SiteRuntime, anchor_epoch
from pipeline.devtools.replay.server import SITES_DIR
from pipeline.devtools.replay.site import load_site

# Today: date extractors rightly refuse dates in the future.
ANCHOR = datetime.now(UTC).date()


@cache
def runtime(name: str) -> SiteRuntime:
    """A site placed at ANCHOR without a server."""
    return SiteRuntime(
        load_site(SITES_DIR / name),
        ANCHOR,
        "http://127.0.0.99:1",
        lambda s, p: p,
        anchor_epoch(ANCHOR),
    )


def shingles(site: str, article_id: str) -> Shingles:
    """Render, extract and shingle one replica article."""
    rt = runtime(site)
    art = rt.articles[article_id]
    page = rt.respond(art.path, "")
    got = extract(rt.url(art.path), page.body, content_type=page.content_type)
    assert art.published.date() == (got.published.date() if got.published else None)
    return content_of(got.title, got.text).shingled()


ORIGIN_EN, ORIGIN_RU = ("mid.ru", "2051874"), ("mid.ru", "2051873")


@pytest.mark.parametrize(
    ("copy", "origin", "reason"),
    [
        (("tass.com", "2201457"), ORIGIN_EN, "copy"),  # re-headlined
        (("news.am", "eng-905512"), ORIGIN_EN, "copy"),  # machine-translated noise
        (("armenpress.am", "en-1231457"), ORIGIN_EN, "cut copy"),
        (("tass.ru", "25123456"), ORIGIN_RU, "copy"),
        (("news.am", "arm-905511"), ("armenpress.am", "hy-1231456"), "copy"),
        (("azertag.az", "en-3412910"), ("mfa.gov.az", "en-412"), "copy"),
        (("azertag.az", "az-3412907"), ("mfa.gov.az", "az-412"), "copy"),
    ],
)
def test_republished_copies_fold(
    copy: tuple[str, str], origin: tuple[str, str], reason: str
) -> None:
    verdict = compare(shingles(*copy), shingles(*origin))
    assert verdict.copy and verdict.reason == reason, verdict


@pytest.mark.parametrize(
    ("other", "origin"),
    [
        (("mid.ru", "2051309"), ORIGIN_EN),  # same statement template, another subject
        (("en.apa.az", "902315"), ORIGIN_EN),  # a report in its own words
        (("mfa.am", "en-13421"), ("mfa.gov.az", "en-412")),  # same event, other side's text
        (("mfa.gov.az", "en-409"), ("mfa.gov.az", "en-412")),  # same template, another day
    ],
)
def test_neighbours_do_not_fold(other: tuple[str, str], origin: tuple[str, str]) -> None:
    assert not compare(shingles(*other), shingles(*origin)).copy
