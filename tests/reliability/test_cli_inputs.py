"""Bad command-line input ends in one clear error (exit 2), never a traceback or a silent success.

Each argument is checked before the database is opened: ``--limit`` below 1, a search query
beyond its bounds, a database URL of an unsupported kind, an ``extract`` folder without pages.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.clean import extract
from pipeline.clean.text import normalise_title
from pipeline.config.settings import get_settings
from pipeline.errors import InputError
from pipeline.store.db import session_scope
from pipeline.store.search import MAX_QUERY_CHARS, MAX_QUERY_TERMS, search
from tests.reliability.helpers import invoke


@pytest.fixture(
    params=[
        pytest.param("db_url", id="sqlite"),
        pytest.param("pg_url", id="postgres", marks=pytest.mark.postgres),
    ]
)
def database(request: pytest.FixtureRequest) -> str:
    """The test runs on SQLite and on PostgreSQL (marked ``postgres``)."""
    return str(request.getfixturevalue(request.param))


LIMITED = [
    ["search", "border"],
    ["stories"],
    ["alerts", "list"],
    ["runs"],
]


@pytest.mark.parametrize("value", ["-1", "0"])
@pytest.mark.parametrize("command", LIMITED, ids=lambda c: "-".join(c))
def test_limit_below_one_is_a_usage_error(
    database: str, command: list[str], value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke([*command, "--limit", value], capsys)
    assert code == 2, (out, err)
    assert "--limit" in err and "Traceback" not in err
    assert out == ""


def test_limit_is_checked_by_the_search_function_too(database: str) -> None:
    with session_scope() as session, pytest.raises(InputError, match="at least 1"):
        search(session, "border", limit=-1)


def test_limit_beyond_the_integer_range_is_a_usage_error(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # SQLite raised OverflowError for a LIMIT beyond 2**63.
    code, _out, err = invoke(["search", "border", "--limit", str(2**64)], capsys)
    assert code == 2 and "--limit" in err and "Traceback" not in err


def test_twenty_thousand_term_search_is_refused_before_the_database(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    query = " ".join(f"word{i}" for i in range(20_000))
    code, out, err = invoke(["search", query], capsys)
    assert code == 2, (out, err)
    assert f"the limit is {MAX_QUERY_CHARS:,}" in err
    assert "database unavailable" not in err and "Traceback" not in err


def test_too_many_words_names_the_word_limit(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    query = " ".join(f"w{i}" for i in range(MAX_QUERY_TERMS + 1))
    assert len(query) <= MAX_QUERY_CHARS
    code, _out, err = invoke(["search", query], capsys)
    assert code == 2 and f"the limit is {MAX_QUERY_TERMS}" in err


def test_a_query_at_the_word_limit_runs(database: str) -> None:
    """The control: the most words allowed is a valid query on both backends."""
    query = " ".join(f"w{i}" for i in range(MAX_QUERY_TERMS))
    with session_scope() as session:
        assert search(session, query) == []


@pytest.mark.parametrize(
    ("url", "scheme"),
    [("mysql://newsmon:<not-shown>@db.example/newsmon", "mysql"), ("foo://x", "foo")],
)
def test_unsupported_database_url_is_one_line(
    url: str,
    scheme: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NEWSMON_DATABASE_URL", url)
    get_settings.cache_clear()
    code, out, err = invoke(["runs"], capsys)
    assert code == 2, (out, err)
    line = err.strip()
    assert "\n" not in line and line.startswith("error: NEWSMON_DATABASE_URL")
    assert f"'{scheme}://'" in line
    assert "sqlite" in line and "postgresql" in line and "postgresql+psycopg" in line
    assert "not-shown" not in line


def test_extract_folder_without_pages_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a page", encoding="utf-8")
    code, out, err = invoke(["extract", str(folder)], capsys)
    assert code == 2 and out == ""
    assert str(folder) in err and ".html" in err


def test_extract_missing_file_names_it_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "gone.html")
    code, out, err = invoke(["extract", missing], capsys)
    assert code == 1 and out == ""
    assert err.replace("\n", "").count(missing) == 1, err


PAGE = """<html><head>
<meta property="og:title" content="{og}">
<title>{title}</title>
</head><body><article>
<h1>Border commission meets in Yerevan</h1>
<p>The commissions on the delimitation of the state border met in Yerevan on Tuesday and agreed
on the order of work for the next round of talks, the foreign ministry said in a statement.</p>
<p>Both delegations described the meeting as constructive and agreed to meet again next month
in Baku to continue the work on the description of the border line.</p>
</article></body></html>"""


@pytest.mark.parametrize(
    "og",
    [
        "Border commission&#13; meets&#13;&#10;in Yerevan",
        "Border commission&#11;meets&#31;in Yerevan",
        "Border commission\u2028meets\tin Yerevan",
    ],
    ids=["cr-lf", "c0-controls", "line-separator"],
)
def test_og_title_has_no_line_breaks_or_control_characters(og: str) -> None:
    """``<title>`` text is already collapsed by trafilatura; og:title came through raw."""
    article = extract("https://mfa.example/en/news/1", PAGE.format(og=og, title="x").encode())
    assert article.title == "Border commission meets in Yerevan"


def test_normalised_titles_are_one_line_whatever_their_source() -> None:
    """Feed and hint titles go through the same normaliser."""
    raw = "\x00Border\r\ncommission\x85meets\x07 in\u2029Yerevan\x7f"
    assert normalise_title(raw) == "Border commission meets in Yerevan"
