"""Alerts follow stories: one email per subscriber and story, with its versions and languages.

The documents go through the real dedup (``assign``), the alerts through the real planner and a
loopback SMTP server; the statement, its translation and the re-report are our own texts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from pipeline.alerts import run_alerts
from pipeline.alerts.subscribers import SubscriberSet
from pipeline.cli import _register, app
from pipeline.config.settings import get_settings
from pipeline.dedup import assign
from pipeline.dedup.refold import refold
from pipeline.store.db import session_scope
from pipeline.store.models import Alert, Cluster, Document
from pipeline.store.stories import load_story
from tests.alerts_data import DAY1, document, match, source, subscribers, topic
from tests.integration.test_alerts_smtp import free_port

EN_TITLE = "Deputy Foreign Minister Oleg Vetrov receives the Syunik delegation"
EN = (
    "On 14 March 2026 Deputy Foreign Minister Oleg Vetrov received in Moscow the delegation of "
    "the Syunik regional council led by Arsen Karapetyan. The parties discussed reopening the "
    "Meghri section of the railway and the 43 kilometres of track between Julfa and Ordubad. "
    "The Russian side confirmed that its border service would begin inspecting the checkpoints "
    "on 20 March. Vetrov stressed that the Zangezur corridor must serve regional trade and the "
    "peace treaty. The next round of consultations is planned in Kapan in April."
)
RU_TITLE = "Заместитель министра иностранных дел Олег Ветров принял делегацию Сюника"
RU = (
    "14 марта 2026 года заместитель министра иностранных дел Олег Ветров принял в Москве "
    "делегацию регионального совета Сюника во главе с Арсеном Карапетяном. Стороны обсудили "
    "возобновление движения на Мегринском участке железной дороги и 43 километра пути между "
    "Джульфой и Ордубадом. Российская сторона подтвердила, что её пограничная служба начнёт "
    "проверку пунктов пропуска 20 марта. Ветров подчеркнул, что Зангезурский коридор должен "
    "служить региональной торговле и мирному договору. Следующий раунд консультаций "
    "запланирован в Капане в апреле."
)
OTHER_TITLE = "Ministry comments on the grain shipments through Poti"
OTHER = (
    "The ministry spokeswoman Irina Zolotova said on 2 March that 12 grain vessels had left the "
    "port of Poti for Trabzon since January. She called on the shipping companies to register "
    "their cargo with the customs office in Batumi before the 31 March deadline. Questions "
    "about the Zangezur corridor, she added, would be answered at the weekly briefing."
)
PUBLISHED = DAY1.replace(hour=8)
INSTANT = {"id": "desk", "email": "desk@example.org", "mode": "instant"}


class Sink:
    """aiosmtpd handler that keeps every accepted message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sink]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("NEWSMON_SMTP_URL", f"smtp://127.0.0.1:{port}?starttls=0&timeout=5")
    get_settings.cache_clear()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def _commands() -> None:
    _register()  # the CLI registers its commands when it starts


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def arrive(
    s: Session,
    *,
    name: str,
    title: str,
    text: str,
    language: str,
    hours: float = 0,
    kind: str = "ministry",
    topics: tuple[str, ...] = ("zangezur-corridor",),
    fold: bool = True,
) -> Document:
    """A document arriving ``hours`` after the statement: stored, folded by dedup, matched."""
    src = source(s, name, type_=kind, label=name.upper())
    at = PUBLISHED + timedelta(hours=hours)
    doc = document(
        s,
        src=src,
        title=title,
        text=text,
        url=f"https://{name}.example.org/{language}/{abs(hash(title)) % 10**8}",
        published=at,
        language=language,
        first_seen=at,
    )
    if fold:
        assign(s, doc)
    for topic_id in topics:
        match(s, doc, topic_id, "Zangezur" if language == "en" else "Зангезурский коридор")
    return doc


def send(url: str, subs: SubscriberSet, now: datetime) -> int:
    """One alert run; the number of emails it sent."""
    return run_alerts(url=url, subscribers=subs, now=now, caught_up_after=None).emails_sent


def test_translation_after_alert_sends_nothing_and_joins_the_versions(
    db_url: str, smtp: Sink
) -> None:
    subs = subscribers(INSTANT)
    with session_scope(db_url) as s:
        en = arrive(s, name="mfa-ru", title=EN_TITLE, text=EN, language="en")
        story_id = en.cluster_id
    assert send(db_url, subs, DAY1) == 1
    (first,) = smtp.messages
    assert EN_TITLE in str(first["Subject"])
    with session_scope(db_url) as s:
        ru = arrive(s, name="mid-ru", title=RU_TITLE, text=RU, language="ru", hours=3)
        assert ru.cluster_id == story_id  # the translation joined the story
    assert send(db_url, subs, DAY1 + timedelta(hours=4)) == 0
    assert len(smtp.messages) == 1
    with session_scope(db_url) as s:
        story = load_story(s, story_id or 0)
        assert story is not None
        assert story.languages == ["en", "ru"]
        assert [v.language for v in story.versions] == ["en", "ru"]
        rows = list(s.scalars(select(Alert)))
    assert [(r.subscriber, r.status) for r in rows] == [("desk", "sent")]
    # `newsmon stories` shows the languages.
    result = CliRunner().invoke(app, ["stories", "--json"])
    assert result.exit_code == 0, result.output
    listed = [json.loads(line) for line in result.output.splitlines()]
    assert [(d["cluster"], d["languages"]) for d in listed] == [(story_id, ["en", "ru"])]


