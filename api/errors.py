"""One middleware turns every failure into a JSON problem; no stack trace ever leaves."""

from __future__ import annotations

import json
from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

log = structlog.get_logger(__name__)


class Problem(BaseModel):
    """The body of every error response."""

    status: int
    error: str
    detail: list[dict[str, Any]] | None = None


class DomainRefusal(Exception):
    """A request the domain refuses (e.g. an illegal transition): a 409 with the reason."""

    def __init__(
        self, reason: str, status: int = 409, detail: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.detail = detail


def problem(status: int, error: str, detail: list[dict[str, Any]] | None = None) -> web.Response:
    """A JSON problem response."""
    body = Problem(status=status, error=error, detail=detail).model_dump_json(exclude_none=True)
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
        return problem(exc.status, exc.reason, exc.detail)
    except Exception:
        log.exception("unhandled error", path=request.path, method=request.method)
        return problem(500, "internal error; it has been logged")
