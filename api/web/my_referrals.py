"""The referrer's own referrals: each need's state in words, what it waits on, deadlines and
outcomes; the follow-up when it is due; withdrawing a referral or the resident's consent.

Every action runs the API's own function (:mod:`api.referrals.consent`), so the workflow's
rules refuse here exactly as they do there; its refusal is shown beside the form.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from api.http.errors import TEMPORAL_ERRORS, DomainRefusal, temporal_answer
from api.http.state import SESSIONS
from api.referrals.consent import (
    FollowUpRequest,
    WithdrawRequest,
    follow_up_referral,
    withdraw_referral_for,
    withdraw_resident_consent,
)
from api.web.pages import PageCall, PageTable, render, require_form
from api.web.referrals import Optional
from domain.access import Action, may_manage_referral
from domain.find_words import need_label
from domain.labels import money, relative
from domain.referral import LegState, NeedState, OutcomeCode, ReferralStatus, Withdrawal
from domain.referrer_words import (
    LEG_WORDS,
    NEED_WORDS,
    OUTCOME_WORDS,
    STATUS_WORDS,
    WAITING_WORDS,
)
from domain.waiting import waiting_on
from store.names import read_names
from store.referrals import ReferralFilter, StoredReferral, get_referral, list_referrals
from store.waiting import open_legs_of, unallocated_counts

pages = PageTable()
PER_PAGE = 25
SCORES = [
    (str(n), label)
    for n, label in enumerate(("None", "A little", "Some", "Quite a lot", "A lot"), start=1)
]


class MineForm(BaseModel):
    """The list's filters as the browser sends them (empty: any)."""

    model_config = ConfigDict(extra="ignore")

    status: Annotated[ReferralStatus | None, Optional] = None
    waiting_on: Annotated[Literal["agency", "coordinator", "referrer"] | None, Optional] = None
    page: Annotated[int | None, Optional] = None


def _leg_words(leg: Any, names: Any, now: datetime) -> dict[str, str]:
    """One agency's part as the referrer reads it."""
    state = LegState(leg.state)
    deadline = ""
    if state is LegState.SENT:
        deadline = f"answer due {leg.deadline:%d %B %Y} ({relative(leg.deadline, now)})"
    elif state in (LegState.ACCEPTED, LegState.IN_PROGRESS) and leg.outcome_due_at:
        deadline = (
            f"outcome due {leg.outcome_due_at:%d %B %Y} ({relative(leg.outcome_due_at, now)})"
        )
    outcome = ""
    if leg.outcome_code:
        outcome = OUTCOME_WORDS[OutcomeCode(leg.outcome_code)]
        amount = money(leg.outcome_value, leg.outcome_unit)
        if amount:
            outcome += f": {amount}"
    return {
        "agency": names.agencies.get(leg.agency_id, leg.agency_id),
        "state": LEG_WORDS[state],
        "deadline": deadline,
        "late": "late" if leg.breached or leg.outcome_overdue else "",
        "outcome": outcome,
        "reason": leg.decline_reason or "",
    }


def _needs(stored: StoredReferral, names: Any, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "label": need_label(need.category),
            "state": NEED_WORDS[NeedState(need.state)],
            "legs": [
                _leg_words(leg, names, now) for leg in stored.legs if leg.need_id == need.need_id
            ],
        }
        for need in stored.needs
    ]


def _waits(stored: StoredReferral, open_legs: list[Any], unallocated: int, names: Any) -> str:
    owed = waiting_on(
        status=stored.summary.status.value, open_legs=open_legs, unallocated_needs=unallocated
    )
    parts = [
        f"{names.agencies.get(agency, agency) if agency else WAITING_WORDS[party.value]}: {what}"
        for party, agency, what in owed
    ]
    return "; ".join(parts) or "Nobody: nothing is owed"


