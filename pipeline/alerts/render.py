"""Alert messages: Jinja2 templates (HTML autoescaped + plain text), subjects and safe headers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipeline.alerts.ledger import CAUGHT_UP_REASONS
from pipeline.alerts.stories import MAX_PASSAGES, Passage, StoryView, autonym, merge_spans
from pipeline.alerts.subscribers import Subscriber
from pipeline.config.settings import get_settings

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# Long subjects get cut by mail clients anyway; 160 keeps a headline, its outlet and a topic.
MAX_SUBJECT = 160
# A headline is never cut to fit MAX_SUBJECT; this only bounds a "title" that is really a
# paragraph (a page without a headline).
MAX_HEADLINE = 300
# Headers of a built message: the renderers already bounded the subject.
MAX_HEADER = 400
# Terms listed per topic; the highlighted passages show the rest.
MAX_TERMS = 4
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")


def clean_header(value: str, limit: int = MAX_SUBJECT) -> str:
    """A header value without CR/LF or other controls (no header injection), spaces collapsed."""
    flat = " ".join(_CONTROL.sub(" ", value).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def instant_subject(
    headline: str, outlet: str, topics: Sequence[str], limit: int = MAX_SUBJECT
) -> str:
    """ "Headline — Outlet [topic, topic]", cut at the end to fit, never into the headline."""
    head = clean_header(headline, MAX_HEADLINE) or "(untitled)"
    source = clean_header(outlet, limit)
    names = [clean_header(t, limit) for t in topics]
    full = f"{head} — {source} [{', '.join(names)}]"
    if len(full) <= limit:
        return full
    # Fewer topic names, the rest counted, before anything gets cut.
    for keep in range(len(names) - 1, 0, -1):
        shorter = f"{head} — {source} [{', '.join(names[:keep])} +{len(names) - keep}]"
        if len(shorter) <= limit:
            return shorter
    room = limit - len(head)
    tail = full[len(head) :]
    # Cut in the outlet or topic, not into the headline (" — …" alone says nothing).
    return head + tail[: room - 1].rstrip() + "…" if room > len(" — ") + 2 else head


def language_name(code: str | None) -> str:
    """A language code's name in its own script ("Русский"), as the story's versions are listed."""
    if not code:
        return "unknown language"
    return autonym(code)


def term_label(term: str) -> str:
    """A topic term for people: stems ("Зангезурск*") shown as "Зангезурск…"."""
    return term.replace("*", "…")


def terms_label(terms: Sequence[str], limit: int = MAX_TERMS) -> str:
    """The terms that fired, the first few of them (a long list buries the story)."""
    shown = ", ".join(term_label(t) for t in terms[:limit])
    return shown + (f" +{len(terms) - limit} more" if len(terms) > limit else "")


def safe_url(url: str) -> str:
    """Only http(s) links reach a message; anything else (``javascript:``) becomes ``#``."""
    return url if urlsplit(url.strip()).scheme.lower() in {"http", "https"} else "#"


def local_time(moment: datetime, fmt: str = "%d %b %Y, %H:%M") -> str:
    """A timestamp in NEWSMON_TIMEZONE, for people."""
    tz = get_settings().tz
    return f"{moment.astimezone(tz).strftime(fmt)} ({get_settings().timezone})"


@cache
def environment() -> Environment:
    """The template environment: autoescape for .html, strict about missing variables."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["localtime"] = local_time
    env.filters["language"] = language_name
    env.filters["safe_url"] = safe_url
    env.filters["terms"] = terms_label
    # Links into the analyst's view (NEWSMON_WEB_URL); the block renders nothing when unset.
    from pipeline.web.links import email_links

    env.globals["newsmon_web_links"] = email_links
    return env


@dataclass
class StoryItem:
    """One story in a message: its shared facts and the topics (with passages) it matched."""

    views: list[StoryView]

    @property
    def story(self) -> StoryView:
        """The view whose title, origin and outlets are shown."""
        return self.views[0]

    @property
    def passages(self) -> list[Passage]:
        """Passages of all matched topics, each shown once with every topic's hits marked."""
        merged: dict[tuple[str, str], Passage] = {}
        for view in self.views:
            for p in view.passages:
                key = (p.field, p.text)
                if key in merged:
                    spans = merge_spans([*merged[key].spans, *p.spans])
                    merged[key] = Passage(p.field, p.text, spans)
                elif len(merged) < MAX_PASSAGES:
                    merged[key] = p
        return list(merged.values())


@dataclass
class Section:
    """A digest section: the stories of one topic."""

    topic_id: str
    topic_name: str
    items: list[StoryItem] = field(default_factory=list)


@dataclass(frozen=True)
class Rendered:
    """A rendered message before it becomes MIME."""

    subject: str
    text: str
    html: str


def group_items(views: Sequence[StoryView]) -> list[StoryItem]:
    """Merge the per-topic views of each story into one item, in first-seen order."""
    items: dict[int, StoryItem] = {}
    for view in views:
        items.setdefault(view.cluster_id, StoryItem([])).views.append(view)
    return list(items.values())


