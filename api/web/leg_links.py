"""The pages an agency's referral notice links to: one action on one leg, for the agency it
was sent to, without an account.

Opening a link changes nothing (mail scanners follow links): it shows what the link is for
and a button or the action's form, whose POST carries a token bound to the link. A one-off
link is spent by the action it allows, once; a refused action gives it back. The view link
shows the referral's facts; the resident's details take a confirming click, and that read is
audited. Every case in which a link cannot be used gets a calm page that says what to do.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel

from api.audit import audit_personal_read
from api.find.site import FIND_CONFIG
from api.http.state import SESSIONS, TEMPORAL
from api.referrals.legs import act_on_leg
from api.web import command_form as cf
from api.web.leg_link_forms import (
    LEG_ACTION_OF,
    LEG_ACTION_SPECS,
    form_fields,
    form_model,
)
from api.web.link_pages import LinkFailed, form_not_sent, link_form
from api.web.pages import PageCall, PageTable, render
from api.web.partnership_actions import values_of
from clients.temporal import (
    TemporalTimedOut,
    TemporalUnavailable,
    WorkflowGone,
    WorkflowRefused,
    connect,
    query_leg,
)
from domain.access import Principal, Role, referral_share
from domain.capacity import CapacityReport
from domain.deadline_words import deadline_words
from domain.labels import category_name, words
from domain.leg_link import (
    ACTION_WORDS,
    DONE_WORDS,
    LEG_ACTION_PURPOSE,
    LEG_LINK_LIFETIME,
    ONE_OFF,
    LegLink,
    LinkAction,
    NotALegLink,
    closed_because,
    form_token,
    leg_link_from,
    leg_link_token,
    possible_actions,
)
from domain.referral import AgencyAction, ReferralStatus
from domain.signed_link import BadLink, LinkKeys, verify_link_until
from store.directory import active_services, get_service, report_capacity
from store.referrals import StoredLeg, StoredReferral, get_referral, load_personal_data
from store.spent_links import give_back, is_spent, spend

pages = PageTable()
log = structlog.get_logger(__name__)

PATH = "/leg/{token}"
_ASK_AGAIN = (
    "Links in referral emails work for 30 days, and only for the organisation they were sent "
    "to. Each reminder brings new ones; or reply to the email and the co-ordinator will help."
)

_BUSY = (
    "Sorry, this could not be done just now",
    "Nothing was changed. Please try the link again in a few minutes.",
)


class Opened(BaseModel):
    """A working link with the leg and referral it acts on."""

    token: str
    link: LegLink
    leg: StoredLeg
    referral: StoredReferral


def _keys(call: PageCall) -> LinkKeys:
    return call.request.app[FIND_CONFIG].link_keys


async def _open(call: PageCall, token: str) -> Opened:
    """The link, its leg and referral, or :class:`LinkFailed`; spent or closed links too."""
    try:
        subject, expires = verify_link_until(
            _keys(call), token, purpose=LEG_ACTION_PURPOSE, now=datetime.now(UTC)
        )
        link = leg_link_from(subject, expires)
    except (BadLink, NotALegLink) as exc:
        expired = isinstance(exc, BadLink) and "expired" in str(exc)
        raise LinkFailed(
            410 if expired else 404,
            "This link has expired" if expired else "This link does not work",
            _ASK_AGAIN,
        ) from None
    number = link.leg_id.rsplit("-L", 1)[0]
    referral = await get_referral(call.request.app[SESSIONS], number)
    leg = next((x for x in referral.legs if x.leg_id == link.leg_id), None) if referral else None
    if referral is not None and leg is None:
        # The notice goes out as the leg starts: it may be clicked before the read model has
        # the leg, so ask its workflow.
        leg = await _running_leg(call, link.leg_id)
    if referral is None or leg is None:
        raise LinkFailed(404, "This link does not work", "The referral no longer exists.")
    return Opened(token=token, link=link, leg=leg, referral=referral)


async def _running_leg(call: PageCall, leg_id: str) -> StoredLeg | None:
    try:
        client = await connect(call.request.app[TEMPORAL])
        view = await query_leg(client, leg_id, wait=timedelta(seconds=5))
    except TemporalUnavailable:
        raise LinkFailed(503, *_BUSY) from None
    return StoredLeg.model_validate(view.model_dump()) if view is not None else None


async def _usable(call: PageCall, opened: Opened) -> None:
    """:class:`LinkFailed` unless the link's action can be done now."""
    if opened.link.action in ONE_OFF and await is_spent(call.request.app[SESSIONS], opened.token):
        raise LinkFailed(
            410,
            "This link has been used",
            "What it asked for is done, and it will not work again. The referral's other links "
            "in your email still work while they are needed.",
        )
    reason = closed_because(
        opened.link,
        state=opened.leg.state,
        agency_id=opened.leg.agency_id,
        consent_withdrawn=opened.referral.summary.status is ReferralStatus.CONSENT_WITHDRAWN,
        offer_lost=opened.leg.offer_lost,
    )
    if reason is not None:
        raise LinkFailed(410, "This link is no longer needed", f"Nothing to do: {reason}.")


