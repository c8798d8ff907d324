"""Messages: escaping, highlighting by offsets, safe headers, footer, digest grouping."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

import pytest

from pipeline.alerts.render import build_message, clean_header, render_digest, render_instant
from pipeline.alerts.render import group_items as items_of
from pipeline.alerts.stories import hit_spans, load_story, make_passage
from pipeline.store.db import session_scope
from tests.alerts_data import DAY1, copy_of, story, subscribers


def test_highlight_escapes_first_then_marks_offsets() -> None:
    raw = {"field": "text", "text": 'The <b>Zangezur</b> corridor & "route" <script>x()</script>'}
    p = make_passage(raw, ["Zangezur corridor"])
    assert p is not None
    html = str(p.html)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>" not in html and "&amp;" in html
    # Hits are found in the raw text and never across scraped markup ("</b> " is not a space).
    assert "<mark>" not in html
    p2 = make_passage({"text": "Talks on the Zangezur corridor resumed."}, ["zangezur corridor"])
    assert p2 is not None
    assert str(p2.html) == "Talks on the <mark>Zangezur corridor</mark> resumed."
    assert p2.marked_text == "Talks on the *Zangezur corridor* resumed."


def test_highlight_stems_cyrillic_and_diacritics() -> None:
    text = "Вопрос Зангезурского коридора обсуждался. Zəngəzur dəhlizi açılacaq."
    spans = hit_spans(text, ["Зангезурск* коридор*", "Zangezur"])
    assert [text[s:e] for s, e in spans] == ["Зангезурского коридора"]
    spans = hit_spans(text, ["zəngəzur dəhlizi"])
    assert [text[s:e] for s, e in spans] == ["Zəngəzur dəhlizi"]
    # Word boundaries: "Baku" does not light up inside another word.
    assert hit_spans("Bakuvian delegates", ["Baku"]) == ()
    # Offsets given by the matcher win over term search.
    assert hit_spans("abc def", ["zzz"], hits=[[4, 7]]) == ((4, 7),)


def test_long_passage_is_cut_around_first_hit() -> None:
    text = "filler " * 200 + "the Meghri road " + "tail " * 100
    p = make_passage({"text": text}, ["Meghri"])
    assert p is not None
    assert len(p.text) <= 602 and p.text.startswith("…") and p.text.endswith("…")
    (span,) = p.spans
    assert p.text[span[0] : span[1]] == "Meghri"


def test_clean_header_removes_line_breaks() -> None:
    assert clean_header("a\r\nBcc: x@example.org\u2028b\tc") == "a Bcc: x@example.org b c"
    assert len(clean_header("x" * 500)) == 160


def test_instant_message_parts_headers_and_footer(db_url: str) -> None:
    sub = subscribers(
        {"id": "desk", "name": "Desk\r\nX-Evil: 1", "email": "desk@example.org", "mode": "instant"}
    ).items[0]
    with session_scope(db_url) as s:
        c, d = story(s, n=1, title="Talks <script>alert(1)</script>\r\nBcc: victim@example.org")
        copy_of(s, c, d, source_name="armenpress")
        view = load_story(s, c.id, "zangezur-corridor")
    assert view is not None
    assert [o.name for o in view.outlets] == ["MFA-AM", "ARMENPRESS"]
    rendered = render_instant(sub, items_of([view])[0])
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    assert rendered.subject.startswith("Talks <script>")
    assert rendered.subject.endswith(" — MFA-AM [Zangezur corridor]")
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "<mark>Zangezur corridor</mark>" in rendered.html
    assert "*Zangezur corridor*" in rendered.text
    assert "https://mfa.example.org/statements/1" in rendered.text
    assert 'href="https://mfa.example.org/statements/1"' in rendered.html
    assert "id: desk" in rendered.text and "seeds/subscribers.yaml" in rendered.text
    assert f"newsmon alerts mute {c.id}" in rendered.text
    msg = build_message(
        rendered,
        to_addr=sub.email or "",
        to_name=sub.name,
        mail_from="newsmon <newsmon@example.org>",
        message_id="<alert-1.abc@newsmon>",
        date=DAY1,
    )
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert parsed["X-Evil"] is None and parsed["Bcc"] is None
    assert parsed["Message-ID"] == "<alert-1.abc@newsmon>"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]


def test_digest_groups_by_topic_and_caught_up(db_url: str) -> None:
    sub = subscribers(
        {"id": "daily", "email": "d@example.org", "topics": ["peace-treaty", "zangezur-corridor"]}
    ).items[0]
    with session_scope(db_url) as s:
        views = []
        for n in range(1, 4):
            c, _ = story(s, n=n, published=DAY1 - timedelta(days=n))
            views.append(load_story(s, c.id, "zangezur-corridor", caught_up=True))
        c4, _ = story(s, n=4, topic_id="peace-treaty", term="peace agreement")
        fresh_view = load_story(s, c4.id, "peace-treaty")
    rendered = render_digest(sub, items_of([fresh_view]), items_of(views), day=DAY1)  # type: ignore[list-item]
    assert "4 stories" in rendered.subject and "Peace treaty (1)" in rendered.subject
    assert "3 caught up" in rendered.subject
    html = rendered.html
    assert html.index("Peace treaty") < html.index("Caught up") < html.index("Statement 1 ")
    assert html.count('class="story caught"') == 3
    assert rendered.text.count("== Caught up ==") == 1
    assert "daily at 08:00" in rendered.text


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x"])
def test_non_http_links_are_neutralised(db_url: str, url: str) -> None:
    sub = subscribers({"id": "desk", "email": "desk@example.org"}).items[0]
    with session_scope(db_url) as s:
        c, d = story(s, n=1)
        d.url = url
        s.flush()
        view = load_story(s, c.id, "zangezur-corridor")
    assert view is not None
    html = render_instant(sub, items_of([view])[0]).html
    assert url not in html and 'href="#"' in html
