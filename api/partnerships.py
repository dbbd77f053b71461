"""Partnerships: start one, take every stage action, read its state, reminders and review.

Each stage action is a POST that runs the workflow's Update of the same name; a refusal by
the partnership's rules answers 409 with the reason. Partner agencies may only commit and
send quarterly returns, and only for their own agency.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import structlog
from aiohttp import web
from pydantic import BaseModel, Field

from api.http.headers import csp_nonce
from api.http.paging import Paging
from api.http.routing import Call, RouteTable
from api.http.state import SESSIONS, TASK_QUEUE, TEMPORAL
from api.partnership_report import XLSX, review_html, review_xlsx
from clients import temporal
from clients.temporal import PartnershipQuery as WorkflowQuery
from clients.temporal import connect, partnership_workflow_id
from domain.access import Action, Role
from domain.partnership import (
    ACTIONS,
    NewPartnership,
    PartnershipAction,
    PartnershipState,
    Stage,
    new_partnership,
)
from domain.partnership_schedule import PartnershipSummary, UpcomingReminders
from domain.review import ReviewReport
from store.partnerships import list_partnerships
from workflows.partnership import (
    ActionResult,
    IndicatorReport,
    PartnershipWorkflow,
    Timeline,
)

routes = RouteTable("partnerships")
log = structlog.get_logger(__name__)

BASE = "/api/partnerships/{partnership_id}"
ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,99}$"


workflow_id = partnership_workflow_id


class PartnershipStarted(BaseModel):
    """A partnership just started, in Negotiate."""

    id: str
    workflow_id: str
    stage: Stage


class PartnershipQuery(Paging):
    """Filters of the partnerships list."""

    stage: Stage | None = None
    overdue: bool | None = None
    parent_id: str | None = Field(default=None, max_length=100)


class PartnershipPage(BaseModel):
    """A page of partnerships, soonest deadline first."""

    total: int
    page: int
    per_page: int
    items: list[PartnershipSummary]


def checked_id(partnership_id: str) -> str:
    """The partnership id if it could name one; 404 otherwise."""
    if not re.fullmatch(ID_PATTERN, partnership_id):
        raise web.HTTPNotFound(reason="no partnership with that id")
    return partnership_id


T = TypeVar("T")


async def query_partnership(
    request: web.Request, partnership_id: str, query: WorkflowQuery[T]
) -> T:
    """Ask one partnership's workflow ``query`` through the Temporal door: 404 for an id that
    cannot name one. Shared by the JSON API and the dashboard."""
    client = await connect(request.app[TEMPORAL])
    return await temporal.query_partnership(client, checked_id(partnership_id), query)


async def _query(call: Call, query: WorkflowQuery[T]) -> T:
    return await query_partnership(call.request, call.path("partnership_id"), query)


@routes.route(
    "POST",
    "/api/partnerships",
    summary="Start a partnership",
    action=Action.MANAGE_PARTNERSHIPS,
    body=NewPartnership,
    response=PartnershipStarted,
    status=201,
    errors=(409, 503),
)
async def create_partnership(call: Call) -> PartnershipStarted:
    """Start a partnership in Negotiate: one long-lived workflow holds its whole cycle."""
    req = call.body_as(NewPartnership)
    client = await connect(call.request.app[TEMPORAL])
    wid = await temporal.start_partnership(
        client, new_partnership(req, datetime.now(UTC)), task_queue=call.request.app[TASK_QUEUE]
    )
    log.info("partnership started", partnership_id=req.id, workflow_id=wid)
    return PartnershipStarted(id=req.id, workflow_id=wid, stage=Stage.NEGOTIATE)


@routes.route(
    "GET",
    "/api/partnerships",
    summary="List partnerships",
    action=Action.READ_PARTNERSHIPS,
    query=PartnershipQuery,
    response=PartnershipPage,
)
async def partnerships_list(call: Call) -> PartnershipPage:
    """Every partnership from the read model, soonest deadline first."""
    q = call.query_as(PartnershipQuery)
    total, items = await list_partnerships(
        call.request.app[SESSIONS],
        stage=q.stage,
        overdue=q.overdue,
        parent_id=q.parent_id,
        limit=q.per_page,
        offset=q.offset,
    )
    return PartnershipPage(total=total, page=q.page, per_page=q.per_page, items=items)


@dataclass(frozen=True, kw_only=True)
class PartnershipRead:
    """A read answered by one of the workflow's queries, at ``GET {BASE}{path}``."""

    name: str
    path: str
    query: WorkflowQuery[BaseModel]
    response: type[BaseModel]
    summary: str
    doc: str


