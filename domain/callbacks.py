"""Callbacks from partner agencies' own case systems: what they may tell us about a leg.

An agency's system posts one event per action on a leg it was sent (accept, start, decline
with a reason, record an outcome, close), signed with the agency's callback secret
(:func:`domain.signature.callback_secret`) and carrying an ``Idempotency-Key``: a repeated key
is acknowledged without acting again for :data:`CALLBACK_KEY_RETENTION`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from domain.declines import DeclineReason, decline_problem
from domain.referral import Outcome

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
CALLBACK_KEY_RETENTION: Final = timedelta(days=7)
# Printable ASCII without spaces: what partners' systems generate (UUIDs, hashes, counters).
IDEMPOTENCY_KEY: Final = re.compile(r"[\x21-\x7e]{1,200}")
CALLBACK_SUBJECT_PREFIX: Final = "callback:"

LegId = Annotated[str, Field(min_length=1, max_length=48, description="The leg acted on.")]
Actor = Annotated[
    str, Field(min_length=1, max_length=150, description="Who at the agency acted (a user id).")
]


class _LegEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    leg_id: LegId
    actor: Actor


class LegAccepted(_LegEvent):
    """The agency takes the referral on."""

    event: Literal["leg.accepted"]


class LegStarted(_LegEvent):
    """The agency starts working with the resident."""

    event: Literal["leg.started"]


class LegDeclined(_LegEvent):
    """The agency declines, with a reason from the list and words where they help (as
    ``POST /api/legs/{leg_id}/decline``); what follows depends on the reason."""

    event: Literal["leg.declined"]
    why: DeclineReason = DeclineReason.OTHER
    reason: str = Field(default="", max_length=1000)
    service_id: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _complete(self) -> LegDeclined:
        problem = decline_problem(self.why, self.reason, self.service_id)
        if problem is not None:
            raise ValueError(problem)
        return self


class LegOutcomeRecorded(_LegEvent):
    """What happened for the resident."""

    event: Literal["leg.outcome_recorded"]
    outcome: Outcome


class LegClosed(_LegEvent):
    """The agency closes the leg once its outcome is recorded."""

    event: Literal["leg.closed"]


LegEvent = LegAccepted | LegStarted | LegDeclined | LegOutcomeRecorded | LegClosed


class PartnerCallback(RootModel[Annotated[LegEvent, Field(discriminator="event")]]):
    """One action a partner agency's system reports on a leg, told apart by ``event``."""


def callback_subject(agency_id: str) -> str:
    """Who a verified callback acts as, in events and the audit trail."""
    return CALLBACK_SUBJECT_PREFIX + agency_id


def valid_idempotency_key(key: str) -> bool:
    """Whether ``key`` is a usable Idempotency-Key (1-200 printable ASCII characters)."""
    return IDEMPOTENCY_KEY.fullmatch(key) is not None
