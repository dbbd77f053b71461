"""Erasure requests: remove a resident's personal data from a referral, running or finished.

A running referral erases through its workflow's ``withdraw_consent`` Update (its legs stop,
the agencies are told, then the data is erased); a finished one is erased in the store
directly. Either way the anonymous statistics stay, and the request is in the audit trail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import DomainRefusal
from api.routing import Call, RouteTable
from api.state import SESSIONS, TEMPORAL
from domain.access import Action, may_see_referral
from domain.referral import WITHDRAW_CONSENT_UPDATE, ReferralView, Withdrawal
from store.erasure import erase_on_request
from store.referrals import get_referral

routes = RouteTable("erasure")
log = structlog.get_logger(__name__)

NOT_FOUND = "no such referral"


class ErasureRequest(BaseModel):
    """Why the resident's personal data is to be erased (no personal data here: it is kept)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


class ErasureReceipt(BaseModel):
    """The referral's personal data is gone; how, and whether it already was."""

    number: str
    already_erased: bool = Field(description="It was erased before this request; nothing done.")
    erased_by: Literal["workflow", "store"] | None = Field(
        default=None,
        description="workflow: the running referral stopped its legs, told the agencies and "
        "erased; store: the finished referral was erased in the store.",
    )
    status: str


@routes.route(
    "POST",
    "/api/referrals/{number}/erasure",
    summary="Erase a referral's personal data",
    action=Action.ERASE_PERSONAL_DATA,
    body=ErasureRequest,
    response=ErasureReceipt,
    errors=(404, 409, 503),
)
async def request_erasure(call: Call) -> ErasureReceipt:
    """Erase the resident's personal data; the anonymous statistics stay. Idempotent.

    While the referral runs, its open legs stop and their agencies are told first (as when
    consent is withdrawn); once it has finished, the store is erased directly.
    """
    sessions = call.request.app[SESSIONS]
    user = call.user()
    number = call.path("number")
    stored = await get_referral(sessions, number)
    if stored is None or not may_see_referral(
        user, referrer=stored.submitted_by, agency_ids={leg.agency_id for leg in stored.legs}
    ):
        raise web.HTTPNotFound(reason=NOT_FOUND)
    if stored.summary.personal_data_erased:
        return ErasureReceipt(number=number, already_erased=True, status=stored.summary.status)
    reason = call.body_as(ErasureRequest).reason
    try:
        client = await call.request.app[TEMPORAL].client()
    except Exception as exc:
        log.warning("temporal unreachable", error=repr(exc))
        raise web.HTTPServiceUnavailable(reason="Temporal is unreachable; try again") from None
    try:
        view: ReferralView = await client.get_workflow_handle(number).execute_update(
            WITHDRAW_CONSENT_UPDATE,
            Withdrawal(actor=user.subject, reason=reason),
            result_type=ReferralView,
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        refusal = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
        again = await get_referral(sessions, number)
        if again is not None and again.summary.personal_data_erased:
            return ErasureReceipt(number=number, already_erased=True, status=again.summary.status)
        raise DomainRefusal(refusal) from None
    except RPCError as exc:
        if exc.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            log.warning("erasure update failed", referral=number, error=repr(exc))
            raise web.HTTPServiceUnavailable(reason="Temporal is unavailable; try again") from None
    else:
        log.info("personal data erased", referral=number, by="workflow")
        return ErasureReceipt(
            number=number, already_erased=False, erased_by="workflow", status=view.status.value
        )
    # The workflow has finished (or never ran): nothing holds the data but the store.
    erased = await erase_on_request(
        sessions, number, actor=user.subject, reason=reason, at=datetime.now(UTC)
    )
    log.info("personal data erased", referral=number, by="store", erased=erased)
    return ErasureReceipt(
        number=number,
        already_erased=not erased,
        erased_by="store" if erased else None,
        status=stored.summary.status,
    )