READS = (
    PartnershipRead(
        name="partnership_state",
        path="",
        query=PartnershipWorkflow.state,
        response=PartnershipState,
        summary="A partnership's state",
        doc="Everything about the partnership in its current cycle.",
    ),
    PartnershipRead(
        name="partnership_timeline",
        path="/timeline",
        query=PartnershipWorkflow.timeline,
        response=Timeline,
        summary="What happened to a partnership",
        doc="Every action, reminder and escalation, oldest first.",
    ),
    PartnershipRead(
        name="partnership_indicators",
        path="/indicators",
        query=PartnershipWorkflow.indicators,
        response=IndicatorReport,
        summary="A partnership's indicators with RAG status",
        doc="Indicators against targets: green within 10 %, amber improving, red not improving.",
    ),
    PartnershipRead(
        name="partnership_reminders",
        path="/reminders",
        query=PartnershipWorkflow.upcoming,
        response=UpcomingReminders,
        summary="A partnership's upcoming reminders",
        doc="The next reminders, invitations and escalations, soonest first.",
    ),
    PartnershipRead(
        name="partnership_review",
        path="/review",
        query=PartnershipWorkflow.review_report,
        response=ReviewReport,
        summary="A partnership's review report",
        doc="Indicators against targets, actions, value for money and health, as of now.",
    ),
)


def _read_handler(read: PartnershipRead) -> Callable[[Call], Awaitable[BaseModel]]:
    async def handler(call: Call) -> BaseModel:
        return await _query(call, read.query)

    handler.__name__ = handler.__qualname__ = read.name
    handler.__doc__ = read.doc
    return handler


for _read in READS:
    routes.route(
        "GET",
        f"{BASE}{_read.path}",
        summary=_read.summary,
        action=Action.READ_PARTNERSHIPS,
        response=_read.response,
        errors=(404, 503),
    )(_read_handler(_read))


@routes.route(
    "GET",
    f"{BASE}/review.html",
    summary="A partnership's review report as HTML",
    action=Action.READ_PARTNERSHIPS,
    content_type="text/html",
    errors=(404, 503),
)
async def partnership_review_html(call: Call) -> web.Response:
    """The review report as a printable page."""
    report: ReviewReport = await _query(call, PartnershipWorkflow.review_report)
    html = review_html(report, nonce=csp_nonce(call.request))
    return web.Response(text=html, content_type="text/html", charset="utf-8")


@routes.route(
    "GET",
    f"{BASE}/review.xlsx",
    summary="A partnership's review report as a spreadsheet",
    action=Action.READ_PARTNERSHIPS,
    content_type=XLSX,
    errors=(404, 503),
)
async def partnership_review_xlsx(call: Call) -> web.Response:
    """The review report as an .xlsx workbook."""
    report: ReviewReport = await _query(call, PartnershipWorkflow.review_report)
    filename = f"review-{report.partnership_id}-cycle{report.cycle}.xlsx"
    return web.Response(
        body=review_xlsx(report),
        content_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# Stage actions: one endpoint per action declared in domain.partnership.actions.


async def _agency_may(call: Call, action: PartnershipAction, command: BaseModel) -> None:
    """Partner agencies act only for themselves."""
    principal = call.user()
    if principal.role is not Role.AGENCY or action.agency_of is None:
        return
    state = await _query(call, PartnershipWorkflow.state)
    if action.agency_of(state, command) != principal.agency_id:
        raise web.HTTPForbidden(reason="an agency may only act for itself")


def _action_handler(action: PartnershipAction) -> Callable[[Call], Awaitable[ActionResult]]:
    async def handler(call: Call) -> ActionResult:
        command = call.body_as(action.command)
        await _agency_may(call, action, command)
        pid = checked_id(call.path("partnership_id"))
        client = await connect(call.request.app[TEMPORAL])
        return await temporal.update_partnership(client, pid, action, command)

    handler.__name__ = handler.__qualname__ = action.update
    handler.__doc__ = f"{action.summary}; refused with the reason (409) when the rules say no."
    return handler


for _action in (a for a in ACTIONS if not a.by_system):
    routes.route(
        "POST",
        f"{BASE}/{_action.path}",
        summary=_action.summary,
        action=_action.access,
        body=_action.command,
        response=ActionResult,
        errors=(403, 404, 409, 503),
    )(_action_handler(_action))
