"""The co-ordinator's queue: every unallocated need, and the actions on one, declared once.

Each action is a validated Update on the referral's workflow (assign, signpost, close); a
refusal (the need is no longer unallocated, the agency is not in the consent) answers 409 with
the reason and changes nothing. Each entry of :data:`NEED_ACTIONS` becomes one
``POST /api/referrals/{number}/needs/{need_id}/{path}`` endpoint (and a dashboard form).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from api.http.errors import DomainRefusal
from api.http.routing import Call
from api.http.state import SESSIONS, TEMPORAL
from api.referrals.common import NOT_FOUND, routes
from clients import temporal
from clients.temporal import ReferralUpdate, connect
from domain.access import Action
from domain.directory import ServiceStatus
from domain.patterns import NOT_BLANK
from domain.referral import ReferralView
from domain.unallocated import AssignNeed, CloseNeed, NewConsent, QueueAction, SignpostNeed
from store.db import Sessions
from store.directory import get_service
from store.referrals import get_referral
from store.unallocated import QueuedNeed, unallocated_queue
from workflows.referral import ReferralWorkflow


class AssignRequest(BaseModel):
    """The service to send the need to; new consent when its agency is not in the consent."""

    model_config = ConfigDict(extra="forbid")

    service_id: str = Field(min_length=1, max_length=100)
    consent: NewConsent | None = None


class SignpostRequest(BaseModel):
    """The services whose contact details the resident (else the referrer) is sent."""

    model_config = ConfigDict(extra="forbid")

    service_ids: list[str] = Field(min_length=1, max_length=5)


class CloseRequest(BaseModel):
    """Why the need is closed (free text: erased with the resident's details)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, pattern=NOT_BLANK)


class UnallocatedQueue(BaseModel):
    """Every unallocated need waiting for the co-ordinator, longest waiting first."""

    items: list[QueuedNeed]


async def _assign(sessions: Sessions, need_id: str, actor: str, body: Any) -> QueueAction:
    assert isinstance(body, AssignRequest)
    service = await get_service(sessions, body.service_id)
    if service is None or service.status is not ServiceStatus.ACTIVE:
        raise _unknown("service_id", f"no active service {body.service_id} in the directory")
    return AssignNeed(
        need_id=need_id,
        actor=actor,
        service_id=service.id,
        agency_id=service.agency_id,
        consent=body.consent,
    )


async def _signpost(sessions: Sessions, need_id: str, actor: str, body: Any) -> QueueAction:
    assert isinstance(body, SignpostRequest)
    unknown = [i for i in body.service_ids if await get_service(sessions, i) is None]
    if unknown:
        raise _unknown("service_ids", f"not services of the directory: {', '.join(unknown)}")
    return SignpostNeed(need_id=need_id, actor=actor, service_ids=body.service_ids)


async def _close(sessions: Sessions, need_id: str, actor: str, body: Any) -> QueueAction:
    assert isinstance(body, CloseRequest)
    return CloseNeed(need_id=need_id, actor=actor, reason=body.reason.strip())


def _unknown(field: str, message: str) -> DomainRefusal:
    return DomainRefusal(
        "the request is not valid", status=422, detail=[{"field": field, "message": message}]
    )


@dataclass(frozen=True, kw_only=True)
class NeedActionSpec:
    """One action on an unallocated need: its Update, path, body and words, and how the body
    becomes the Update's argument (checked against the directory first)."""

    update: ReferralUpdate
    path: str
    summary: str
    doc: str
    body: type[BaseModel]
    command: Callable[[Sessions, str, str, Any], Awaitable[QueueAction]]


def form_body(spec: NeedActionSpec, form: dict[str, str]) -> BaseModel:
    """The action's body from the dashboard's form (validated as the API's JSON is)."""
    if spec.body is AssignRequest:
        consent = None
        if form.get("consent_method"):
            consent = {
                "method": form["consent_method"],
                "given_at": form.get("consent_given_at") or datetime.now(UTC).isoformat(),
                "note": form.get("consent_note", ""),
            }
        return AssignRequest.model_validate(
            {"service_id": form.get("service_id", "").strip(), "consent": consent}
        )
    if spec.body is SignpostRequest:
        ids = [i.strip() for i in form.get("service_ids", "").split(",") if i.strip()]
        return SignpostRequest.model_validate({"service_ids": ids})
    return CloseRequest.model_validate({"reason": form.get("reason", "")})


NEED_ACTIONS: tuple[NeedActionSpec, ...] = (
    NeedActionSpec(
        update=ReferralWorkflow.assign_need,
        path="assign",
        summary="Assign an unallocated need to a named service",
        doc="The need goes to the service; its agency must be in the resident's consent, or "
        "the new consent is recorded with how it was obtained.",
        body=AssignRequest,
        command=_assign,
    ),
    NeedActionSpec(
        update=ReferralWorkflow.signpost_need,
        path="signpost",
        summary="Signpost an unallocated need",
        doc="The resident (else the referrer) is sent the chosen services' contact details.",
        body=SignpostRequest,
        command=_signpost,
    ),
    NeedActionSpec(
        update=ReferralWorkflow.close_need,
        path="close",
        summary="Close an unallocated need",
        doc="The need is closed with a reason.",
        body=CloseRequest,
        command=_close,
    ),
)


async def act_on_need(
    app: web.Application,
    actor: str,
    spec: NeedActionSpec,
    number: str,
    need_id: str,
    body: BaseModel,
) -> ReferralView:
    """Run ``spec``'s Update for the need (the API's endpoint and the dashboard's form)."""
    sessions = app[SESSIONS]
    if await get_referral(sessions, number) is None:
        raise web.HTTPNotFound(reason=NOT_FOUND)
    command = await spec.command(sessions, need_id, actor, body)
    client = await connect(app[TEMPORAL])
    return await temporal.update_referral(client, number, spec.update, command)


def _endpoint(spec: NeedActionSpec) -> Callable[[Call], Awaitable[ReferralView]]:
    async def handler(call: Call) -> ReferralView:
        return await act_on_need(
            call.request.app,
            call.user().subject,
            spec,
            call.path("number"),
            call.path("need_id"),
            call.body_as(spec.body),
        )

    handler.__name__ = handler.__qualname__ = f"{spec.path}_unallocated_need"
    handler.__doc__ = spec.doc
    return handler


for _spec in NEED_ACTIONS:
    routes.route(
        "POST",
        f"/api/referrals/{{number}}/needs/{{need_id}}/{_spec.path}",
        summary=_spec.summary,
        action=Action.WORK_UNALLOCATED,
        body=_spec.body,
        strict_body=True,
        response=ReferralView,
        errors=(404, 409, 422, 503),
    )(_endpoint(_spec))


@routes.route(
    "GET",
    "/api/needs/unallocated",
    summary="The co-ordinator's queue of unallocated needs",
    action=Action.WORK_UNALLOCATED,
    response=UnallocatedQueue,
)
async def list_unallocated(call: Call) -> UnallocatedQueue:
    """Every unallocated need of a running referral: its ward, urgency and category, why it was
    not placed (each service tried and what happened) and how long it has waited."""
    now = datetime.now(UTC)
    return UnallocatedQueue(items=await unallocated_queue(call.request.app[SESSIONS], now=now))


__all__ = ["NEED_ACTIONS", "act_on_need", "form_body"]
