"""The page a partner's email links to: the one form it asks for, for that partner, without
an account. Opening the link changes nothing; the form's POST carries a token bound to the
link and runs the same Update as every other page. The link stops working when it expires,
once what it asks for is done, or when the partner leaves; each case gets a calm page."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from aiohttp import web

from api.find.site import FIND_CONFIG
from api.http.state import SESSIONS
from api.partnerships import query_partnership
from api.web import command_form as cf
from api.web.link_pages import LinkFailed, form_not_sent, link_form
from api.web.pages import PageCall, PageTable, render
from api.web.partnership_actions import FormPage, fields_for, page_context, submit, values_of
from domain.access import Principal, Role
from domain.partner_link import (
    PARTNER_ACTION_PURPOSE,
    NotAnAsk,
    PartnerAsk,
    ask_from,
    closed_because,
)
from domain.partnership import BY_UPDATE, PartnershipState
from domain.signed_link import BadLink, LinkKeys, verify_link_until
from store.partnerships import get_partnership
from workflows.partnership import PartnershipWorkflow

pages = PageTable()
log = structlog.get_logger(__name__)

PATH = "/partner/{token}"
CSRF_PURPOSE = "partner-action-form"


def _keys(call: PageCall) -> LinkKeys:
    return call.request.app[FIND_CONFIG].link_keys


def form_token(keys: LinkKeys, token: str) -> str:
    """The CSRF token of the form a link opens: only a holder of the link has it."""
    return keys.keyed_hash(CSRF_PURPOSE, token)


async def _open(call: PageCall, token: str) -> tuple[PartnerAsk, PartnershipState]:
    """The ask and the partnership's state, or :class:`LinkFailed`."""
    keys = _keys(call)
    try:
        subject, expires = verify_link_until(
            keys, token, purpose=PARTNER_ACTION_PURPOSE, now=datetime.now(UTC)
        )
        ask = ask_from(subject, expires)
    except (BadLink, NotAnAsk) as exc:
        expired = isinstance(exc, BadLink) and "expired" in str(exc)
        raise LinkFailed(
            410 if expired else 404,
            "This link has expired" if expired else "This link does not work",
            "Links in partnership emails work for a while after they are sent, and only for "
            "the organisation they were sent to. The next reminder brings a new one; or reply "
            "to the email and the partnership's co-ordinator will help.",
        ) from None
    if await get_partnership(call.request.app[SESSIONS], ask.partnership_id) is None:
        raise LinkFailed(404, "This link does not work", "The partnership no longer exists.")
    state = await query_partnership(call.request, ask.partnership_id, PartnershipWorkflow.state)
    return ask, state


def _page(call: PageCall, token: str, ask: PartnerAsk, state: PartnershipState) -> FormPage:
    action = BY_UPDATE[ask.update]
    return FormPage(
        pid=ask.partnership_id,
        action=action,
        state=state,
        # Whoever holds the link acts as the partner it was sent to, and only as that partner.
        principal=Principal(
            subject=f"link:{ask.agency_id}", role=Role.AGENCY, agency_id=ask.agency_id
        ),
        form_action=f"/partner/{token}",
        back="",
        csrf_token=form_token(_keys(call), token),
    )


def _failed(
    call: PageCall, failure: LinkFailed, state: PartnershipState | None = None
) -> web.Response:
    return render(
        call,
        "partnership_action/link_failed.html",
        failure.status,
        heading=failure.heading,
        message=failure.message,
        coordinator=state.coordinator if state else None,
        errors=False,
        may_read=False,
    )


def _fixed(ask: PartnerAsk, values: dict[str, list[str]]) -> dict[str, list[str]]:
    """``values`` with the link's own answers, which the form cannot change."""
    return {**values, **{k: [v] for k, v in ask.answers.items()}}


@pages.page("GET", PATH, summary="A partner's form, opened from the link in an email", public=True)
async def partner_form(call: PageCall) -> web.StreamResponse:
    """The form the link asks for; nothing changes until it is sent."""
    token = call.request.match_info["token"]
    state = None
    try:
        ask, state = await _open(call, token)
        reason = closed_because(ask, state)
        if reason is not None:
            if call.request.query.get("done"):
                partner = state.partner(ask.agency_id)
                return render(
                    call,
                    "partnership_action/link_done.html",
                    summary=BY_UPDATE[ask.update].summary,
                    partnership_name=state.name,
                    partner_name=partner.name if partner else ask.agency_id,
                    coordinator=state.coordinator,
                    errors=False,
                    may_read=False,
                )
            raise LinkFailed(
                410, "This link has been used or is no longer needed", f"Nothing to do: {reason}."
            )
    except LinkFailed as failure:
        return _failed(call, failure, state)
    page = _page(call, token, ask, state)
    fields = fields_for(page.action, state, page.principal)
    values = _fixed(ask, cf.initial(fields))
    return render(call, "partnership_action/form.html", **page_context(page, values))


@pages.page("POST", PATH, summary="A partner acts from the link in an email", public=True)
async def partner_submit(call: PageCall) -> web.StreamResponse:
    """Run the form's Update for the link's partner; the link is then done with."""
    token = call.request.match_info["token"]
    posted = await link_form(call, form_token(_keys(call), token))
    if posted is None:
        return _failed(call, form_not_sent())
    state = None
    try:
        ask, state = await _open(call, token)
        reason = closed_because(ask, state)
        if reason is not None:
            raise LinkFailed(
                410,
                "This link has been used or is no longer needed",
                f"Nothing was changed: {reason}.",
            )
    except LinkFailed as failure:
        return _failed(call, failure, state)
    page = _page(call, token, ask, state)
    shown = await submit(
        call.request, page, _fixed(ask, values_of(posted)), str(posted.get("_another", ""))
    )
    if shown is not None:
        status, context = shown
        return render(call, "partnership_action/form.html", status, **context)
    log.info(
        "partner acted from a link",
        partnership_id=ask.partnership_id,
        agency_id=ask.agency_id,
        update=ask.update,
    )
    raise web.HTTPSeeOther(f"/partner/{token}?done=1")