def sections(items: list[StoryItem], topic_order: Sequence[str]) -> list[Section]:
    """Group items by their first topic (in the subscription's order); each story appears once."""
    rank = {t: i for i, t in enumerate(topic_order)}
    out: dict[str, Section] = {}
    for item in items:
        item.views.sort(key=lambda v: (rank.get(v.topic_id, len(rank)), v.topic_id))
        first = item.views[0]
        out.setdefault(first.topic_id, Section(first.topic_id, first.topic_name)).items.append(item)
    return sorted(out.values(), key=lambda s: (rank.get(s.topic_id, len(rank)), s.topic_id))


def _footer(sub: Subscriber) -> dict[str, object]:
    """What the footer says about the subscription."""
    settings = get_settings()
    try:
        path = str(settings.subscribers_path.relative_to(settings.seeds_dir.parent))
    except ValueError:
        path = str(settings.subscribers_path)
    return {"sub": sub, "subscribers_file": path, "tz": settings.timezone}


def render_instant(sub: Subscriber, item: StoryItem) -> Rendered:
    """One new story (possibly several topics) for an instant subscriber."""
    story = item.story
    # The headline the reader sees first (their language's version) and the outlet that ran it.
    subject = instant_subject(
        story.title, story.lead_outlet or story.origin, [v.topic_name for v in item.views]
    )
    ctx = {"item": item, "story": story, "subject": subject, **_footer(sub)}
    env = environment()
    return Rendered(
        subject=subject,
        text=env.get_template("instant.txt").render(ctx),
        html=env.get_template("instant.html").render(ctx),
    )


def render_digest(
    sub: Subscriber,
    fresh: list[StoryItem],
    caught_up: list[StoryItem],
    *,
    day: datetime,
    reasons: Sequence[str] = (),
) -> Rendered:
    """One digest: new stories by topic, then the "caught up" ones and why they were caught up.

    ``reasons``: keys of ``CAUGHT_UP_REASONS`` (``ledger.caught_up_reasons`` of the rows).
    """
    fresh_sections = sections(fresh, sub.topics)
    caught_sections = sections(caught_up, sub.topics)
    count = len(fresh) + len(caught_up)
    per_topic = ", ".join(f"{s.topic_name} ({len(s.items)})" for s in fresh_sections)
    extra = f"{len(caught_up)} caught up" if caught_up else ""
    summary = "; ".join(p for p in (per_topic, extra) if p)
    day_text = day.astimezone(get_settings().tz).strftime("%d %b %Y")
    noun = "story" if count == 1 else "stories"
    subject = clean_header(f"[newsmon] Digest {day_text}: {count} {noun} — {summary}")
    ctx = {
        "fresh": fresh_sections,
        "caught": caught_sections,
        "count": count,
        "caught_count": len(caught_up),
        "caught_notes": [CAUGHT_UP_REASONS[r] for r in reasons or ["earlier"]] if caught_up else [],
        "day": day_text,
        "subject": subject,
        **_footer(sub),
    }
    env = environment()
    return Rendered(
        subject=subject,
        text=env.get_template("digest.txt").render(ctx),
        html=env.get_template("digest.html").render(ctx),
    )


def render_operator(subject: str, lines: list[str]) -> Rendered:
    """A plain operator notice (text and a minimal HTML part)."""
    env = environment()
    ctx = {"subject": clean_header(subject), "lines": lines}
    return Rendered(
        subject=ctx["subject"],  # type: ignore[arg-type]
        text=env.get_template("operator.txt").render(ctx),
        html=env.get_template("operator.html").render(ctx),
    )


def set_subject(msg: EmailMessage, subject: str) -> None:
    """Set the Subject header so that any client decodes exactly ``subject``."""
    if subject.isascii():
        msg["Subject"] = subject
        return
    # Python 3.11's folder can put the space between two encoded words outside them, where
    # RFC 2047 decoders drop it ("принял делегацию" -> "принялделегацию"); Header.encode keeps
    # every space inside an encoded word, and its lines are short enough not to be refolded.
    encoded = Header(subject, "utf-8", header_name="Subject").encode(linesep="\n")
    msg.set_raw("Subject", encoded)


def build_message(
    rendered: Rendered,
    *,
    to_addr: str,
    to_name: str = "",
    mail_from: str,
    message_id: str,
    date: datetime,
    extra_headers: dict[str, str] | None = None,
) -> EmailMessage:
    """MIME multipart/alternative (text first, HTML preferred) with sanitised headers."""
    msg = EmailMessage(policy=SMTP)
    set_subject(msg, clean_header(rendered.subject, MAX_HEADER))
    msg["From"] = clean_header(mail_from, 300)
    msg["To"] = formataddr((clean_header(to_name, 100), clean_header(to_addr, 300)))
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = clean_header(message_id, 200)
    # RFC 3834: automatic messages; stops out-of-office loops.
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in (extra_headers or {}).items():
        msg[name] = clean_header(value, 300)
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return msg
