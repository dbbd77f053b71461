"""Agency actions on a referral leg, one path for the JSON API, the dashboard and callbacks.

Every action is an Update on the leg's workflow; its validator applies the leg state machine,
so a refused action changes nothing and comes back as a :class:`DomainRefusal` with the reason.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

import structlog
from aiohttp import web
from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
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

log = structlog.get_logger(__name__)
R = TypeVar("R", bound=BaseModel)


class LegAction(StrEnum):
    """What an agency does with a leg, named as its Update."""

    ACCEPT = ACCEPT_UPDATE
    START = START_UPDATE
    DECLINE = DECLINE_UPDATE
    RECORD_OUTCOME = RECORD_OUTCOME_UPDATE
    CLOSE = CLOSE_UPDATE


class WorkflowGone(DomainRefusal):
    """The workflow is no longer running: nothing can change it."""


class LegNotFound(LookupError):
    """No leg with that id that this caller may act on (the two look the same on purpose)."""


async def leg_for(sessions: Sessions, principal: Principal, leg_id: str) -> StoredLeg:
    """The leg, if ``principal`` may act on it; otherwise :class:`LegNotFound`."""
    leg = await get_leg(sessions, leg_id)
    if leg is None or not may_act_for_agency(principal, leg.agency_id):
        raise LegNotFound(leg_id)
    return leg


async def run_update(
    client: Client, workflow_id: str, update: str, arg: BaseModel, result: type[R], *, gone: str
) -> R:
    """Run an Update: its result; the validator's refusal, or a finished workflow (``gone``),
    as a 409 :class:`DomainRefusal`; Temporal unreachable as a 503."""
    handle: Any = client.get_workflow_handle(workflow_id)
    # With the request id bound by the API, this line ties a request to its workflow.
    log.info("update sent", workflow_id=workflow_id, update=update)
    try:
        answer: R = await handle.execute_update(update, arg, result_type=result)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise DomainRefusal(reason or "refused") from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise web.HTTPServiceUnavailable(reason="the workflow did not answer in time") from None
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise WorkflowGone(gone) from None
        log.warning("update failed", workflow_id=workflow_id, update=update, error=repr(exc))
        raise web.HTTPServiceUnavailable(reason="Temporal is unavailable; try again") from None
    return answer


async def act_on_leg(client: Client, leg: StoredLeg, action: LegAction, body: BaseModel) -> LegView:
    """Run the action's Update on the leg's workflow; refusals carry the validator's reason."""
    return await run_update(
        client, leg.leg_id, action.value, body, LegView, gone=f"the leg is {leg.state}"
    )