@pages.page("GET", "/refer/mine", summary="My referrals", action=Action.SUBMIT_REFERRAL)
async def my_referrals(call: PageCall) -> web.StreamResponse:
    """The signed-in user's own referrals, newest first, filtered by status and who they
    wait on."""
    try:
        form = MineForm.model_validate(dict(call.request.query))
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise web.HTTPBadRequest(reason=f"check the filters: {fields}") from None
    me = call.me().principal
    sessions = call.request.app[SESSIONS]
    page_number = max(1, min(form.page or 1, 10_000))
    listing = await list_referrals(
        sessions,
        ReferralFilter(
            submitted_by=me.subject,
            status=form.status.value if form.status else None,
            waiting_on=form.waiting_on,
            limit=PER_PAGE,
            offset=(page_number - 1) * PER_PAGE,
        ),
    )
    numbers = [r.number for r in listing.items]
    open_legs = await open_legs_of(sessions, numbers)
    unallocated = await unallocated_counts(sessions, numbers)
    names = await read_names(sessions)
    now = datetime.now(UTC)
    rows = []
    for summary in listing.items:
        stored = await get_referral(sessions, summary.number)
        if stored is None:
            continue
        rows.append(
            {
                "number": summary.number,
                "created": f"{summary.created_at:%d %B %Y}",
                "ward": names.wards.get(summary.ward, summary.ward),
                "status": STATUS_WORDS[summary.status],
                "needs": _needs(stored, names, now),
                "waits": _waits(
                    stored,
                    open_legs.get(summary.number, []),
                    unallocated.get(summary.number, 0),
                    names,
                ),
            }
        )
    chosen = {k: v for k, v in call.request.query.items() if v and k != "page"}
    return render(
        call,
        "refer/mine.html",
        rows=rows,
        total=listing.total,
        form=form,
        errors={},
        statuses=[(s.value, STATUS_WORDS[s].split(":")[0]) for s in ReferralStatus],
        waits=[
            ("referrer", "You (a follow-up is due)"),
            ("agency", "An agency"),
            ("coordinator", "The co-ordinator"),
        ],
        page_number=page_number,
        last_page=max(1, -(-listing.total // PER_PAGE)),
        page_link=lambda n: "/refer/mine?" + urlencode({**chosen, "page": n}),
    )


async def _mine(call: PageCall) -> StoredReferral:
    """The path's referral, if the signed-in user made it; 404 otherwise."""
    number = call.request.match_info["number"]
    stored = await get_referral(call.request.app[SESSIONS], number)
    if stored is None or stored.submitted_by != call.me().principal.subject:
        raise web.HTTPNotFound(reason=f"no referral {number} of yours")
    return stored


async def _detail(
    call: PageCall,
    stored: StoredReferral,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    sessions = call.request.app[SESSIONS]
    names = await read_names(sessions)
    number = stored.summary.number
    open_legs = (await open_legs_of(sessions, [number])).get(number, [])
    unallocated = (await unallocated_counts(sessions, [number])).get(number, 0)
    now = datetime.now(UTC)
    # Agency staff follow what they referred; its follow-up and withdrawal are the referrer's.
    manages = may_manage_referral(call.me().principal, referrer=stored.submitted_by)
    follow_up_due = manages and stored.summary.status is ReferralStatus.FOLLOW_UP
    return render(
        call,
        "refer/mine_one.html",
        status,
        number=number,
        summary=stored.summary,
        status_words=STATUS_WORDS[stored.summary.status],
        ward=names.wards.get(stored.summary.ward, stored.summary.ward),
        created=f"{stored.summary.created_at:%d %B %Y}",
        needs=_needs(stored, names, now),
        waits=_waits(stored, open_legs, unallocated, names),
        follow_up_due=follow_up_due,
        follow_up_by=f"{stored.follow_up_due_at:%d %B %Y}"
        if follow_up_due and stored.follow_up_due_at
        else "",
        may_withdraw=manages
        and stored.summary.status
        in (ReferralStatus.OPEN, ReferralStatus.UNALLOCATED, ReferralStatus.FOLLOW_UP),
        may_withdraw_consent=manages and not stored.summary.personal_data_erased,
        scores=SCORES,
        done=call.request.query.get("done", ""),
        errors=errors or {},
        values=values or {},
    )


@pages.page(
    "GET", "/refer/mine/{number}", summary="One of my referrals", action=Action.SUBMIT_REFERRAL
)
async def my_referral(call: PageCall) -> web.StreamResponse:
    """One of the user's referrals: each need and agency in words, deadlines, outcomes, and
    the follow-up and withdrawal forms."""
    return await _detail(call, await _mine(call))


async def _act(
    call: PageCall,
    stored: StoredReferral,
    field: str,
    values: dict[str, str],
    action: Any,
    done: str,
) -> web.StreamResponse:
    """Run ``action``; on the workflow's refusal, show the page with its reason by ``field``."""
    try:
        await action()
    except DomainRefusal as exc:
        return await _detail(
            call, stored, errors={field: exc.reason}, values=values, status=exc.status
        )
    except TEMPORAL_ERRORS as exc:
        status, reason, headers = temporal_answer(exc)
        response = await _detail(call, stored, errors={field: reason}, values=values, status=status)
        response.headers.update(headers)
        return response
    raise web.HTTPSeeOther(f"/refer/mine/{stored.summary.number}?" + urlencode({"done": done}))


@pages.page(
    "POST",
    "/refer/mine/{number}/follow-up",
    summary="Record the follow-up of my referral",
    action=Action.MANAGE_REFERRAL,
)
async def follow_up(call: PageCall) -> web.StreamResponse:
    """Whether the help made a difference, and how much (the follow-up Update)."""
    form = await require_form(call)
    stored = await _mine(call)
    helped, score = form.get("made_difference", ""), form.get("score", "")
    values = {"made_difference": helped, "score": score}
    if helped not in ("yes", "no"):
        return await _detail(
            call,
            stored,
            errors={"made_difference": "Select whether the help made a difference"},
            values=values,
            status=400,
        )
    req = FollowUpRequest(
        made_difference=helped == "yes", score=int(score) if score in dict(SCORES) else None
    )
    return await _act(
        call,
        stored,
        "made_difference",
        values,
        lambda: follow_up_referral(
            call.request.app, stored.summary.number, actor=call.me().principal.subject, req=req
        ),
        "Follow-up recorded",
    )


def _reason(form: dict[str, str], field: str) -> WithdrawRequest | None:
    try:
        return WithdrawRequest(reason=form.get(field, ""))
    except ValidationError:
        return None


@pages.page(
    "POST",
    "/refer/mine/{number}/withdraw",
    summary="Withdraw my referral",
    action=Action.MANAGE_REFERRAL,
)
async def withdraw(call: PageCall) -> web.StreamResponse:
    """Stop every open leg and tell its agency (the withdraw Update)."""
    form = await require_form(call)
    stored = await _mine(call)
    req = _reason(form, "withdraw_reason")
    values = {"withdraw_reason": form.get("withdraw_reason", "")}
    if req is None:
        return await _detail(
            call,
            stored,
            errors={
                "withdraw_reason": "Enter why the referral is withdrawn (1,000 characters at most)"
            },
            values=values,
            status=400,
        )
    return await _act(
        call,
        stored,
        "withdraw_reason",
        values,
        lambda: withdraw_referral_for(
            call.request.app, stored.summary.number, actor=call.me().principal.subject, req=req
        ),
        "Referral withdrawn",
    )


@pages.page(
    "POST",
    "/refer/mine/{number}/withdraw-consent",
    summary="Record that the resident withdrew consent",
    action=Action.MANAGE_REFERRAL,
)
async def withdraw_consent(call: PageCall) -> web.StreamResponse:
    """Stop every leg, tell the agencies to delete the details, erase them (as the API does)."""
    form = await require_form(call)
    stored = await _mine(call)
    req = _reason(form, "consent_reason")
    values = {"consent_reason": form.get("consent_reason", "")}
    if req is None:
        return await _detail(
            call,
            stored,
            errors={"consent_reason": "Enter what the resident said, in 1,000 characters or fewer"},
            values=values,
            status=400,
        )
    withdrawal = Withdrawal(actor=call.me().principal.subject, reason=req.reason)
    return await _act(
        call,
        stored,
        "consent_reason",
        values,
        lambda: withdraw_resident_consent(call.request.app, stored, withdrawal),
        "Consent withdrawn: the resident's details are erased",
    )