def _next_links(call: PageCall, opened: Opened, leg: StoredLeg) -> list[tuple[str, str]]:
    """Fresh links for what the agency can do next with the leg as it now is."""
    out = []
    for action in possible_actions(leg.state):
        link = LegLink(
            leg_id=leg.leg_id,
            agency_id=opened.link.agency_id,
            action=action,
            expires_at=datetime.now(UTC) + LEG_LINK_LIFETIME,
        )
        out.append((ACTION_WORDS[action], f"/leg/{leg_link_token(_keys(call), link)}"))
    return out


async def _facts(call: PageCall, opened: Opened) -> list[tuple[str, str]]:
    """What the page says about the referral: the notice's facts, no personal data."""
    leg, summary = opened.leg, opened.referral.summary
    service = await get_service(call.request.app[SESSIONS], leg.service_id)
    facts = [
        ("Referral", summary.number),
        ("Service", service.name if service else leg.service_id),
        ("Need", category_name(leg.category)),
        ("Urgency", words(leg.urgency).capitalize()),
        ("Ward", words(summary.ward).title()),
        ("Where it is", words(leg.state).capitalize()),
    ]
    if leg.state.value == "sent":
        facts.append(("Please answer", deadline_words(leg.deadline, datetime.now(UTC))))
    return facts


def _context(
    call: PageCall,
    opened: Opened,
    facts: list[tuple[str, str]],
    fields: tuple[cf.FormField, ...],
    values: cf.Values,
    errors: dict[str, str] | None = None,
    refusal: str = "",
) -> dict[str, Any]:
    errors = errors or {}
    listed = [(cf.field_id(n), m) for n, m in errors.items()]
    if refusal:
        listed.append(("refusal", f"Nothing was changed: {refusal}"))
    action = opened.link.action
    return {
        "service_name": "Referrals",
        "title": ACTION_WORDS[action],
        "number": opened.referral.summary.number,
        "facts": facts,
        "fields": cf.controls(fields, values, errors),
        "summary_errors": listed,
        "errors": bool(listed),
        "refusal": refusal,
        "form_action": f"/leg/{opened.token}",
        "form_csrf": form_token(_keys(call), opened.token),
        "button": "Show the resident's details"
        if action is LinkAction.VIEW
        else ACTION_WORDS[action],
        "radio_limit": cf.RADIO_LIMIT,
        "view": action is LinkAction.VIEW,
        "next_links": _next_links(call, opened, opened.leg) if action is LinkAction.VIEW else [],
        "may_read": False,
    }


def _failed(call: PageCall, failure: LinkFailed) -> web.Response:
    return render(
        call,
        "partnership_action/link_failed.html",
        failure.status,
        service_name="Referrals",
        coordinator=None,
        heading=failure.heading,
        message=failure.message,
        errors=False,
        may_read=False,
    )


async def _services(call: PageCall) -> list[tuple[str, str]]:
    return [(s.id, s.name) for s in await active_services(call.request.app[SESSIONS])]


@pages.page("GET", PATH, summary="A referral's page, opened from an agency's notice", public=True)
async def leg_link_page(call: PageCall) -> web.StreamResponse:
    """What the link is for, and its button or form; nothing changes until it is sent."""
    token = call.request.match_info["token"]
    try:
        opened = await _open(call, token)
        done = call.request.query.get("done") and opened.link.action in ONE_OFF
        if done and await is_spent(call.request.app[SESSIONS], token):
            return render(
                call,
                "leg_link/done.html",
                service_name="Referrals",
                title=DONE_WORDS[opened.link.action],
                number=opened.referral.summary.number,
                facts=await _facts(call, opened),
                next_links=_next_links(call, opened, opened.leg),
                errors=False,
                may_read=False,
            )
        await _usable(call, opened)
    except LinkFailed as failure:
        return _failed(call, failure)
    fields = form_fields(opened.link.action, await _services(call))
    # No reason is chosen for the agency: it picks one.
    values = {k: v for k, v in cf.initial(fields).items() if k != "why"}
    context = _context(call, opened, await _facts(call, opened), fields, values)
    return render(call, "leg_link/form.html", **context)


