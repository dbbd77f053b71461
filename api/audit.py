"""The audit trail: every authenticated request is recorded; admins read it or export CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from api.http.headers import REQUEST_ID
from api.http.paging import Paging
from api.http.routing import ENDPOINT, PRINCIPAL, Call, QueryDateTime, RouteTable
from api.http.state import SESSIONS
from domain.access import Action, Principal
from domain.spreadsheet import text_cell
from store.audit import append_audit, read_audit
from store.schema import AuditEvent

routes = RouteTable("audit")
log = structlog.get_logger(__name__)

CSV_COLUMNS = (
    "at",
    "request_id",
    "subject",
    "role",
    "agency_id",
    "action",
    "method",
    "path",
    "status",
    "remote",
)


@web.middleware
async def audit_trail(request: web.Request, handler: Any) -> web.StreamResponse:
    """Record who did what to which path, with the outcome, for every non-public endpoint.

    Signed endpoints (partner callbacks) are recorded too, refused signatures included.
    """
    response: web.StreamResponse = await handler(request)
    endpoint = request.get(ENDPOINT)
    if endpoint is None or (endpoint.public and endpoint.verify is None):
        return response
    principal = request.get(PRINCIPAL)
    event = AuditEvent(
        at=datetime.now(UTC),
        request_id=request.get(REQUEST_ID, ""),
        subject=principal.subject if principal else None,
        role=principal.role.value if principal else None,
        agency_id=principal.agency_id if principal else None,
        action=endpoint.handler.__name__,
        method=request.method,
        path=request.path_qs[:2000],
        status=response.status,
        remote=request.remote,
    )
    try:
        await append_audit(request.app[SESSIONS], event)
    except Exception:
        # An action that cannot be audited must not look successful.
        log.exception("audit write failed", path=request.path)
        raise web.HTTPServiceUnavailable(reason="the audit trail is unavailable") from None
    return response


async def audit_personal_read(request: web.Request, principal: Principal, path: str) -> None:
    """Record that ``principal`` was shown a resident's personal data at ``path``."""
    await append_audit(
        request.app[SESSIONS],
        AuditEvent(
            at=datetime.now(UTC),
            request_id=request.get(REQUEST_ID, ""),
            subject=principal.subject,
            role=principal.role.value,
            agency_id=principal.agency_id,
            action="read_personal_data",
            method=request.method,
            path=path[:2000],
            status=200,
            remote=request.remote,
        ),
    )


async def audit_payload_decode(
    request: web.Request, principal: Principal, number: str, *, revealed: bool
) -> None:
    """Record that ``principal`` decoded payloads of referral ``number`` that carry personal
    data or free text (``revealed``: shown the values, not only markers)."""
    await append_audit(
        request.app[SESSIONS],
        AuditEvent(
            at=datetime.now(UTC),
            request_id=request.get(REQUEST_ID, ""),
            subject=principal.subject,
            role=principal.role.value,
            agency_id=principal.agency_id,
            action="decode_personal_payload" if revealed else "decode_sealed_payload",
            method=request.method,
            path=f"{request.path}?referral={number}"[:2000],
            status=200,
            remote=request.remote,
        ),
    )


async def audit_sign_in_throttled(request: web.Request, account: str) -> None:
    """Record that a sign-in to ``account`` from this address was refused as throttled."""
    await append_audit(
        request.app[SESSIONS],
        AuditEvent(
            at=datetime.now(UTC),
            request_id=request.get(REQUEST_ID, ""),
            subject=account,
            role=None,
            agency_id=None,
            action="sign_in_throttled",
            method=request.method,
            path=request.path[:2000],
            status=429,
            remote=request.remote,
        ),
    )


class AuditQuery(Paging):
    """Filters of the audit trail."""

    subject: str | None = Field(default=None, max_length=200)
    since: QueryDateTime | None = None
    until: QueryDateTime | None = None


class AuditEntry(BaseModel):
    """One recorded request."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    request_id: str
    subject: str | None
    role: str | None
    agency_id: str | None
    action: str
    method: str
    path: str
    status: int
    remote: str | None


class AuditPage(BaseModel):
    """A page of the audit trail, newest first."""

    total: int
    page: int
    per_page: int
    items: list[AuditEntry]


@routes.route(
    "GET",
    "/api/audit",
    summary="Read the audit trail",
    action=Action.READ_AUDIT,
    query=AuditQuery,
    response=AuditPage,
)
async def audit_list(call: Call) -> AuditPage:
    """Every authenticated request, newest first, filtered by subject and time."""
    q = call.query_as(AuditQuery)
    total, rows = await read_audit(
        call.request.app[SESSIONS],
        subject=q.subject,
        since=q.since,
        until=q.until,
        limit=q.per_page,
        offset=q.offset,
    )
    return AuditPage(
        total=total,
        page=q.page,
        per_page=q.per_page,
        items=[AuditEntry.model_validate(r) for r in rows],
    )


@routes.route(
    "GET",
    "/api/audit.csv",
    summary="Export the audit trail as CSV",
    action=Action.READ_AUDIT,
    query=AuditQuery,
    content_type="text/csv",
)
async def audit_export(call: Call) -> web.StreamResponse:
    """The filtered trail as CSV, streamed in pages so large exports stay small in memory."""
    q = call.query_as(AuditQuery)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="audit.csv"',
        }
    )
    await response.prepare(call.request)
    await response.write(_csv_line(CSV_COLUMNS))
    offset, chunk = 0, 1000
    while True:
        _, rows = await read_audit(
            call.request.app[SESSIONS],
            subject=q.subject,
            since=q.since,
            until=q.until,
            limit=chunk,
            offset=offset,
        )
        for row in rows:
            await response.write(_csv_line([getattr(row, c) for c in CSV_COLUMNS]))
        if len(rows) < chunk:
            break
        offset += chunk
    await response.write_eof()
    return response


def _csv_line(values: Any) -> bytes:
    buffer = io.StringIO()
    # Subjects, paths and reasons are callers' text: a spreadsheet must show them, not run them.
    csv.writer(buffer).writerow([text_cell(v) for v in values])
    return buffer.getvalue().encode()
