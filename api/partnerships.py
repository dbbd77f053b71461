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
from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import DomainRefusal
from api.headers import csp_nonce
from api.partnership_report import XLSX, review_html, review_xlsx
from api.routing import Call, RouteTable
from api.state import SESSIONS, TASK_QUEUE, TEMPORAL
from domain.access import Action, Role
from domain.partnership import (
    AddAction,
    AddActionGroup,
    AddFundedProject,
    AddOutcome,
    AgreeElement,
    AnswerKeyQuestions,
    AppointCoordinator,
    ApproveByMembers,
    ApprovePlan,
    AssessResources,
    Command,
    CommitPartner,
    CompleteAction,
    CompleteEstablishment,
    CompleteNegotiation,
    Decide,
    InvitePartner,
    NewPartnership,
    PartnershipState,
    RecordAnnualReview,
    RecordBaseline,
    RecordBenefit,
    RecordConsultation,
    RecordIndicatorActual,
    RecordMeeting,
    Stage,
    StartReview,
    SubmitQuarterlyReturn,
    new_partnership,
)
from domain.partnership_schedule import PartnershipSummary, UpcomingReminders
from domain.review import ReviewReport
from store.partnerships import list_partnerships
from workflows import search_attributes as sa
from workflows.partnership import (
    ActionResult,
    IndicatorReport,
    PartnershipInput,
    PartnershipWorkflow,
    Timeline,
)

routes = RouteTable("partnerships")
log = structlog.get_logger(__name__)

BASE = "/api/partnerships/{partnership_id}"
ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,99}$"


def workflow_id(partnership_id: str) -> str:
    """The id of a partnership's workflow."""
    return f"partnership-{partnership_id}"


class PartnershipStarted(BaseModel):
    """A partnership just started, in Negotiate."""

    id: str
    workflow_id: str
    stage: Stage


class PartnershipQuery(BaseModel):
    """Filters of the partnerships list."""

    model_config = ConfigDict(extra="forbid")

    stage: Stage | None = None
    overdue: bool | None = None
    parent_id: str | None = Field(default=None, max_length=100)
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=50, ge=1, le=500)


class PartnershipPage(BaseModel):
    """A page of partnerships, soonest deadline first."""

    total: int
    page: int
    per_page: int
    items: list[PartnershipSummary]


async def temporal_client(request: web.Request) -> Client:
    """The app's Temporal client, or 503 when Temporal is away."""
    try:
        return await request.app[TEMPORAL].client()
    except Exception as exc:
        log.warning("temporal unavailable", error=str(exc))
        raise web.HTTPServiceUnavailable(reason="Temporal is unavailable") from None


async def _client(call: Call) -> Client:
    return await temporal_client(call.request)


def checked_id(partnership_id: str) -> str:
    """The partnership id if it could name one; 404 otherwise."""
    if not re.fullmatch(ID_PATTERN, partnership_id):
        raise web.HTTPNotFound(reason="no partnership with that id")
    return partnership_id


def _partnership_id(call: Call) -> str:
    return checked_id(call.path("partnership_id"))


async def _handle_for(
    request: web.Request, partnership_id: str
) -> WorkflowHandle[PartnershipWorkflow, PartnershipState]:
    client = await temporal_client(request)
    return client.get_workflow_handle_for(PartnershipWorkflow.run, workflow_id(partnership_id))


async def _handle(call: Call) -> WorkflowHandle[PartnershipWorkflow, PartnershipState]:
    return await _handle_for(call.request, _partnership_id(call))


def _not_found_or_unavailable(exc: RPCError) -> web.HTTPException:
    if exc.status is RPCStatusCode.NOT_FOUND:
        return web.HTTPNotFound(reason="no partnership with that id")
    log.warning("temporal call failed", status=exc.status.name, error=exc.message)
    return web.HTTPServiceUnavailable(reason="Temporal could not answer")


async def query_partnership(
    request: web.Request, partnership_id: str, query: Callable[..., Any]
) -> Any:
    """Ask one partnership's workflow ``query``: 404 for an unknown partnership, 503 when
    Temporal or the workflow cannot answer. Shared by the JSON API and the dashboard."""
    handle = await _handle_for(request, checked_id(partnership_id))
    try:
        return await handle.query(query)
    except RPCError as exc:
        raise _not_found_or_unavailable(exc) from None
    except WorkflowQueryFailedError as exc:
        raise web.HTTPServiceUnavailable(
            reason=f"the partnership could not answer: {exc}"
        ) from None


async def _query(call: Call, query: Callable[..., Any], result: type[BaseModel]) -> Any:
    return await query_partnership(call.request, _partnership_id(call), query)


