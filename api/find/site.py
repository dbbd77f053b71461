"""What every page of the public website shares: its settings, templates, the visitor's
session, CSRF, rate limits and the directory prepared for searching.

The visitor's session lives in the store under the hash of a random cookie value (HttpOnly,
SameSite=Lax, Secure when served over HTTPS or when the setting asks): it holds only the
journey's answers, the shortlist and the CSRF token, and nothing personal goes in a URL.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
import structlog
from aiohttp import web

from api.http.headers import served_over_tls
from api.http.state import SESSIONS
from api.web.pages import WEB_CONFIG
from clients.temporal import TemporalUnavailable
from domain.accessibility import COMPLIANCE_WORDS, Compliance
from domain.capacity import directory_now
from domain.directory import Directory
from domain.find import FinderIndex
from domain.find_words import need_label
from domain.signed_link import LinkKeys
from store.directory import directory_revision, load_directory
from store.find_visits import load_visit, save_visit, take_allowance

log = structlog.get_logger(__name__)

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
COOKIE = "pf_find"
VISIT_LIFETIME = timedelta(hours=2)
MAX_FORM_BYTES = 16 * 1024
HONEYPOT = "website"
RATE_WINDOW = timedelta(hours=1)


@dataclass(frozen=True, kw_only=True)
class CouncilContacts:
    """Who residents contact about the website: shown in the footer, the accessibility
    statement and the privacy notice (the council's own, from the settings)."""

    email: str = "help@tendring.example"
    phone: str = "01632 960000"
    address: str = "Town Hall, Station Road, Clacton-on-Sea CO15 1SE"
    dpo_email: str = "dpo@tendring.example"
    safeguarding_phone: str = "01632 960999"
    compliance: Compliance = Compliance.FULL
    # What does not meet WCAG yet, in plain words; the statement lists it when not full.
    known_issues: tuple[str, ...] = ()
    statement_prepared: date = date(2026, 6, 1)
    statement_reviewed: date = date(2026, 12, 1)


@dataclass(frozen=True, kw_only=True)
class FindConfig:
    """The public website's settings."""

    council_name: str = "Tendring District Council (demonstration)"
    brand_colour: str = "#005a5b"
    contacts: CouncilContacts = field(default_factory=CouncilContacts)
    # The deployment's link keys (workers/serve.py passes them). Unset, a key made at random
    # for this app alone: no link from elsewhere verifies, and no value is written anywhere.
    link_keys: LinkKeys = field(
        default_factory=lambda: LinkKeys.from_secrets([secrets.token_urlsafe(32)])
    )
    submissions_per_hour: int = 5
    emails_per_hour: int = 5


FIND_CONFIG = web.AppKey("find_config", FindConfig)


@dataclass
class FinderCache:
    """The directory and its search index at one revision, shared by the pages."""

    revision: int = -1
    directory: Directory | None = None
    index: FinderIndex | None = None
    until: datetime | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


FINDER = web.AppKey("finder", FinderCache)


async def finder(app: web.Application) -> tuple[Directory, FinderIndex]:
    """The directory and its search index, rebuilt only when the directory has changed."""
    state = app[FINDER]
    sessions = app[SESSIONS]
    revision = await directory_revision(sessions)
    now = datetime.now(UTC)

    def stale() -> bool:
        ended = state.until is not None and now >= state.until
        return state.index is None or state.revision != revision or ended

    if stale():
        async with state.lock:
            if stale():
                # Each service's capacity as it is now: rebuilt again when a full spell ends.
                directory, state.until = directory_now(await load_directory(sessions), now)
                state.directory, state.index = directory, FinderIndex(directory)
                state.revision = revision
    assert state.directory is not None
    assert state.index is not None
    return state.directory, state.index


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["need_label"] = need_label
_env.filters["long_date"] = lambda day: f"{day.day} {day:%B %Y}"


@dataclass
class Visit:
    """One visitor's session: answers, shortlist and CSRF token."""

    key: str
    data: dict[str, Any]
    new: bool = False
    cookie: str | None = None
    loaded: str = ""

    def changed(self) -> bool:
        """Whether the session must be written (new, or its data differs from what was read)."""
        return self.new or json.dumps(self.data, sort_keys=True) != self.loaded

    @property
    def csrf(self) -> str:
        """The token every form of this session carries."""
        return str(self.data["csrf"])

    def answers(self) -> dict[str, Any]:
        """The self-referral answers given so far."""
        answers: dict[str, Any] = self.data.setdefault("answers", {})
        return answers

    def shortlist(self) -> list[str]:
        """Service ids the visitor kept."""
        kept: list[str] = self.data.setdefault("shortlist", [])
        return kept


def _key(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


async def visit_of(request: web.Request) -> Visit:
    """The visitor's session, or a new one (saved when a page is answered)."""
    cookie = request.cookies.get(COOKIE, "")
    now = datetime.now(UTC)
    if 20 <= len(cookie) <= 100:
        data = await load_visit(request.app[SESSIONS], _key(cookie), now=now)
        if data is not None:
            return Visit(key=_key(cookie), data=data, loaded=json.dumps(data, sort_keys=True))
    fresh = secrets.token_urlsafe(32)
    return Visit(key=_key(fresh), data={"csrf": secrets.token_urlsafe(24)}, new=True, cookie=fresh)


async def keep(request: web.Request, visit: Visit, response: web.StreamResponse) -> None:
    """Save the session if it changed and (for a new one) set its cookie on ``response``.

    An unchanged session is not written: it lapses two hours after its last change."""
    if not visit.changed():
        return
    await save_visit(
        request.app[SESSIONS],
        visit.key,
        visit.data,
        expires_at=datetime.now(UTC) + VISIT_LIFETIME,
    )
    if visit.new and visit.cookie:
        response.set_cookie(
            COOKIE,
            visit.cookie,
            httponly=True,
            samesite="Lax",
            path="/find",
            max_age=int(VISIT_LIFETIME.total_seconds()),
            secure=served_over_tls(request) or request.app[WEB_CONFIG].secure_cookies,
        )


async def render(
    request: web.Request, visit: Visit, template: str, status: int = 200, **context: Any
) -> web.Response:
    """A page of the website, its session kept."""
    config = request.app[FIND_CONFIG]
    html = _env.get_template(template).render(
        council=config.council_name,
        contacts=config.contacts,
        compliance_words=COMPLIANCE_WORDS[config.contacts.compliance],
        brand=config.brand_colour,
        csrf_token=visit.csrf,
        honeypot=HONEYPOT,
        path=request.path,
        shortlist_count=len(visit.shortlist()),
        **context,
    )
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers["Cache-Control"] = "no-store"
    await keep(request, visit, response)
    return response


async def redirect(request: web.Request, visit: Visit, location: str) -> web.Response:
    """See-other to ``location``, the session kept."""
    response = web.Response(status=303, headers={"Location": location})
    await keep(request, visit, response)
    return response


class CalmError(Exception):
    """A request the website turns away with a plain page (status and message)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


async def form_of(request: web.Request, visit: Visit) -> dict[str, list[str]]:
    """The posted form (every value of each field), after the size and CSRF checks."""
    if (request.content_length or 0) > MAX_FORM_BYTES:
        raise CalmError(413, "That was too much to send", "Please shorten your answers.")
    raw = await request.read()
    if len(raw) > MAX_FORM_BYTES:
        raise CalmError(413, "That was too much to send", "Please shorten your answers.")
    posted = await request.post()
    token = posted.get("csrf_token")
    if visit.new or not isinstance(token, str) or not hmac.compare_digest(token, visit.csrf):
        raise CalmError(
            403,
            "This page has expired",
            "For your security, forms stop working after a while. Go back, reload the page "
            "and try again: your answers are kept for two hours.",
        )
    form: dict[str, list[str]] = {}
    for name, value in posted.items():
        if isinstance(value, str):
            form.setdefault(name, []).append(value)
    return form


def first(form: dict[str, list[str]], name: str) -> str:
    """A field's first value, stripped ('' when absent)."""
    values = form.get(name) or [""]
    return values[0].strip()


def is_spam(form: dict[str, list[str]]) -> bool:
    """Whether the hidden field people never see was filled in (a robot did)."""
    return bool(first(form, HONEYPOT))


def _bucket(kind: str, value: str, keys: LinkKeys) -> str:
    # Keyed hash: the table never holds an address, and cannot be reversed by guessing.
    return f"{kind}:" + keys.keyed_hash("rate-limit", value)[:40]


async def allowed(request: web.Request, kind: str, value: str, limit: int) -> bool:
    """Count one ``kind`` action for ``value`` (an address or a recipient) against ``limit``
    an hour, shared by every API process; whether it may go ahead."""
    return await take_allowance(
        request.app[SESSIONS],
        _bucket(kind, value, request.app[FIND_CONFIG].link_keys),
        limit=limit,
        window=RATE_WINDOW,
        now=datetime.now(UTC),
    )


def client_address(request: web.Request) -> str:
    """The visitor's network address as the API sees it."""
    return request.remote or "unknown"


async def not_found(request: web.Request, visit: Visit) -> web.Response:
    """The website's own "Page not found" page (HTML, status 404)."""
    return await render(
        request,
        visit,
        "error.html",
        404,
        title="Page not found",
        message="If you typed the web address, check it is correct. If you pasted the web "
        "address, check you copied the entire address.",
    )


Handler = Callable[[web.Request, Visit], Awaitable[web.StreamResponse]]


def page(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler for a website page: the session, and calm pages for every error."""

    async def handle(request: web.Request) -> web.StreamResponse:
        visit = await visit_of(request)
        try:
            return await handler(request, visit)
        except CalmError as exc:
            return await render(
                request, visit, "error.html", exc.status, title=exc.title, message=exc.message
            )
        except web.HTTPNotFound:
            return await not_found(request, visit)
        except (web.HTTPServiceUnavailable, TemporalUnavailable):
            log.warning("public website could not reach a service it needs")
            return await render(
                request,
                visit,
                "error.html",
                503,
                title="Sorry, there is a problem with the service",
                message="Nothing was sent. Please try again in a few minutes: your answers "
                "are kept for two hours.",
            )

    handle.__name__ = handler.__name__
    return handle
