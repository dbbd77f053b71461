"""Agency actions on a referral leg, one path for the JSON API, the dashboard and callbacks.

Every action is an Update on the leg's workflow; its validator applies the leg state machine,
so a refused action changes nothing and comes back as a :class:`DomainRefusal` with the reason.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import DomainRefusal
from domain.access import Principal, may_act_for_agency
from domain.referral import (
    ACCEPT_UPDATE,
    CLOSE_UPDATE,
    DECLINE_UPDATE,
    RECORD_OUTCOME_UPDATE,
    START_UPDATE,
    LegView,
)
from store.db import Sessions
from store.referrals import StoredLeg, get_leg


class LegAction(StrEnum):
    """What an agency does with a leg, named as its Update."""

    ACCEPT = ACCEPT_UPDATE
    START = START_UPDATE
    DECLINE = DECLINE_UPDATE
    RECORD_OUTCOME = RECORD_OUTCOME_UPDATE
    CLOSE = CLOSE_UPDATE


class LegNotFound(LookupError):
    """No leg with that id that this caller may act on (the two look the same on purpose)."""


async def leg_for(sessions: Sessions, principal: Principal, leg_id: str) -> StoredLeg:
    """The leg, if ``principal`` may act on it; otherwise :class:`LegNotFound`."""
    leg = await get_leg(sessions, leg_id)
    if leg is None or not may_act_for_agency(principal, leg.agency_id):
        raise LegNotFound(leg_id)
    return leg


async def act_on_leg(client: Client, leg: StoredLeg, action: LegAction, body: BaseModel) -> LegView:
    """Run the action's Update on the leg's workflow; refusals carry the validator's reason."""
    handle = client.get_workflow_handle(leg.leg_id)
    try:
        view: LegView = await handle.execute_update(action.value, body, result_type=LegView)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
        raise DomainRefusal(reason) from None
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise DomainRefusal(f"leg {leg.leg_id} is no longer open (it is {leg.state})") from None
        raise
    return view