async def _update(call: Call, update: Any, command: Command) -> ActionResult:
    handle = await _handle(call)
    try:
        result: ActionResult = await handle.execute_update(update, command)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
        raise DomainRefusal(reason, 409) from None
    except RPCError as exc:
        raise _not_found_or_unavailable(exc) from None
    return result


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
    client = await _client(call)
    wid = workflow_id(req.id)
    try:
        handle = await client.start_workflow(
            PartnershipWorkflow.run,
            PartnershipInput(state=new_partnership(req, datetime.now(UTC))),
            id=wid,
            task_queue=call.request.app[TASK_QUEUE],
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.KIND, "partnership"),
                    SearchAttributePair(sa.STAGE, Stage.NEGOTIATE.value),
                    SearchAttributePair(sa.CYCLE, 1),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        raise web.HTTPConflict(reason=f"partnership {req.id} already exists") from None
    except RPCError as exc:
        if exc.status is RPCStatusCode.ALREADY_EXISTS:
            raise web.HTTPConflict(reason=f"partnership {req.id} already exists") from None
        raise _not_found_or_unavailable(exc) from None
    log.info("partnership started", partnership_id=req.id, workflow_id=handle.id)
    return PartnershipStarted(id=req.id, workflow_id=handle.id, stage=Stage.NEGOTIATE)


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
        offset=(q.page - 1) * q.per_page,
    )
    return PartnershipPage(total=total, page=q.page, per_page=q.per_page, items=items)


@routes.route(
    "GET",
    BASE,
    summary="A partnership's state",
    action=Action.READ_PARTNERSHIPS,
    response=PartnershipState,
    errors=(404, 503),
)
async def partnership_state(call: Call) -> PartnershipState:
    """Everything about the partnership in its current cycle."""
    state: PartnershipState = await _query(call, PartnershipWorkflow.state, PartnershipState)
    return state


@routes.route(
    "GET",
    f"{BASE}/timeline",
    summary="What happened to a partnership",
    action=Action.READ_PARTNERSHIPS,
    response=Timeline,
    errors=(404, 503),
)
async def partnership_timeline(call: Call) -> Timeline:
    """Every action, reminder and escalation, oldest first."""
    timeline: Timeline = await _query(call, PartnershipWorkflow.timeline, Timeline)
    return timeline


@routes.route(
    "GET",
    f"{BASE}/indicators",
    summary="A partnership's indicators with RAG status",
    action=Action.READ_PARTNERSHIPS,
    response=IndicatorReport,
    errors=(404, 503),
)
async def partnership_indicators(call: Call) -> IndicatorReport:
    """Indicators against targets: green within 10 %, amber improving, red not improving."""
    report: IndicatorReport = await _query(call, PartnershipWorkflow.indicators, IndicatorReport)
    return report


@routes.route(
    "GET",
    f"{BASE}/reminders",
    summary="A partnership's upcoming reminders",
    action=Action.READ_PARTNERSHIPS,
    response=UpcomingReminders,
    errors=(404, 503),
)
async def partnership_reminders(call: Call) -> UpcomingReminders:
    """The next reminders, invitations and escalations, soonest first."""
    upcoming: UpcomingReminders = await _query(
        call, PartnershipWorkflow.upcoming, UpcomingReminders
    )
    return upcoming


