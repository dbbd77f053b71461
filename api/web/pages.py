"""Page tables: each dashboard page declares its roles once, like the JSON endpoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from api.http.errors import TEMPORAL_ERRORS, DomainRefusal, temporal_answer
from domain.access import Action, Role, may, roles_for
from domain.labels import age, category_name, money, relative, words
from domain.waiting import PRESSURE_LABELS
from store.staff import SignedIn

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
STATIC_FILES = frozenset(p.name for p in STATIC.iterdir() if p.is_file())
SESSION_COOKIE = "pf_session"

_env = jinja2.Environment(
    # "find/..." names the public site's templates, so pages in its GOV.UK style share its
    # macros rather than copies of them.
    loader=jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(TEMPLATES),
            jinja2.PrefixLoader(
                {"find": jinja2.FileSystemLoader(Path(__file__).parent.parent / "find/templates")}
            ),
        ]
    ),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(
    money=money,
    relative=relative,
    age=age,
    category=category_name,
    words=words,
)
_env.globals.update(PRESSURE_LABELS=PRESSURE_LABELS)


@dataclass(frozen=True, kw_only=True)
class WebConfig:
    """What pages need to know about the deployment."""

    temporal_ui_url: str = "http://127.0.0.1:8233"
    namespace: str = "default"
    secure_cookies: bool = True


WEB_CONFIG = web.AppKey("web_config", WebConfig)
SIGNED_IN = web.RequestKey("signed_in", SignedIn)


@dataclass(frozen=True, kw_only=True)
class PageCall:
    """One request to a page, with the signed-in user (None only on public pages)."""

    request: web.Request
    user: SignedIn | None

    def me(self) -> SignedIn:
        """The signed-in user of a protected page."""
        assert self.user is not None
        return self.user


PageHandler = Callable[[PageCall], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, kw_only=True)
class Page:
    """A dashboard page or form target."""

    method: str
    path: str
    handler: PageHandler
    summary: str
    public: bool = False
    action: Action | None = None
    roles: frozenset[Role] = frozenset()


@dataclass
class PageTable:
    """The pages of one part of the dashboard."""

    pages: list[Page] = field(default_factory=list)

    def page(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        public: bool = False,
        action: Action | None = None,
        roles: Iterable[Role] = (),
    ) -> Callable[[PageHandler], PageHandler]:
        """Register ``handler`` for ``method path``."""

        def register(handler: PageHandler) -> PageHandler:
            self.pages.append(
                Page(
                    method=method.upper(),
                    path=path,
                    handler=handler,
                    summary=summary,
                    public=public,
                    action=action,
                    roles=roles_for(action) if action is not None else frozenset(roles),
                )
            )
            return handler

        return register


async def static_file(request: web.Request) -> web.StreamResponse:
    """One of the dashboard's own static files; anything else is a JSON 404."""
    # A fixed list, not aiohttp's static route: that answers a missing file with an empty
    # body from inside the response, past the error middleware.
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise web.HTTPNotFound(text="no such file")
    return web.FileResponse(STATIC / name)


def render(call: PageCall, template: str, status: int = 200, **context: Any) -> web.Response:
    """Render a template with the common context (user, CSRF token, Temporal UI link)."""
    config = call.request.app[WEB_CONFIG]
    html = _env.get_template(template).render(
        user=call.user,
        csrf_token=call.user.csrf_token if call.user else "",
        temporal_ui=config.temporal_ui_url,
        namespace=config.namespace,
        path=call.request.path,
        **context,
    )
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def require_form(call: PageCall) -> dict[str, str]:
    """The posted form, after checking its CSRF token against the session's."""
    form = await call.request.post()
    token = form.get("csrf_token")
    if call.user is None or not isinstance(token, str) or token != call.user.csrf_token:
        raise web.HTTPForbidden(reason="the form has expired; reload the page and try again")
    return {k: v for k, v in form.items() if isinstance(v, str)}


def wrap_page(page: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for a page: session, role check, friendly HTML errors."""
    from api.http.state import (
        SESSIONS,  # the app's state keys; imported late to keep this module light
    )
    from store.staff import session_for

    async def handle(request: web.Request) -> web.StreamResponse:
        user = None
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            user = await session_for(request.app[SESSIONS], cookie)
        call = PageCall(request=request, user=user)
        if not page.public:
            if user is None:
                if request.method == "GET":
                    raise web.HTTPSeeOther(f"/login?next={request.path_qs}")
                return render(call, "error.html", 401, message="Please sign in again.")
            request[SIGNED_IN] = user
            if page.action is not None:
                if not may(user.principal, page.action):
                    return render(
                        call, "error.html", 403, message="Your role cannot open this page."
                    )
            elif page.roles and not user.principal.has_role(*page.roles):
                return render(call, "error.html", 403, message="Your role cannot open this page.")
        try:
            return await page.handler(call)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return render(call, "error.html", exc.status, message=exc.reason)
        except DomainRefusal as exc:
            return render(call, "error.html", exc.status, message=exc.reason)
        except TEMPORAL_ERRORS as exc:
            status, reason, headers = temporal_answer(exc)
            response = render(call, "error.html", status, message=reason)
            response.headers.update(headers)
            return response

    return handle
