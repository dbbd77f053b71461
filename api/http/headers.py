"""Every response gets a request id and the security headers; logs carry the same id.

The headers are set as each response is prepared (``on_response_prepare``), not by a
middleware wrapping the handler: that way they reach redirects raised past the middlewares,
streamed exports, static files, 404/405 from the router and every page, the public ones
included. Errors of aiohttp's own HTTP parser, which never reach the application, get the same
headers from ``api.http.parser_errors``.
"""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

import structlog
from aiohttp import web

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID = web.RequestKey("request_id", str)
CSP_NONCE = web.RequestKey("csp_nonce", str)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
# JSON, CSV and spreadsheets need nothing from a page.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Pages load only their own files; an inline <style> or <script> runs only with the
# response's nonce (see ``csp_nonce``), so injected markup cannot run anything.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'{nonce}; style-src 'self'{nonce}; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


def csp_nonce(request: web.Request) -> str:
    """The nonce this response's inline ``<style>``/``<script>`` elements must carry."""
    if CSP_NONCE not in request:
        request[CSP_NONCE] = secrets.token_urlsafe(18)
    return request[CSP_NONCE]


def page_policy(nonce: str | None) -> str:
    """The Content-Security-Policy of an HTML page, allowing inline elements with ``nonce``."""
    return PAGE_CSP.format(nonce=f" 'nonce-{nonce}'" if nonce else "")


def add_security_headers(response: web.StreamResponse, *, secure: bool, nonce: str | None) -> None:
    """Put the security headers on a response not yet sent (existing values are kept)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.content_type == "text/html":
        response.headers.setdefault("Content-Security-Policy", page_policy(nonce))
    else:
        response.headers.setdefault("Content-Security-Policy", API_CSP)
        response.headers.setdefault("Cache-Control", "no-store")
    if secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)


def served_over_tls(request: web.BaseRequest) -> bool:
    """Whether the client reached us over TLS (here, or at a proxy that says so)."""
    # Browsers ignore HSTS on plain HTTP, so trusting the proxy's header risks nothing.
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


@web.middleware
async def request_context(request: web.Request, handler: Any) -> web.StreamResponse:
    """Bind a request id (the caller's, if sane) to the request and its logs."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        response: web.StreamResponse = await handler(request)
    return response


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the request id and security headers on every response."""
    request_id = request.get(REQUEST_ID)
    if request_id is None:  # prepared before the middlewares ran (defensive)
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = request_id
    add_security_headers(response, secure=served_over_tls(request), nonce=request.get(CSP_NONCE))