@routes.route(
    "GET",
    f"{BASE}/review",
    summary="A partnership's review report",
    action=Action.READ_PARTNERSHIPS,
    response=ReviewReport,
    errors=(404, 503),
)
async def partnership_review(call: Call) -> ReviewReport:
    """Indicators against targets, actions, value for money and health, as of now."""
    report: ReviewReport = await _query(call, PartnershipWorkflow.review_report, ReviewReport)
    return report


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
    report: ReviewReport = await _query(call, PartnershipWorkflow.review_report, ReviewReport)
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
    report: ReviewReport = await _query(call, PartnershipWorkflow.review_report, ReviewReport)
    filename = f"review-{report.partnership_id}-cycle{report.cycle}.xlsx"
    return web.Response(
        body=review_xlsx(report),
        content_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# Stage actions: one endpoint per Update.


@dataclass(frozen=True)
class StageAction:
    """A stage action exposed as ``POST {BASE}/{path}``."""

    path: str
    command: type[Command]
    update: Any
    summary: str
    agency: bool = False  # partner agencies may send it for themselves


ACTIONS = (
    StageAction("partners", InvitePartner, PartnershipWorkflow.invite_partner, "Invite a partner"),
    StageAction(
        "commitments",
        CommitPartner,
        PartnershipWorkflow.commit_partner,
        "A partner commits to the agreement",
        agency=True,
    ),
    StageAction(
        "resource-assessment",
        AssessResources,
        PartnershipWorkflow.assess_resources,
        "Record direct, indirect and opportunity costs",
    ),
    StageAction(
        "key-questions",
        AnswerKeyQuestions,
        PartnershipWorkflow.answer_key_questions,
        "Answer key questions",
    ),
    StageAction(
        "member-approval",
        ApproveByMembers,
        PartnershipWorkflow.approve_by_members,
        "Record member approval",
    ),
    StageAction(
        "negotiation/complete",
        CompleteNegotiation,
        PartnershipWorkflow.complete_negotiation,
        "Leave Negotiate for Establish",
    ),
    StageAction(
        "support-elements",
        AgreeElement,
        PartnershipWorkflow.agree_element,
        "Agree a support element",
    ),
    StageAction(
        "coordinator",
        AppointCoordinator,
        PartnershipWorkflow.appoint_coordinator,
        "Appoint the co-ordinator",
    ),
    StageAction(
        "establishment/complete",
        CompleteEstablishment,
        PartnershipWorkflow.complete_establishment,
        "Leave Establish for Plan",
    ),
    StageAction(
        "baseline", RecordBaseline, PartnershipWorkflow.record_baseline, "Add baseline data"
    ),
    StageAction(
        "consultations",
        RecordConsultation,
        PartnershipWorkflow.record_consultation,
        "Record a consultation event",
    ),
    StageAction(
        "action-groups", AddActionGroup, PartnershipWorkflow.add_action_group, "Add an action group"
    ),
    StageAction("actions", AddAction, PartnershipWorkflow.add_action, "Add an action to the plan"),
    StageAction("outcomes", AddOutcome, PartnershipWorkflow.add_outcome, "Add a SMART outcome"),
    StageAction(
        "projects", AddFundedProject, PartnershipWorkflow.add_funded_project, "Fund a project"
    ),
    StageAction("plan/approve", ApprovePlan, PartnershipWorkflow.approve_plan, "Approve the plan"),
    StageAction("meetings", RecordMeeting, PartnershipWorkflow.record_meeting, "Record a meeting"),
    StageAction(
        "quarterly-returns",
        SubmitQuarterlyReturn,
        PartnershipWorkflow.submit_quarterly_return,
        "Submit a quarterly return",
        agency=True,
    ),
    StageAction(
        "action-completions",
        CompleteAction,
        PartnershipWorkflow.complete_action,
        "Mark an action done",
    ),
    StageAction(
        "indicator-actuals",
        RecordIndicatorActual,
        PartnershipWorkflow.record_indicator_actual,
        "Record an indicator's actual",
    ),
    StageAction("benefits", RecordBenefit, PartnershipWorkflow.record_benefit, "Record a benefit"),
    StageAction(
        "review/start", StartReview, PartnershipWorkflow.start_review, "Start the review now"
    ),
    StageAction(
        "annual-reviews",
        RecordAnnualReview,
        PartnershipWorkflow.record_annual_review,
        "Record an annual review",
    ),
    StageAction("decision", Decide, PartnershipWorkflow.decide, "Continue, rationalise or exit"),
)


async def _agency_may(call: Call, command: Command) -> None:
    """Partner agencies act only for themselves."""
    principal = call.user()
    if principal.role is not Role.AGENCY:
        return
    agency: str | None
    if isinstance(command, CommitPartner):
        agency = command.agency_id
    else:
        assert isinstance(command, SubmitQuarterlyReturn)
        state: PartnershipState = await _query(call, PartnershipWorkflow.state, PartnershipState)
        project = next((p for p in state.projects if p.id == command.project_id), None)
        agency = project.agency_id if project else None
    if agency != principal.agency_id:
        raise web.HTTPForbidden(reason="an agency may only act for itself")


def _action_handler(action: StageAction) -> Callable[[Call], Awaitable[ActionResult]]:
    async def handler(call: Call) -> ActionResult:
        command = call.body_as(action.command)
        if action.agency:
            await _agency_may(call, command)
        return await _update(call, action.update, command)

    name = action.update.__name__
    handler.__name__ = handler.__qualname__ = name
    handler.__doc__ = f"{action.summary}; refused with the reason (409) when the rules say no."
    return handler


for _action in ACTIONS:
    routes.route(
        "POST",
        f"{BASE}/{_action.path}",
        summary=_action.summary,
        action=Action.SUBMIT_PARTNER_RETURN if _action.agency else Action.MANAGE_PARTNERSHIPS,
        body=_action.command,
        response=ActionResult,
        errors=(403, 404, 409, 503),
    )(_action_handler(_action))
