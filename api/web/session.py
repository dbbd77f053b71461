"""Sign in and out of the dashboard: argon2-checked passwords, HttpOnly SameSite cookies."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from aiohttp import web

from api.audit import audit_sign_in_throttled
from api.http.state import SESSIONS
from api.web.pages import SESSION_COOKIE, WEB_CONFIG, PageCall, PageTable, render, require_form
from domain.access import Action
from store.staff import SESSION_LIFETIME, Throttled, sign_in, sign_out

pages = PageTable()
LOGIN_COOKIE = "pf_login"


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would make the sign-in page a phishing aid.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def _login_form(call: PageCall, *, error: str | None = None, status: int = 200) -> web.Response:
    token = secrets.token_urlsafe(24)
    response = render(
        call,
        "login.html",
        status,
        login_token=token,
        error=error,
        next=_safe_next(call.request.query.get("next")),
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        max_age=3600,
        path="/login",
        secure=call.request.app[WEB_CONFIG].secure_cookies,
    )
    return response


@pages.page("GET", "/login", summary="Sign-in form", public=True)
async def login_form(call: PageCall) -> web.StreamResponse:
    """The sign-in form."""
    return _login_form(call)


@pages.page("POST", "/login", summary="Sign in", public=True)
async def login(call: PageCall) -> web.StreamResponse:
    """Check the password and open a session; wrong or throttled attempts re-show the form."""
    form = await call.request.post()
    expected = call.request.cookies.get(LOGIN_COOKIE, "")
    given = form.get("login_token")
    if not expected or not isinstance(given, str) or not hmac.compare_digest(expected, given):
        return _login_form(call, error="The form expired; please try again.", status=403)
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        return _login_form(call, error="Enter your user name and password.", status=422)
    account = username.strip()[:100]
    try:
        result = await sign_in(
            call.request.app[SESSIONS],
            username=account,
            password=password,
            remote=call.request.remote,
        )
    except Throttled as exc:
        await audit_sign_in_throttled(call.request, account)
        response = _login_form(call, error=str(exc).capitalize() + ".", status=429)
        response.headers["Retry-After"] = str(exc.seconds)
        return response
    if result is None:
        return _login_form(call, error="That user name and password do not match.", status=401)
    cookie, _ = result
    target = form.get("next")
    response = web.HTTPSeeOther(_safe_next(target if isinstance(target, str) else None))
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="Strict",
        path="/",
        max_age=int(SESSION_LIFETIME.total_seconds()),
        secure=call.request.app[WEB_CONFIG].secure_cookies,
    )
    response.del_cookie(LOGIN_COOKIE, path="/login")
    raise response


@pages.page("POST", "/logout", summary="Sign out", action=Action.VIEW_SELF)
async def logout(call: PageCall) -> web.StreamResponse:
    """End the session and return to the sign-in form."""
    await require_form(call)
    await sign_out(call.request.app[SESSIONS], call.request.cookies[SESSION_COOKIE])
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response
