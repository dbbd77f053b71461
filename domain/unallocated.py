"""The co-ordinator's queue: needs no service could take, and what a co-ordinator does with
each (assign it to a named service, signpost the resident, or close it with a reason).

Each action is a validated Update on the referral workflow; these are its arguments and names.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.referral import ConsentMethod
from domain.text import OneLine

ASSIGN_NEED_UPDATE = "assign_need"  # AssignNeed -> ReferralView
SIGNPOST_NEED_UPDATE = "signpost_need"  # SignpostNeed -> ReferralView
CLOSE_NEED_UPDATE = "close_need"  # CloseNeed -> ReferralView
COORDINATOR = "coordinator"
"""Who an unallocated need waits on (``PfWaitingOn``)."""


class NewConsent(BaseModel):
    """Consent the co-ordinator obtained for one more agency, and how."""

    model_config = ConfigDict(extra="forbid")

    method: ConsentMethod
    given_at: datetime
    note: OneLine = Field(
        default="", max_length=300, description="How it was obtained (no personal data)."
    )

    @field_validator("given_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("given_at needs a time zone")
        return value


class QueueAction(BaseModel):
    """An action on one unallocated need of a referral."""

    model_config = ConfigDict(extra="forbid")

    need_id: str = Field(min_length=1, max_length=16)
    actor: str = Field(min_length=1, max_length=200)


class AssignNeed(QueueAction):
    """Send the need to a named service (its agency in the consent, or new consent given)."""

    service_id: str = Field(min_length=1, max_length=100)
    agency_id: str = Field(
        default="", max_length=100, description="The service's agency (filled in by the API)."
    )
    consent: NewConsent | None = None


class SignpostNeed(QueueAction):
    """Send the resident (else the referrer) the contact details of chosen services."""

    service_ids: list[str] = Field(min_length=1, max_length=5)


class CloseNeed(QueueAction):
    """Close the need with a reason (kept as free text: erased with the resident's data)."""

    reason: str = Field(min_length=1, max_length=1000)
