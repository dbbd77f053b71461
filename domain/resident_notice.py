"""Emails to residents who used the public website: their referral's confirmation (with the
tracking link) and the shortlist they asked to be sent.

Neither carries personal data through Temporal: the notice names a referral number or an
outbox id, and the activity reads the address and the text from the store when it sends.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

RESIDENT_NOTICE_WORKFLOW = "ResidentNotice"
NOTIFY_RESIDENT = "notify_resident"


class ResidentNoticeKind(StrEnum):
    """Which email a resident is sent."""

    CONFIRMATION = "confirmation"
    SHORTLIST = "shortlist"


class ResidentNotice(BaseModel):
    """Send one email to a resident; ``ref`` is the referral number or the outbox id."""

    model_config = ConfigDict(frozen=True)

    kind: ResidentNoticeKind
    ref: str = Field(min_length=1, max_length=64)


class ResidentNoticeResult(BaseModel):
    """Whether the email went (False: already sent, or no address to send it to)."""

    sent: bool = False


def resident_notice_id(notice: ResidentNotice) -> str:
    """The workflow id of a notice: one per referral's confirmation, one per outbox email."""
    return f"resident-{notice.kind.value}-{notice.ref}"
