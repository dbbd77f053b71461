"""Erasure requests: remove a resident's personal data from a referral, running or finished.

A running referral erases through its workflow's ``withdraw_consent`` Update (its legs stop,
the agencies are told, then the data is erased); a finished one is erased in the store
directly. Either way the anonymous statistics stay, and the request is in the audit trail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field

from api.http.routing import Call, RouteTable
from api.http.state import SESSIONS, TEMPORAL
from api.referrals.common import visible_referral
from api.referrals.consent import withdraw_consent_in_workflow
from clients.temporal import WorkflowRefused, connect
from domain.access import Action
from domain.referral import Withdrawal
from store.erasure import erase_on_request
from store.referrals import get_referral

routes = RouteTable("erasure")
log = structlog.get_logger(__name__)


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
    stored = await visible_referral(call, number)
    if stored.summary.personal_data_erased:
        return ErasureReceipt(number=number, already_erased=True, status=stored.summary.status)
    reason = call.body_as(ErasureRequest).reason
    client = await connect(call.request.app[TEMPORAL])
    withdrawal = Withdrawal(actor=user.subject, reason=reason)
    try:
        view = await withdraw_consent_in_workflow(client, number, withdrawal)
    except WorkflowRefused:
        again = await get_referral(sessions, number)
        if again is not None and again.summary.personal_data_erased:
            return ErasureReceipt(number=number, already_erased=True, status=again.summary.status)
        raise
    if view is not None:
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