def test_one_email_per_story_whatever_topics_it_matches(db_url: str, smtp: Sink) -> None:
    topics = ["zangezur-corridor", "peace-treaty", "border-delimitation"]
    subs = subscribers(
        {**INSTANT, "topics": topics},
        {"id": "daily", "email": "daily@example.org", "mode": "digest", "topics": topics},
    )
    with session_scope(db_url) as s:
        topic(s, "border-delimitation")  # defined, not matched yet
        en = arrive(
            s,
            name="mfa-ru",
            title=EN_TITLE,
            text=EN,
            language="en",
            topics=("zangezur-corridor", "peace-treaty"),
        )
        arrive(s, name="mid-ru", title=RU_TITLE, text=RU, language="ru", hours=2)
    assert send(db_url, subs, DAY1) == 1  # the instant one; the digest waits for its hour
    (instant,) = smtp.to("desk@")
    body = text_of(instant)
    assert "Zangezur corridor" in str(instant["Subject"]) and "Peace treaty" in body
    assert "Also in: Русский" in body
    with session_scope(db_url) as s:
        # A topic the story comes to match later is added to the story, not alerted again.
        match(s, s.get(Document, en.id) or en, "border-delimitation", "border service")
    digest_time = DAY1 + timedelta(days=1)
    assert send(db_url, subs, digest_time) == 1  # only the digest
    (digest,) = smtp.to("daily@")
    listed = text_of(digest)
    # The digest lists the story once, under its origin's headline, with its languages.
    assert listed.count(EN_TITLE) == 1 and RU_TITLE not in listed
    assert "Border delimitation" in listed and "Also in: Русский" in listed
    assert len(smtp.to("desk@")) == 1
    with session_scope(db_url) as s:
        assert len(list(s.scalars(select(Alert)))) == 2  # one row per subscriber and story


def test_languages_filter_applies_to_versions_and_leads_with_theirs(
    db_url: str, smtp: Sink
) -> None:
    subs = subscribers(
        {"id": "ru-desk", "email": "ru@example.org", "mode": "instant", "languages": ["ru"]},
        {"id": "en-desk", "email": "en@example.org", "mode": "instant", "languages": ["en"]},
        {"id": "hy-desk", "email": "hy@example.org", "mode": "instant", "languages": ["hy"]},
    )
    with session_scope(db_url) as s:
        # Only the English origin matched the topic; the Russian version brings it to ru-desk.
        arrive(s, name="mfa-ru", title=EN_TITLE, text=EN, language="en")
        arrive(
            s, name="tass", title=RU_TITLE, text=RU, language="ru", hours=2, kind="wire", topics=()
        )
    assert send(db_url, subs, DAY1) == 2
    (ru,) = smtp.to("ru@")
    (en,) = smtp.to("en@")
    assert smtp.to("hy@") == []
    # Compared without spaces: Python's header folding drops a space between two encoded words.
    subject = "".join(str(ru["Subject"]).split())
    assert "".join(RU_TITLE.split()) in subject and "".join(EN_TITLE.split()) not in subject
    ru_body = text_of(ru)
    assert ru_body.startswith("newsmon alert") and ru_body.index(RU_TITLE) < ru_body.index(EN_TITLE)
    assert "Origin: MFA-RU" in ru_body and "Also in: English" in ru_body
    assert EN_TITLE in str(en["Subject"]) and "Also in: Русский" in text_of(en)


def old_rules_archive(s: Session) -> tuple[Document, Document, Document]:
    """What the earlier rules left: the statement and its translation as two stories."""
    en = arrive(s, name="mfa-ru", title=EN_TITLE, text=EN, language="en")
    other = arrive(s, name="mfa-ge", title=OTHER_TITLE, text=OTHER, language="en", hours=1)
    ru = arrive(s, name="mid-ru", title=RU_TITLE, text=RU, language="ru", hours=2, fold=False)
    apart = Cluster(
        origin_document_id=ru.id,
        size=1,
        first_seen_at=ru.first_seen_at,
        updated_at=ru.first_seen_at,
    )
    s.add(apart)
    s.flush()
    ru.cluster_id = apart.id
    s.flush()
    return en, other, ru


