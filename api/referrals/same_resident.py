"""The same resident twice: a new referral for a resident an open referral already serves,
and adding a need to that referral instead.

A submission for such a resident is refused (409) unless it says ``confirm_new``. The refusal
names the open referral only to a caller who may see it, and offers to add the need only to one
who may manage it (its referrer, co-ordinators, admins); anyone else is told that an open
referral exists and that the co-ordinator will link them. A confirmed new referral carries the
numbers it may duplicate, which only staff see on its timeline.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError

from api.http.errors import DomainRefusal
from api.http.routing import Call, json_response
from api.http.state import SESSIONS, TEMPORAL
from api.referrals.common import NOT_FOUND, managed_referral, routes
from clients import temporal
from clients.temporal import TemporalTimedOut, connect
from domain.access import Action, Principal, may_manage_referral, may_see_referral
from domain.referral import (
    AddNeed,
    Need,
    NeedRef,
    ReferralStatus,
    ReferralSubmission,
    ReferralView,
)
from domain.resident_match import OpenReferral, ResidentDetails
from store.db import Sessions
from store.referrals import (
    claim_added_need,
    get_referral,
    open_referrals_of_resident,
    release_added_need,
)
from workflows.referral import ReferralWorkflow

ANOTHER_REFERRERS = (
    "an open referral exists for this resident; the co-ordinator will link them. Send it "
    'again with "confirm_new": true to make this referral anyway'
)


def add_need_path(number: str) -> str:
    """Where a need is added to referral ``number``."""
    return f"/api/referrals/{number}/needs"


class SameResident(DomainRefusal):
    """An open referral serves the submission's resident: 409, naming it if the caller may
    see it (``existing``), with the path to add the need if the caller may (``add_need``)."""

    def __init__(self, *, existing: str | None, add_need: bool) -> None:
        if existing is None:
            reason = ANOTHER_REFERRERS
        else:
            reason = (
                f"an open referral for this resident exists ({existing}): "
                + (f"add the need to it (POST {add_need_path(existing)}), or " if add_need else "")
                + 'send it again with "confirm_new": true to make a new referral'
            )
        also = {"existing_referral": existing} if existing is not None else {}
        if existing is not None and add_need:
            also["add_need"] = add_need_path(existing)
        super().__init__(reason, also=also)
        self.existing = existing
        self.may_add = existing is not None and add_need


def resident_details(submission: ReferralSubmission) -> ResidentDetails:
    """What the matching rule compares of a submission's resident."""
    resident = submission.resident
    return ResidentDetails(
        name=resident.name, date_of_birth=resident.date_of_birth, postcode=resident.postcode
    )


async def same_resident_referrals(
    sessions: Sessions, submission: ReferralSubmission
) -> list[OpenReferral]:
    """The open referrals that already serve the submission's resident."""
    return await open_referrals_of_resident(sessions, resident_details(submission))


async def refuse_same_resident(
    sessions: Sessions, caller: Principal, found: list[OpenReferral]
) -> None:
    """Raise :class:`SameResident` for ``found`` (non-empty), as ``caller`` may be told it:
    the first open referral they may manage, else one they may see, else none named."""
    seen: str | None = None
    for referral in found:
        if may_manage_referral(caller, referrer=referral.submitted_by):
            raise SameResident(existing=referral.number, add_need=True)
        if seen is None:
            stored = await get_referral(sessions, referral.number)
            agencies = {leg.agency_id for leg in stored.legs} if stored else set()
            if may_see_referral(caller, referrer=referral.submitted_by, agency_ids=agencies):
                seen = referral.number
    raise SameResident(existing=seen, add_need=False)


class NeedAdded(BaseModel):
    """A need added to an open referral: its id and the referral as it now is."""

    model_config = ConfigDict(extra="forbid")

    need_id: str = Field(description="The new need's id on the referral, e.g. N3.")
    referral: ReferralView


async def add_need_to_referral(
    app: web.Application, number: str, need: Need, *, actor: str
) -> NeedAdded:
    """Add ``need`` to open referral ``number`` through its workflow, which routes it as it
    routed the first needs. Its notes are kept first (its notice reads them) and forgotten
    again if the workflow refuses it."""
    sessions = app[SESSIONS]
    stored = await get_referral(sessions, number)
    if stored is None:
        raise web.HTTPNotFound(reason=NOT_FOUND)
    if stored.summary.status is not ReferralStatus.OPEN or stored.summary.personal_data_erased:
        raise DomainRefusal(
            f"the referral is {stored.summary.status.value}: needs join open referrals only; "
            "make a new referral"
        )
    client = await connect(app[TEMPORAL])
    try:
        need_id = await claim_added_need(sessions, number, need)
    except IntegrityError:
        raise DomainRefusal(
            "another need is being added to this referral at this moment; send it again"
        ) from None
    if need_id is None:
        raise DomainRefusal("the resident's details were erased: make a new referral")
    ref = NeedRef(
        need_id=need_id,
        category=need.category,
        urgency=need.urgency,
        offer_max=need.offer.max_services if need.offer is not None else None,
    )
    try:
        view = await temporal.update_referral(
            client, number, ReferralWorkflow.add_need, AddNeed(actor=actor, need=ref)
        )
    except TemporalTimedOut:
        # The need may still join when a worker takes the Update: keep what it needs.
        raise
    except Exception:
        # Refused, ended or never reached: nothing joined the referral.
        await release_added_need(sessions, number, need_id)
        raise
    return NeedAdded(need_id=need_id, referral=view)


@routes.route(
    "POST",
    "/api/referrals/{number}/needs",
    summary="Add a need to an open referral",
    action=Action.MANAGE_REFERRAL,
    body=Need,
    strict_body=True,
    response=NeedAdded,
    status=201,
    errors=(404, 409, 503),
)
async def add_need(call: Call) -> web.StreamResponse:
    """Add a need for the same resident to an open referral instead of making a second
    referral (its referrer, co-ordinators and admins). The need is routed among the agencies
    the resident already agreed to, as the referral's first needs were; a referral no longer
    open (awaiting follow-up, closed, withdrawn, erased) refuses it with 409."""
    stored = await managed_referral(call)
    added = await add_need_to_referral(
        call.request.app, stored.summary.number, call.body_as(Need), actor=call.user().subject
    )
    return json_response(added, 201)


__all__ = [
    "SameResident",
    "add_need_to_referral",
    "refuse_same_resident",
    "same_resident_referrals",
]
