"""What a link in a partner's email lets them do: one action, for one partner of one
partnership, with the answers that say which (the project and quarter, the plan action, the
meeting).

The link itself is a :mod:`domain.signed_link` token whose subject is the ask. It works while
the ask is open: the partner is still in the partnership, the one-off thing asked for is not
yet done, and the stage still allows it; the partnership's state says so, so a link cannot be
used twice for the same commitment, return or action.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.notification import EmailMessage
from domain.partnership import BY_UPDATE, PartnershipState

PARTNER_ACTION_PURPOSE = "partner-action"
SEND_PARTNER_REQUEST = "send_partner_request"
"""The activity that signs a request's link and sends its email."""
PARTNER_LINK_LIFETIME = timedelta(days=60)
"""How long after the email a link works (a later reminder carries a fresh one)."""


class PartnerAsk(BaseModel):
    """One thing a partnership asks one partner to do, and until when the link works."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    partnership_id: str = Field(min_length=1, max_length=100)
    agency_id: str = Field(min_length=1, max_length=100)
    update: str = Field(min_length=1, max_length=60)
    answers: dict[str, str] = Field(default_factory=dict)
    """Answers fixed by the link: the form starts with them and the action must keep them."""
    expires_at: datetime

    def subject(self) -> str:
        """The signed link's subject: everything but the expiry, which the token carries."""
        return json.dumps(
            [self.partnership_id, self.agency_id, self.update, self.answers],
            separators=(",", ":"),
            sort_keys=True,
        )


class PartnerRequest(BaseModel):
    """An email to a partner, and what its link lets them do."""

    model_config = ConfigDict(frozen=True)

    email: EmailMessage
    ask: PartnerAsk

    @property
    def idempotency_key(self) -> str:
        """The email's key: the request is sent at most once, like the email it is."""
        return self.email.idempotency_key


class NotAnAsk(ValueError):
    """A genuine token whose subject is not a partner's ask (signed by an older release)."""


def ask_from(subject: str, expires_at: datetime) -> PartnerAsk:
    """The ask a verified token's ``subject`` stands for."""
    try:
        pid, agency, update, answers = json.loads(subject)
        return PartnerAsk(
            partnership_id=pid,
            agency_id=agency,
            update=update,
            answers=answers,
            expires_at=expires_at,
        )
    except (ValueError, TypeError, ValidationError) as exc:
        raise NotAnAsk("not a partner's link") from exc


def closed_because(ask: PartnerAsk, state: PartnershipState) -> str | None:
    """Why the ask no longer stands (``None``: the link may be used)."""
    partner = state.partner(ask.agency_id)
    action = BY_UPDATE.get(ask.update)
    if partner is None:
        return f"{ask.agency_id} is no longer a partner of {state.name}"
    if action is None or not action.offered_in(state):
        return f"{state.name} no longer asks for this"
    if ask.update == "commit_partner" and partner.commitment is not None:
        return f"{partner.name} has already committed to {state.name}"
    if ask.update == "submit_quarterly_return":
        project = next((p for p in state.projects if p.id == ask.answers.get("project_id")), None)
        if project is None:
            return f"{state.name} no longer funds this project"
        if any(str(r.quarter) == ask.answers.get("quarter") for r in project.returns):
            return f"the return for quarter {ask.answers.get('quarter')} has been sent"
    if ask.update == "plan_after_funding" and not any(
        p.id == ask.answers.get("project_id") for p in state.projects
    ):
        return f"{state.name} no longer funds this project"
    if ask.update == "complete_action":
        planned = next((a for a in state.actions if a.id == ask.answers.get("action_id")), None)
        if planned is None or planned.done_on is not None:
            return "the action is already recorded as done"
    if ask.update == "reply_to_meeting":
        number = ask.answers.get("meeting")
        if any(str(m.number) == number for m in state.meetings):
            return f"meeting {number} has been held"
        if any(
            str(r.number) == number and r.agency_id == ask.agency_id for r in state.meeting_replies
        ):
            return f"{partner.name} has already answered the invitation to meeting {number}"
    return None