def clusters_of(url: str) -> dict[int, tuple[int | None, int | None, float | None]]:
    with session_scope(url) as s:
        return {
            d.id: (d.cluster_id, d.duplicate_of_id, d.similarity)
            for d in s.scalars(select(Document))
        }


def test_merge_after_alerts_alerts_nobody_again(any_db_url: str, smtp: Sink) -> None:
    subs = subscribers(
        INSTANT,
        {"id": "ru-desk", "email": "ru@example.org", "mode": "instant", "languages": ["ru"]},
        {"id": "daily", "email": "daily@example.org", "mode": "digest"},
    )
    with session_scope(any_db_url) as s:
        en, other, ru = old_rules_archive(s)
        story_en, story_ru = en.cluster_id, ru.cluster_id
    # desk hears of the three stories, ru-desk of the Russian one; daily's digest is queued.
    assert send(any_db_url, subs, DAY1) == 4
    report = refold(any_db_url, since=PUBLISHED - timedelta(days=1))
    assert report.merged == {story_en: [story_en, story_ru]}
    with session_scope(any_db_url) as s:
        assert s.get(Document, ru.id).cluster_id == story_en  # type: ignore[union-attr]
        statuses = {(r.subscriber, r.document_id): r.status for r in s.scalars(select(Alert))}
    # daily's queued rows of the statement and its translation are now one story.
    assert {d: v for (sub, d), v in statuses.items() if sub == "daily"} == {
        en.id: "pending",
        other.id: "pending",
        ru.id: "merged",
    }
    before = len(smtp.messages)
    assert send(any_db_url, subs, DAY1 + timedelta(days=1)) == 1  # daily's digest, nothing else
    assert len(smtp.messages) == before + 1
    digest = text_of(smtp.to("daily@")[-1])
    assert digest.count(EN_TITLE) == 1 and "Also in: Русский" in digest
    assert send(any_db_url, subs, DAY1 + timedelta(days=2)) == 0


def test_refold_is_idempotent_and_keeps_story_numbers(db_url: str) -> None:
    with session_scope(db_url) as s:
        en, other, ru = old_rules_archive(s)
        kept = {en.cluster_id, other.cluster_id}
    first = refold(db_url)
    assert (first.stories_before, first.stories_after, len(first.merged)) == (3, 2, 1)
    after_first = clusters_of(db_url)
    assert {cid for cid, _, _ in after_first.values()} == kept  # numbers reused, none new
    assert after_first[ru.id][0] == after_first[en.id][0]
    with session_scope(db_url) as s:
        updated = {c.id: c.updated_at for c in s.scalars(select(Cluster))}
    second = refold(db_url)
    assert second.unchanged == second.stories_before == second.stories_after == 2
    assert (second.merged, second.split, second.alerts_kept) == ({}, {}, 0)
    assert clusters_of(db_url) == after_first
    with session_scope(db_url) as s:
        assert {c.id: c.updated_at for c in s.scalars(select(Cluster))} == updated


def test_refold_split_keeps_the_alerted_parts_alerted(db_url: str, smtp: Sink) -> None:
    subs = subscribers(INSTANT)
    with session_scope(db_url) as s:
        en = arrive(s, name="mfa-ru", title=EN_TITLE, text=EN, language="en")
        # The earlier rules put an unrelated statement into the same story.
        other = arrive(
            s, name="mfa-ge", title=OTHER_TITLE, text=OTHER, language="en", hours=1, fold=False
        )
        other.cluster_id = en.cluster_id
        cluster = s.get(Cluster, en.cluster_id)
        assert cluster is not None
        cluster.size = 2
    assert send(db_url, subs, DAY1) == 1
    report = refold(db_url)
    assert len(report.split) == 1 and report.alerts_kept == 1
    assert send(db_url, subs, DAY1 + timedelta(hours=2)) == 0
    with session_scope(db_url) as s:
        rows = {r.document_id: r.status for r in s.scalars(select(Alert))}
    assert rows == {en.id: "sent", other.id: "merged"}


def test_refold_cli_since_and_summary(db_url: str) -> None:
    with session_scope(db_url) as s:
        old_rules_archive(s)
    runner = CliRunner()
    result = runner.invoke(app, ["dedup", "--refold", "--since", "2026-03-10", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.splitlines()[-1])
    assert (summary["documents"], summary["merges"], summary["stories_after"]) == (3, 1, 2)
    again = runner.invoke(app, ["dedup", "--refold", "--since", "2026-03-10"])
    assert again.exit_code == 0 and "0 merged, 0 split" in " ".join(again.output.split())
    late = runner.invoke(app, ["dedup", "--refold", "--since", "2026-04-01", "--json"])
    assert json.loads(late.output.splitlines()[-1])["documents"] == 0
    bad = runner.invoke(app, ["dedup", "--since", "2026-03-10"])
    assert bad.exit_code == 2