@pages.page("POST", PATH, summary="An agency acts from the link in a notice", public=True)
async def leg_link_submit(call: PageCall) -> web.StreamResponse:
    """Do the link's action (or, for the view link, show the resident's details)."""
    token = call.request.match_info["token"]
    posted = await link_form(call, form_token(_keys(call), token))
    if posted is None:
        return _failed(call, form_not_sent())
    try:
        opened = await _open(call, token)
        await _usable(call, opened)
    except LinkFailed as failure:
        return _failed(call, failure)
    if opened.link.action is LinkAction.VIEW:
        return await _details(call, opened)
    action = opened.link.action
    facts = await _facts(call, opened)
    fields = form_fields(action, await _services(call))
    values = values_of(posted)
    model = form_model(action)
    parsed: BaseModel | None = None
    if model is not None:
        found = cf.parse(model, fields, values)
        if isinstance(found, cf.Refused):
            context = _context(
                call, opened, facts, fields, cf.compact(fields, values), found.errors
            )
            return render(call, "leg_link/form.html", 422, **context)
        parsed = found
    sessions = call.request.app[SESSIONS]
    now = datetime.now(UTC)
    if not await spend(
        sessions, token, purpose=LEG_ACTION_PURPOSE, at=now, expires_at=opened.link.expires_at
    ):
        return _failed(call, LinkFailed(410, "This link has been used", "It will not work again."))
    if isinstance(parsed, CapacityReport):
        await report_capacity(sessions, opened.leg.service_id, parsed, now)
        log.info("capacity reported from a link", service=opened.leg.service_id)
        raise web.HTTPSeeOther(f"/leg/{token}?done=1")
    spec = LEG_ACTION_SPECS[LEG_ACTION_OF[action]]
    who = AgencyAction(agency_id=opened.leg.agency_id, actor=opened.link.actor)
    body = spec.command(who, parsed) if parsed is not None else who
    try:
        client = await connect(call.request.app[TEMPORAL])
        await act_on_leg(client, opened.leg, spec.action, body)
    except TemporalTimedOut:
        # The action may yet be done once a worker takes it: the link stays spent.
        return _failed(
            call,
            LinkFailed(
                503,
                "Your answer is on its way",
                "The system is busy and has not confirmed it yet. There is no need to send it "
                "again; if the referral still shows no change tomorrow, reply to the email.",
            ),
        )
    except (WorkflowRefused, WorkflowGone, TemporalUnavailable) as exc:
        await give_back(sessions, token)
        if isinstance(exc, TemporalUnavailable):
            return _failed(call, LinkFailed(503, *_BUSY))
        reason = getattr(exc, "reason", str(exc))
        context = _context(call, opened, facts, fields, values, refusal=reason)
        return render(call, "leg_link/form.html", 409, **context)
    log.info(
        "agency acted from a link",
        leg_id=opened.leg.leg_id,
        agency_id=opened.link.agency_id,
        action=opened.link.action.value,
    )
    raise web.HTTPSeeOther(f"/leg/{token}?done=1")


async def _details(call: PageCall, opened: Opened) -> web.Response:
    """The resident's details, for an agency that holds the case and was consented to."""
    link, referral = opened.link, opened.referral
    principal = Principal(subject=link.actor, role=Role.AGENCY, agency_id=link.agency_id)
    share = referral_share(principal, referrer=referral.submitted_by, legs=referral.legs)
    personal = await load_personal_data(call.request.app[SESSIONS], referral.summary.number)
    consented = link.agency_id in referral.consent_agency_ids
    if share is None or not share.personal or not consented or personal is None:
        return _failed(
            call,
            LinkFailed(
                410,
                "The resident's details are not available",
                "Your organisation does not hold this referral now, or the details have been "
                "deleted. Reply to the email if you think this is wrong.",
            ),
        )
    await audit_personal_read(call.request, principal, f"/leg/{opened.leg.leg_id}/details")
    resident = personal.resident
    details = [
        ("Name", resident.name),
        (
            "Date of birth",
            resident.date_of_birth.strftime("%-d %B %Y") if resident.date_of_birth else "",
        ),
        ("Address", resident.address or ""),
        ("Postcode", resident.postcode or ""),
        ("Phone", resident.phone or ""),
        ("Email", str(resident.email) if resident.email else ""),
        ("What they need", share.notes(personal.need_notes).get(opened.leg.need_id, "")),
        ("Referred by", personal.referrer.name),
        ("Referrer's email", str(personal.referrer.email) if personal.referrer.email else ""),
    ]
    log.info("resident's details shown from a link", leg_id=opened.leg.leg_id)
    return render(
        call,
        "leg_link/details.html",
        service_name="Referrals",
        title="The resident's details",
        number=referral.summary.number,
        facts=await _facts(call, opened),
        details=[(k, v) for k, v in details if v],
        next_links=_next_links(call, opened, opened.leg),
        errors=False,
        may_read=False,
    )
