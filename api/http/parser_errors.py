"""Requests aiohttp's HTTP parser refuses answer as JSON problems too.

A request line or header over the parser's limits, or bytes that are not HTTP, never reach
the application, its middlewares or its signals: aiohttp's connection handler answers them
itself, as ``text/plain``. aiohttp (3.14) offers no setting for that answer (aio-libs/aiohttp
#3287), so the API runs on a runner whose connection handler overrides ``handle_error``, the
one method that builds it, to answer the documented problem shape with the security headers.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.http_exceptions import (
    BadHttpMethod,
    BadStatusLine,
    InvalidHeader,
    InvalidURLError,
    LineTooLong,
    PayloadEncodingError,
)
from aiohttp.web_protocol import RequestHandler

from api.http.errors import Problem
from api.http.headers import add_security_headers, served_over_tls

_MESSAGES = {
    500: "internal error; it has been logged",
    504: "the request took too long",
}
# Why the parser refused, in the caller's terms; the request's own bytes are never echoed.
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (LineTooLong, "the request line or a header is too long (at most 8190 bytes each)"),
    (BadHttpMethod, "this is not an HTTP request"),
    (BadStatusLine, "the request line is malformed"),
    (InvalidHeader, "a header is malformed"),
    (InvalidURLError, "the URL is malformed"),
    (PayloadEncodingError, "the body's encoding is malformed"),
)


def parser_problem(status: int, exc: BaseException | None) -> Problem:
    """The problem answered for a request the server could not read or finish."""
    if status in _MESSAGES:
        return Problem(status=status, error=_MESSAGES[status])
    reason = next((why for kind, why in _REASONS if isinstance(exc, kind)), "it is malformed")
    return Problem(status=status, error=f"the request could not be read: {reason}")


class JsonErrorRequestHandler(RequestHandler):
    """A connection handler whose own error answers are JSON problems."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Log as aiohttp does, then answer the problem as JSON and close the connection."""
        super().handle_error(request, status, exc, message)  # logs; refuses if half-sent
        body = parser_problem(status, exc).model_dump_json(exclude_none=True)
        response = web.Response(status=status, body=body, content_type="application/json")
        add_security_headers(response, secure=served_over_tls(request), nonce=None)
        response.force_close()
        return response


class _JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        return JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class ApiRunner(web.AppRunner):
    """The application runner the API is served with (see the module's docstring)."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # Same state, one overridden method: each new connection gets the JSON handler.
        server.__class__ = _JsonErrorServer
        return server
