"""One middleware turns every failure into a JSON problem; no stack trace ever leaves.

The Temporal door's three errors are mapped here and nowhere else: refused 409, gone 409
(404 for what answers as not found), unavailable 503 with ``Retry-After``.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from clients.temporal import (
    TemporalTimedOut,
    TemporalUnavailable,
    WorkflowGone,
    WorkflowRefused,
)

log = structlog.get_logger(__name__)

UNAVAILABLE = "Temporal is unavailable; nothing was kept, try again"
RETRY_AFTER_SECONDS = "5"


class Problem(BaseModel):
    """The body of every error response."""

    status: int
    error: str
    detail: list[dict[str, Any]] | None = None
    existing_referral: str | None = Field(
        default=None,
        description="With a 409 for the same resident twice: the open referral's number, when "
        "the caller may see it.",
    )
    add_need: str | None = Field(
        default=None,
        description="With a 409 for the same resident twice: where to POST the need to add it "
        "to the open referral instead, when the caller may.",
    )


class DomainRefusal(Exception):
    """A request the domain refuses (e.g. an illegal transition): a 409 with the reason.
    ``also`` holds more fields of the problem (those :class:`Problem` declares)."""

    def __init__(
        self,
        reason: str,
        status: int = 409,
        detail: list[dict[str, Any]] | None = None,
        *,
        also: dict[str, str] | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.detail = detail
        self.also = dict(also or {})


TEMPORAL_ERRORS = (WorkflowRefused, WorkflowGone, TemporalUnavailable)


def temporal_answer(exc: Exception) -> tuple[int, str, dict[str, str]]:
    """The HTTP status, reason and headers for one of the Temporal door's errors: the one
    mapping the API and the dashboard share."""
    if isinstance(exc, WorkflowRefused):
        return 409, exc.reason, {}
    if isinstance(exc, WorkflowGone):
        return (404 if exc.missing else 409), exc.reason, {}
    log.warning("temporal unavailable", error=str(exc))
    if isinstance(exc, TemporalTimedOut):
        return 503, exc.reason, {"Retry-After": RETRY_AFTER_SECONDS}
    return 503, UNAVAILABLE, {"Retry-After": RETRY_AFTER_SECONDS}


def problem(
    status: int,
    error: str,
    detail: list[dict[str, Any]] | None = None,
    also: dict[str, str] | None = None,
) -> web.Response:
    """A JSON problem response."""
    body = Problem.model_validate(
        {**(also or {}), "status": status, "error": error, "detail": detail}
    ).model_dump_json(exclude_none=True)
    return web.Response(status=status, body=body, content_type="application/json")


def _field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "field": ".".join(str(p) for p in err["loc"]) or "body",
            "message": err["msg"],
            "type": err["type"],
        }
        for err in exc.errors(include_url=False, include_input=False)
    ]


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Map exceptions to JSON problems: HTTP errors keep their status, bad input is 4xx."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        reason = exc.reason if exc.text in (None, "", f"{exc.status}: {exc.reason}") else exc.text
        resp = problem(exc.status, reason or "error")
        for name in ("WWW-Authenticate", "Allow", "Retry-After"):
            if name in exc.headers:
                resp.headers[name] = exc.headers[name]
        return resp
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            return problem(400, "the request body is not valid JSON", _field_errors(exc))
        return problem(422, "the request is not valid", _field_errors(exc))
    except json.JSONDecodeError as exc:
        return problem(400, f"the request body is not valid JSON: {exc.msg}")
    except DomainRefusal as exc:
        return problem(exc.status, exc.reason, exc.detail, exc.also)
    except TEMPORAL_ERRORS as exc:
        status, reason, headers = temporal_answer(exc)
        resp = problem(status, reason)
        resp.headers.update(headers)
        return resp
    except Exception:
        log.exception("unhandled error", path=request.path, method=request.method)
        return problem(500, "internal error; it has been logged")
