"""The HTML pages: Today, Story, Search, Topics, Sources, the feeds and the one-click judgement."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.alerts.feeds import build_feed
from pipeline.alerts.ledger import mute_cluster
from pipeline.alerts.stories import topic_names
from pipeline.config.settings import get_settings
from pipeline.errors import InputError
from pipeline.store.models import Topic, utcnow
from pipeline.store.search import query_tokens, search
from pipeline.store.stories import load_stories
from pipeline.topics.judgements import judge
from pipeline.web import queries
from pipeline.web.app import Web, db_session, user, web
from pipeline.web.links import LinkRefused, verify
from pipeline.web.security import CSRF_FIELD, TOKEN_COOKIE, base_path, token_matches
from pipeline.web.sources import source_rows
from pipeline.web.text import highlight

router = APIRouter()
public = APIRouter()  # reachable without the gate: the one-click links carry their own proof
PAGE_SIZE = 20
MAX_PAGE = 50

DB = Annotated[Session, Depends(db_session)]
WEB = Annotated[Web, Depends(web)]
USER = Annotated[str | None, Depends(user)]
Csrf = Annotated[str | None, Form(alias=CSRF_FIELD)]
Opt = Annotated[str | None, Query(max_length=200)]
Hours = Annotated[int, Query(ge=1, le=queries.MAX_HOURS)]
StoryId = Annotated[int, Path(ge=1, le=2**62)]


def filters(
    topic: Opt = None, source: Opt = None, lang: Opt = None, day: Opt = None, hours: Hours = 24
) -> queries.Filters:
    """The filters from the query string."""
    return queries.Filters(topic or None, source or None, lang or None, day or None, hours)


FILTERS = Annotated[queries.Filters, Depends(filters)]


@router.get("/", response_class=HTMLResponse)
def today(request: Request, session: DB, w: WEB, f: FILTERS) -> HTMLResponse:
    """Stories first seen in the window, grouped by topic, newest first."""
    now = utcnow()
    since, until = f.window(now, get_settings().tz)
    sections = queries.today(session, f, since, until)
    return w.page(
        request, "today.html", sections=sections, f=f, since=since, until=until,
        count=sum(len(s.cards) for s in sections), choices=queries.choices(session),
    )  # fmt: skip


def _story_or_404(session: Session, story: int) -> queries.StoryPage:
    """The story page data, or 404."""
    found = queries.story_page(session, story)
    if found is None:
        raise HTTPException(404, f"there is no story {story} (stories merge: search for it)")
    return found


@router.get("/stories/{story}", response_class=HTMLResponse)
def story_page(
    request: Request, session: DB, w: WEB, story: StoryId, done: Opt = None
) -> HTMLResponse:
    """Every version and copy, the matches with passages, alert history, judgement buttons."""
    page = _story_or_404(session, story)
    return w.page(request, "story.html", p=page, done=done)


def _known_topics(session: Session) -> set[str]:
    """The topic ids a judgement may name."""
    return set(session.scalars(select(Topic.id)))


@router.post("/stories/{story}/judge")
def judge_story(
    request: Request,
    session: DB,
    w: WEB,
    who: USER,
    story: StoryId,
    topic: Annotated[str, Form(max_length=100)],
    verdict: Annotated[str, Form(pattern="^(relevant|not-relevant)$")],
    csrf: Csrf = None,
) -> Response:
    """Record Relevant / Not relevant for one topic (the ``topics judge`` judgement)."""
    w.csrf.check(request, csrf)
    _story_or_404(session, story)
    note = f"web view ({who})" if who else "web view"
    judge(
        session, story, topic, relevant=verdict == "relevant", note=note,
        known=_known_topics(session),
    )  # fmt: skip
    return RedirectResponse(f"{base_path(request)}/stories/{story}?done=judged", status_code=303)


@router.post("/stories/{story}/mute")
def mute_story(request: Request, session: DB, w: WEB, who: USER, story: StoryId,
               csrf: Csrf = None) -> Response:  # fmt: skip
    """Silence the story for everyone (``newsmon alerts mute``); it leaves Today."""
    w.csrf.check(request, csrf)
    _story_or_404(session, story)
    mute_cluster(session, story, reason=f"muted in the web view ({who or 'analyst'})")
    return RedirectResponse(f"{base_path(request)}/stories/{story}?done=muted", status_code=303)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    session: DB,
    w: WEB,
    f: FILTERS,
    q: Annotated[str, Query(max_length=1000)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    """The archive through the matching normalisation: any script or spelling finds the others."""
    hits: list[Any] = []
    tokens: list[str] = []
    since = until = None
    if q.strip():
        tokens = query_tokens(q)
        if f.day:
            since, until = f.window(utcnow(), get_settings().tz)
        hits = search(
            session, q, source=f.source, language=f.language, topic=f.topic, since=since,
            until=until, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE,
        )  # fmt: skip
    more = len(hits) > PAGE_SIZE
    hits = hits[:PAGE_SIZE]
    stories = queries.cluster_of(session, [h.document_id for h in hits])
    rows = [(h, stories.get(h.document_id), highlight(h.snippet, tokens)) for h in hits]
    return w.page(
        request, "search.html", q=q, f=f, rows=rows, page=page, more=more,
        choices=queries.choices(session),
    )  # fmt: skip


@router.get("/topics", response_class=HTMLResponse)
def topics_page(request: Request, session: DB, w: WEB) -> HTMLResponse:
    """Every topic: recent stories and the precision analysts' judgements imply."""
    since = utcnow() - timedelta(days=7)
    return w.page(request, "topics.html", rows=queries.topic_rows(session, since))


