"""Search output for people: snippets of whole words, a hint when nothing is found."""

from __future__ import annotations

from typer.testing import CliRunner

from pipeline.cli import _register, app
from pipeline.store.db import session_scope
from pipeline.store.models import Document
from pipeline.store.search import query_tokens, snippet, word_window
from pipeline.text.normalize import search_text

_register()

# Our own text: long enough that a snippet is a window inside it.
TEXT = (
    "The deputy foreign ministers of both countries met in the border town on Tuesday morning. "
    "They reviewed the maps prepared by the two commissions over the summer months. "
    "Afterwards the delegations discussed the reopening of the railway through Meghri, which "
    "commentators have long called the Zangezur corridor, and agreed to meet again before the "
    "end of the year to settle the remaining questions about customs posts and border guards."
)


def _doc(text: str) -> Document:
    return Document(title="Talks", text=text)


def test_snippet_starts_and_ends_on_word_boundaries() -> None:
    got = snippet(_doc(TEXT), query_tokens("Zangezur"))
    assert got.startswith("…") and got.endswith("…")
    body = got.strip("…")
    assert "Zangezur corridor" in body
    # Whole words only: the first and last words of the window are words of the text.
    words = TEXT.split()
    assert body.split()[0] in words and body.split()[-1] in words
    assert TEXT.find(body) >= 0  # a contiguous stretch of the text, nothing cut mid-word


def test_window_on_one_line_and_no_marks_where_the_text_is_whole() -> None:
    assert word_window("Alpha beta\ngamma", 0, 16) == "Alpha beta gamma"
    assert word_window("Alpha beta gamma delta", 2, 15) == "…beta…"
    # A single word longer than the window (a URL) is cut where it must be.
    assert word_window("x" * 50, 10, 20) == "…" + "x" * 10 + "…"


def test_snippet_without_a_hit_is_the_opening_words() -> None:
    got = snippet(_doc(TEXT), ["nowhere"])
    assert got.endswith("…") and TEXT.startswith(got[:-1])
    assert TEXT[len(got) - 1] == " "  # it stopped before a space, not inside a word


def test_search_without_a_hit_gives_a_hint(db_url: str) -> None:
    with session_scope() as s:
        s.add(
            Document(
                url_hash="h", url="https://x.org/1", canonical_url="https://x.org/1",
                title="Talks", text=TEXT, language="en", extraction_method="test",
                content_hash="c", search_text=search_text(f"Talks\n{TEXT}"),
            )
        )  # fmt: skip
    runner = CliRunner()
    found = runner.invoke(app, ["search", "Meghri"])
    assert found.exit_code == 0, found.output
    assert "doc 1 ·" in found.stdout
    none = runner.invoke(app, ["search", "Meghri orchestra", "--lang", "en"])
    assert none.exit_code == 0, none.output
    assert "No stored document has every word of 'Meghri orchestra' (--lang en)" in none.stdout
    assert "drop the filters" in none.stdout and "results for" not in none.stdout
