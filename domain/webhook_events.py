"""The events partnerflow posts to partners' webhooks: each one's name, what it means and the
JSON it carries, so that the OpenAPI document publishes a schema for every one of them.

Every event is a signed ``POST`` of ``{"event": <name>, "id": <idempotency key>, "data":
{...}}`` (the notifier's ``send_webhook`` activity). The data says ids, states and
times only, never the resident's details or anyone's free text about them: the partner's system
fetches what it may see with its token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.partnership_schedule import ReminderKind
from domain.referral_records import NoticeStep

EVENT_HEADER = "X-Partnerflow-Event"
"""The header that names the event, as its body's ``event`` does."""


class EventLink(BaseModel):
    """One action on the leg, as the notice's email offers it: a signed link to its page."""

    model_config = ConfigDict(frozen=True)

    action: str = Field(
        description="view, accept, decline, start, outcome or capacity (see the README)."
    )
    words: str = Field(description="What the link does, in words.")
    url: str = Field(description="The page: a GET shows it and changes nothing.")


class ReferralNoticeEvent(BaseModel):
    """The data of a referral event, posted to the webhook of the service a leg was sent to.
    Every field is always there (null when it does not apply)."""

    model_config = ConfigDict(frozen=True)

    referral: str = Field(description="The referral's number, e.g. TEN-2026-000123.")
    leg_id: str | None = Field(description="The leg sent to the service: the number, -L<n>.")
    need_id: str | None = Field(description="The need the leg serves, e.g. N1.")
    service_id: str | None = Field(description="The service the leg was sent to.")
    step: NoticeStep = Field(description="What happened: the event's name after 'referral.'.")
    deadline: datetime | None = Field(
        description="When the agency must answer (or record the outcome) by."
    )
    consent_withdrawn: bool = Field(
        description="With leg_stopped: the resident withdrew consent; delete their details."
    )
    offer_lost: bool = Field(
        description="With leg_stopped: another offered service accepted first; delete the "
        "resident's details."
    )
    url: str = Field(description="The referral in the API: GET it with the agency's token.")
    links: list[EventLink] = Field(
        description="The same signed links as the email: one per action possible for the leg "
        "now (empty once it has ended). Each works for this leg and agency only."
    )


class PartnershipReminderEvent(BaseModel):
    """The data of a partnership event, posted to the webhook a partner agency gave. Every
    field is always there (null when it does not apply)."""

    model_config = ConfigDict(frozen=True)

    partnership: str = Field(description="The partnership's id.")
    cycle: int = Field(description="Which cycle of the partnership it belongs to, from 1.")
    subject: str = Field(description="What it is about, as the email's subject says it.")
    due_at: datetime = Field(description="When it fell due.")
    meeting_starts_at: datetime | None = Field(
        description="With meeting_invitation: when the meeting starts."
    )


@dataclass(frozen=True)
class WebhookEventType:
    """One kind of event: its name, what it means, and the model of its data."""

    name: str
    description: str
    data: type[BaseModel]

    @property
    def step(self) -> str:
        """The name after its prefix (the referral's notice step, the reminder's kind)."""
        return self.name.split(".", 1)[1]


def referral_event_name(step: NoticeStep) -> str:
    """The name of the event a referral notice step is posted as."""
    return f"referral.{step.value}"


def partnership_event_name(kind: ReminderKind) -> str:
    """The name of the event a partnership reminder is posted as."""
    return f"partnership.{kind.value}"


_REFERRAL_EVENTS = {
    NoticeStep.LEG_SENT: "A need was referred to the service: accept or decline it by the "
    "deadline.",
    NoticeStep.LEG_REMINDER: "The deadline to answer passed with no answer: accept or decline "
    "now, before the referral is escalated to the co-ordinator.",
    NoticeStep.LEG_STOPPED: "Stop work on the leg: the referral was withdrawn, sent elsewhere "
    "(no answer, another offered service accepted first) or the resident withdrew consent. "
    "With consent_withdrawn or offer_lost, delete the resident's details.",
    NoticeStep.LEG_OUTCOME_REMINDER: "The outcome was due by the deadline and is not recorded: "
    "record it now.",
}
_PARTNERSHIP_EVENTS = {
    ReminderKind.PARTNER_INVITATION: "The partnership invites the agency to join: say what it "
    "will contribute and whether it agrees the aims, targets and evaluation.",
    ReminderKind.COMMITMENT_REMINDER: "The agency was invited and has not yet committed.",
    ReminderKind.MEETING_INVITATION: "A stakeholder meeting of the partnership, for the "
    "committed partners (meeting_starts_at says when).",
}

WEBHOOK_EVENTS: tuple[WebhookEventType, ...] = (
    *(
        WebhookEventType(referral_event_name(step), words, ReferralNoticeEvent)
        for step, words in _REFERRAL_EVENTS.items()
    ),
    *(
        WebhookEventType(partnership_event_name(kind), words, PartnershipReminderEvent)
        for kind, words in _PARTNERSHIP_EVENTS.items()
    ),
)
"""Every event posted to partners' webhooks: the referral notices to a leg's service, and the
partnership reminders a partner agency's webhook receives."""
REFERRAL_EVENT_STEPS = frozenset(_REFERRAL_EVENTS)
"""The notice steps posted to a service's webhook."""
PARTNERSHIP_EVENT_KINDS = frozenset(_PARTNERSHIP_EVENTS)
"""The partnership reminders posted to a partner's webhook."""


def event_body_schema(event: WebhookEventType, data_ref: str) -> dict[str, Any]:
    """The JSON schema of the body ``event`` is posted with, its data at ``data_ref``; the data's
    step (or nothing else) pinned to the event's own."""
    data: dict[str, Any] = {"$ref": data_ref}
    if event.data is ReferralNoticeEvent:
        data = {"allOf": [data, {"properties": {"step": {"const": event.step}}}]}
    return {
        "title": event.name,
        "description": event.description,
        "type": "object",
        "required": ["event", "id", "data"],
        "properties": {
            "event": {"const": event.name},
            "id": {
                "type": "string",
                "description": "The event's idempotency key, also the Idempotency-Key header: "
                "drop an event whose id was seen before.",
            },
            "data": data,
        },
    }
