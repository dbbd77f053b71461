"""What a link in an agency's referral notice lets the agency do: one action on one leg,
for the agency the leg was sent to, without an account.

The link is a :mod:`domain.signed_link` token whose subject names the leg, the agency and the
action. It works only while that action is possible for the leg as it now is, never after the
leg ends or the resident withdraws consent, and a one-off action's link works once (the store
keeps spent tokens). Viewing is not one-off: the view link opens the referral until the leg
ends; the resident's details behind it need a confirming click, which is audited.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.referral import FINAL_LEG_STATES, LegState
from domain.signed_link import LinkKeys, sign_link

LEG_ACTION_PURPOSE = "leg-action"
LEG_FORM_PURPOSE = "leg-action-form"
"""The purpose of the CSRF token of the page a link opens."""
LEG_LINK_LIFETIME = timedelta(days=30)
"""How long a notice's links work; each reminder carries fresh ones."""


class LinkAction(StrEnum):
    """What a notice's link is for (the non-view ones are the API's leg actions)."""

    VIEW = "view"
    ACCEPT = "accept"
    DECLINE = "decline"
    START = "start"
    OUTCOME = "outcome"
    CAPACITY = "capacity"
    """Say how much room the leg's service has now (not a leg action)."""


ONE_OFF = frozenset(LinkAction) - {LinkAction.VIEW}
"""Actions whose link works once (the page after it offers a fresh one)."""

POSSIBLE_IN: dict[LinkAction, frozenset[LegState]] = {
    LinkAction.VIEW: frozenset(LegState) - FINAL_LEG_STATES,
    LinkAction.ACCEPT: frozenset({LegState.SENT}),
    LinkAction.DECLINE: frozenset({LegState.SENT}),
    LinkAction.START: frozenset({LegState.ACCEPTED}),
    LinkAction.OUTCOME: frozenset({LegState.ACCEPTED, LegState.IN_PROGRESS}),
    LinkAction.CAPACITY: frozenset(LegState) - FINAL_LEG_STATES,
}
"""The leg states in which each link's action is possible (the leg state machine's)."""

ACTION_WORDS: dict[LinkAction, str] = {
    LinkAction.VIEW: "See the referral",
    LinkAction.ACCEPT: "Accept the referral",
    LinkAction.DECLINE: "Decline the referral",
    LinkAction.START: "Say you have started work",
    LinkAction.OUTCOME: "Record the outcome",
    LinkAction.CAPACITY: "Say how many places you have",
}


DONE_WORDS: dict[LinkAction, str] = {
    LinkAction.ACCEPT: "You have accepted the referral",
    LinkAction.DECLINE: "You have declined the referral",
    LinkAction.START: "You have started work on the referral",
    LinkAction.OUTCOME: "The outcome is recorded",
    LinkAction.CAPACITY: "The service's places are updated",
}
"""What the page after a one-off action says was done."""


class LegLink(BaseModel):
    """One action on one leg for the agency it was sent to, and until when the link works."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    leg_id: str = Field(min_length=1, max_length=100)
    agency_id: str = Field(min_length=1, max_length=100)
    action: LinkAction
    expires_at: datetime

    def subject(self) -> str:
        """The signed link's subject: everything but the expiry, which the token carries."""
        return json.dumps(["leg", self.leg_id, self.agency_id, self.action.value])

    @property
    def actor(self) -> str:
        """Who acts through the link, as the leg's history records it."""
        return f"link:{self.agency_id}"


def leg_link_token(keys: LinkKeys, link: LegLink) -> str:
    """The signed token of ``link``, as a notice's address carries it."""
    return sign_link(keys, link.subject(), purpose=LEG_ACTION_PURPOSE, expires=link.expires_at)


def form_token(keys: LinkKeys, token: str) -> str:
    """The CSRF token of the page ``token`` opens: only a holder of the link has it."""
    return keys.keyed_hash(LEG_FORM_PURPOSE, token)


def possible_actions(state: LegState) -> list[LinkAction]:
    """The links a notice carries for a leg in ``state``, in the order they are offered."""
    return [action for action in LinkAction if state in POSSIBLE_IN[action]]


class NotALegLink(ValueError):
    """A genuine token whose subject is not a leg's link."""


def leg_link_from(subject: str, expires_at: datetime) -> LegLink:
    """The link a verified token's ``subject`` stands for."""
    try:
        kind, leg_id, agency_id, action = json.loads(subject)
        if kind != "leg":
            raise ValueError(kind)
        return LegLink(
            leg_id=leg_id, agency_id=agency_id, action=LinkAction(action), expires_at=expires_at
        )
    except (ValueError, TypeError, ValidationError) as exc:
        raise NotALegLink("not a referral link") from exc


def closed_because(
    link: LegLink,
    *,
    state: LegState,
    agency_id: str,
    consent_withdrawn: bool,
    offer_lost: bool,
) -> str | None:
    """Why the link no longer works for the leg as it now is (``None``: it does)."""
    if agency_id != link.agency_id:
        return "the referral was not sent to your organisation"
    if consent_withdrawn:
        return "the resident has withdrawn their consent"
    if offer_lost:
        return "another service has taken this referral"
    if state in FINAL_LEG_STATES:
        return f"the referral is {state.value.replace('_', ' ')} for your organisation"
    if state not in POSSIBLE_IN[link.action]:
        return f"the referral is {state.value.replace('_', ' ')}, so this is not possible now"
    return None
