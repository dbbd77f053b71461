"""Agency actions on a referral leg, declared once for the JSON API, the dashboard and callbacks.

Every action is an Update on the leg's workflow; its validator applies the leg state machine,
so a refused action changes nothing and answers 409 with the reason. Each entry of
:data:`LEG_ACTIONS` becomes one ``POST /api/legs/{leg_id}/{path}`` endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from temporalio.client import Client

from api.http.routing import Call
from api.http.state import SESSIONS, TEMPORAL
from api.referrals.common import routes
from clients import temporal
from clients.temporal import LegUpdate, connect
from domain.access import Action, Principal, may_act_for_agency
from domain.declines import DeclineReason, decline_problem
from domain.offers import OfferAcceptance
from domain.patterns import NOT_BLANK
from domain.referral import (
    ACCEPT_UPDATE,
    CLOSE_UPDATE,
    DECLINE_UPDATE,
    RECORD_OUTCOME_UPDATE,
    START_UPDATE,
    AgencyAction,
    Decline,
    LegView,
    Outcome,
    RecordOutcome,
)
from store.db import Sessions
from store.referrals import StoredLeg, get_leg
from workflows.referral_leg import ReferralLegWorkflow

NO_LEG = "no such leg"


class LegAction(StrEnum):
    """What an agency does with a leg, named as its Update."""

    ACCEPT = ACCEPT_UPDATE
    START = START_UPDATE
    DECLINE = DECLINE_UPDATE
    RECORD_OUTCOME = RECORD_OUTCOME_UPDATE
    CLOSE = CLOSE_UPDATE


def _required_text(value: str) -> str:
    # The schema says "some non-space character"; this holds it to Python's idea of space.
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


_ELSEWHERE = DeclineReason.BETTER_SERVED_ELSEWHERE
_NO_WORDS_NEEDED = (DeclineReason.NO_CAPACITY, DeclineReason.RESIDENT_DECLINED, _ELSEWHERE)


class DeclineRequest(BaseModel):
    """Why the agency declines, from the list, with words where they help. What follows
    depends on it: no_capacity marks the service full for some working days and routes the
    need on; not_eligible (which rule) and other route it on; better_served_elsewhere offers
    the named service if the resident agreed to share with its agency, else the
    co-ordinator decides; cannot_contact returns the need to the referrer; resident_declined
    ends it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            # What the validators below say, for clients that read the schema.
            "allOf": [
                {
                    "if": {
                        "required": ["why"],
                        "properties": {"why": {"enum": [r.value for r in _NO_WORDS_NEEDED]}},
                    },
                    "else": {
                        "required": ["reason"],
                        "properties": {"reason": {"pattern": NOT_BLANK}},
                    },
                },
                {
                    "if": {"required": ["why"], "properties": {"why": {"const": _ELSEWHERE.value}}},
                    "then": {
                        "required": ["service_id"],
                        "properties": {"service_id": {"type": "string"}},
                    },
                    "else": {"properties": {"service_id": {"type": "null"}}},
                },
            ]
        },
    )

    why: DeclineReason = Field(
        default=DeclineReason.OTHER, description="The reason from the list (default: other)."
    )
    reason: str = Field(
        default="",
        max_length=1000,
        validate_default=True,
        description="In words: required for other, not_eligible (which rule) and "
        "cannot_contact (what was tried).",
    )
    service_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        validate_default=True,
        description="With better_served_elsewhere only: the service to offer instead.",
    )

    # Field validators, so a refusal names the field it is about.
    @field_validator("reason")
    @classmethod
    def _words(cls, reason: str, info: ValidationInfo) -> str:
        why = info.data.get("why", DeclineReason.OTHER)
        problem = decline_problem(why, reason, None if why is not _ELSEWHERE else "-")
        if problem is not None:
            raise ValueError(problem)
        return reason.strip()

    @field_validator("service_id")
    @classmethod
    def _service(cls, service_id: str | None, info: ValidationInfo) -> str | None:
        if (info.data.get("why") is _ELSEWHERE) != (service_id is not None):
            raise ValueError("name the service with better_served_elsewhere, and only then")
        return service_id


def _as_is(who: AgencyAction, body: Any) -> AgencyAction:
    return who


def _decline(who: AgencyAction, body: DeclineRequest) -> AgencyAction:
    return Decline(
        **who.model_dump(), reason=body.reason.strip(), why=body.why, service_id=body.service_id
    )