@router.get("/topics/{topic_id}", response_class=HTMLResponse)
def topic_page(
    request: Request, session: DB, w: WEB, topic_id: Annotated[str, Path(max_length=100)]
) -> HTMLResponse:
    """One topic: definition, recent stories, judged examples."""
    topic = session.get(Topic, topic_id)
    if topic is None:
        raise HTTPException(404, f"there is no topic {topic_id!r}")
    since = utcnow() - timedelta(days=7)
    return w.page(
        request, "topic.html", topic=topic, row=queries.topic_rows(session, since, topic_id)[0],
        cards=queries.topic_cards(session, topic_id),
        examples=queries.judged_examples(session, topic_id),
    )  # fmt: skip


@router.get("/sources", response_class=HTMLResponse)
def sources_page(request: Request, session: DB, w: WEB) -> HTMLResponse:
    """Last successful crawl and recent outcomes per source, failing or silent ones first."""
    settings = get_settings()
    rows = source_rows(session, utcnow(), settings.source_silence_days)
    return w.page(request, "sources.html", rows=rows, silence_days=settings.source_silence_days)


@router.get("/feeds/{topic_id}.xml")
def feed(session: DB, topic_id: Annotated[str, Path(max_length=100)]) -> Response:
    """A topic's Atom feed, built from the database (the same document ``alerts feeds`` writes)."""
    topic = session.get(Topic, topic_id)
    if topic is None:
        raise HTTPException(404, f"there is no topic {topic_id!r}")
    body = build_feed(session, topic, topic_names(session))
    return Response(body, media_type="application/atom+xml")


# ----- one-click links from email: the signature is the authorisation -----

Token = Annotated[str, Path(max_length=400)]


def _one_click(session: Session, token: str) -> tuple[Any, Any]:
    """The request a link carries and its story; 403/404 otherwise."""
    try:
        ask = verify(token)
    except LinkRefused as exc:
        raise HTTPException(403, str(exc)) from None
    found = load_stories(session, [ask.story])
    if not found:
        raise HTTPException(404, f"story {ask.story} no longer exists (it merged into another)")
    return ask, found[0]


@public.get("/oneclick/{token}", response_class=HTMLResponse)
def one_click_confirm(request: Request, session: DB, w: WEB, token: Token) -> HTMLResponse:
    """The confirmation page: opening a link never changes anything (mail scanners open them)."""
    ask, story = _one_click(session, token)
    names = topic_names(session)
    return w.page(
        request, "confirm.html", ask=ask, story=story, token=token,
        topic_name=names.get(ask.topic, ask.topic), recorded=False,
    )  # fmt: skip


@public.post("/oneclick/{token}", response_class=HTMLResponse)
def one_click_record(
    request: Request, session: DB, w: WEB, token: Token, csrf: Csrf = None
) -> HTMLResponse:
    """Record "not relevant" for the link's story and topic."""
    w.csrf.check(request, csrf)
    ask, story = _one_click(session, token)
    try:
        judge(
            session, ask.story, ask.topic, relevant=False,
            note=f"one-click link from an alert to {ask.subscriber}", known=_known_topics(session),
        )  # fmt: skip
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None
    names = topic_names(session)
    return w.page(
        request, "confirm.html", ask=ask, story=story, token=token,
        topic_name=names.get(ask.topic, ask.topic), recorded=True,
    )  # fmt: skip


@public.get("/login", response_class=HTMLResponse)
def login_form(request: Request, w: WEB, next: Opt = None) -> HTMLResponse:
    """The token form (standalone only)."""
    return w.page(request, "login.html", next=next or "/", error=None)


@public.post("/login")
def login(
    request: Request,
    w: WEB,
    token: Annotated[str, Form(max_length=500)],
    next: Annotated[str, Form(max_length=500)] = "/",
    csrf: Csrf = None,
) -> Response:
    """Check the token and keep it in an HttpOnly cookie."""
    w.csrf.check(request, csrf)
    expected = get_settings().web_token
    if not token_matches(token, expected):
        return w.page(request, "login.html", status=401, next=next, error="That is not the token.")
    base = base_path(request)
    # Only a path inside this app: never an open redirect to another site.
    inside = next.startswith("/") and not next.startswith("//") and "\\" not in next
    target = next if inside and next.startswith(base + "/") else base + "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        TOKEN_COOKIE, token, httponly=True, samesite="lax",
        secure=request.url.scheme == "https", path=base or "/",
    )  # fmt: skip
    return response
