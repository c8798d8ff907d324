"""Email subjects: "Headline — Outlet [topic, topic]", cut at the end, decoded exactly as built."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from pipeline.alerts.render import MAX_SUBJECT, Rendered, build_message, instant_subject

TOPICS = ["Zangezur corridor", "Border delimitation", "Peace treaty"]
# Our own headlines, long enough that the encoded Subject is folded over several lines; with
# Python 3.11's own folding both lose a space when decoded ("принялделегацию").
RUSSIAN = (
    "Премьер-министр принял делегацию Европейского союза и обсудил открытие региональных "
    "коммуникаций"
)
ARMENIAN = (
    "Փոխնախարարն ընդունել է սահմանային հանձնաժողովի պատվիրակությանը և քննարկել "
    "սահմանի հատվածների սահմանազատման ժամանակացույցը և տրանսպորտային ուղիների վերականգնումը"
)


def test_headline_first_then_outlet_then_topics() -> None:
    subject = instant_subject("Talks on the road resumed", "MFA-AM", TOPICS[:2])
    assert subject == "Talks on the road resumed — MFA-AM [Zangezur corridor, Border delimitation]"


def test_topics_give_way_before_anything_is_cut() -> None:
    headline = (
        "Deputy ministers met in Yerevan to review the delimitation of the northern border "
        "and the new road"
    )
    subject = instant_subject(headline, "ARMENPRESS", TOPICS)
    assert len(subject) <= MAX_SUBJECT
    assert subject == f"{headline} — ARMENPRESS [Zangezur corridor, Border delimitation +1]"


def test_the_headline_is_never_cut() -> None:
    long_headline = " ".join(["The commission reviewed the northern section"] * 4)
    assert len(long_headline) > MAX_SUBJECT
    assert instant_subject(long_headline, "MFA-AM", TOPICS) == long_headline
    # Room for a little: the tail is cut, the headline and the space before the dash stay.
    headline = "x" * (MAX_SUBJECT - 12)
    subject = instant_subject(headline, "A long outlet name", TOPICS)
    assert subject.startswith(headline + " — A long") and subject.endswith("…")
    assert len(subject) == MAX_SUBJECT


def _round_trip(subject: str) -> tuple[str, bytes]:
    """Build the message, serialise it as sent, parse it back; the decoded Subject and raw head."""
    msg = build_message(
        Rendered(subject=subject, text="body", html="<p>body</p>"),
        to_addr="desk@example.org",
        mail_from="newsmon <newsmon@example.org>",
        message_id="<alert-1.abc@newsmon>",
        date=datetime(2026, 3, 10, 10, 0, tzinfo=UTC),
    )
    raw = msg.as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return str(parsed["Subject"]), raw.split(b"\r\n\r\n", 1)[0]


@pytest.mark.parametrize("headline", [RUSSIAN, ARMENIAN], ids=["cyrillic", "armenian"])
def test_non_latin_subject_decodes_exactly(headline: str) -> None:
    subject = instant_subject(headline, "MFA-AM", TOPICS)
    decoded, head = _round_trip(subject)
    assert decoded == subject
    assert "принял делегацию" in decoded or "ընդունել է" in decoded
    # Folded into short lines of encoded words (RFC 5322's 78), all ASCII on the wire.
    assert head.isascii()
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    assert head.count(b"=?utf-8?") > 1


def test_latin_subject_decodes_exactly() -> None:
    headline = "Deputy ministers met in Yerevan to review the delimitation of the northern border"
    subject = instant_subject(headline, "MFA-AM", TOPICS[:1])
    assert _round_trip(subject)[0] == subject


def test_ascii_subject_stays_plain() -> None:
    subject = "newsmon: 2 sources failed in run 14 (mfa-am, tass) " * 2
    decoded, head = _round_trip(subject)
    assert decoded == subject.strip() and b"=?" not in head