def _record(who: AgencyAction, body: Outcome) -> AgencyAction:
    return RecordOutcome(**who.model_dump(), outcome=body)


@dataclass(frozen=True, kw_only=True)
class LegActionSpec:
    """One leg action: its Update, its endpoint's path, body and words, and how the body
    becomes the Update's argument."""

    action: LegAction
    update: LegUpdate
    path: str
    summary: str
    doc: str
    body: type[BaseModel] | None = None
    command: Callable[[AgencyAction, Any], AgencyAction] = _as_is


LEG_ACTIONS: tuple[LegActionSpec, ...] = (
    LegActionSpec(
        action=LegAction.ACCEPT,
        update=ReferralLegWorkflow.accept,
        path="accept",
        summary="Accept a leg",
        doc="The agency takes the referral on.",
    ),
    LegActionSpec(
        action=LegAction.START,
        update=ReferralLegWorkflow.start,
        path="start",
        summary="Start work on a leg",
        doc="The agency starts working with the resident.",
    ),
    LegActionSpec(
        action=LegAction.DECLINE,
        update=ReferralLegWorkflow.decline,
        path="decline",
        summary="Decline a leg, with a reason from the list",
        doc="The agency declines; what follows depends on the reason (see the body).",
        body=DeclineRequest,
        command=_decline,
    ),
    LegActionSpec(
        action=LegAction.RECORD_OUTCOME,
        update=ReferralLegWorkflow.record_outcome,
        path="outcome",
        summary="Record a leg's outcome",
        doc="What happened for the resident, with an optional value (e.g. 1240 GBP awarded).",
        body=Outcome,
        command=_record,
    ),
    LegActionSpec(
        action=LegAction.CLOSE,
        update=ReferralLegWorkflow.close,
        path="close",
        summary="Close a leg",
        doc="The agency closes the leg once its outcome is recorded.",
    ),
)
_BY_ACTION = {spec.action: spec for spec in LEG_ACTIONS}


class LegNotFound(LookupError):
    """No leg with that id that this caller may act on (the two look the same on purpose)."""


async def leg_for(sessions: Sessions, principal: Principal, leg_id: str) -> StoredLeg:
    """The leg, if ``principal`` may act on it; otherwise :class:`LegNotFound`."""
    leg = await get_leg(sessions, leg_id)
    if leg is None or not may_act_for_agency(principal, leg.agency_id):
        raise LegNotFound(leg_id)
    return leg


async def act_on_leg(client: Client, leg: StoredLeg, action: LegAction, body: BaseModel) -> LegView:
    """Run the action's Update on the leg's workflow; refusals carry the validator's reason.
    An offered leg is accepted through its referral, which decides which accept is first."""
    if leg.offered and action is LegAction.ACCEPT:
        assert isinstance(body, AgencyAction)
        number = leg.leg_id.rsplit("-L", 1)[0]
        acceptance = OfferAcceptance(leg_id=leg.leg_id, agency_id=body.agency_id, actor=body.actor)
        return await temporal.accept_offer(client, number, acceptance)
    update = _BY_ACTION[action].update
    return await temporal.update_leg(
        client, leg.leg_id, update, body, gone=f"the leg is {leg.state}"
    )


def _endpoint(spec: LegActionSpec) -> Callable[[Call], Awaitable[LegView]]:
    async def handler(call: Call) -> LegView:
        user = call.user()
        try:
            leg = await leg_for(call.request.app[SESSIONS], user, call.path("leg_id"))
        except LegNotFound:
            raise web.HTTPNotFound(reason=NO_LEG) from None
        who = AgencyAction(agency_id=leg.agency_id, actor=user.subject)
        command = spec.command(who, call.body_as(spec.body) if spec.body else None)
        client = await connect(call.request.app[TEMPORAL])
        return await act_on_leg(client, leg, spec.action, command)

    name = "record_leg_outcome" if spec.action is LegAction.RECORD_OUTCOME else f"{spec.path}_leg"
    handler.__name__ = handler.__qualname__ = name
    handler.__doc__ = spec.doc
    return handler


for _spec in LEG_ACTIONS:
    routes.route(
        "POST",
        f"/api/legs/{{leg_id}}/{_spec.path}",
        summary=_spec.summary,
        action=Action.ACT_ON_LEG,
        body=_spec.body,
        strict_body=_spec.body is not None,
        response=LegView,
        errors=(404, 409, 503),
    )(_endpoint(_spec))
