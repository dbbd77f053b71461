"""What referral workflows ask their activities for: records, notices and erasure.

Plain models with no personal data, so they can sit in workflow history. The activities
that receive them load anything personal from the store at the moment they need it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.directory import NeedCategory
from domain.referral import LegView, ReferralView
from domain.routing import RouteChoice, Routing

# Kept for referrals started before routing moved into an activity: their histories load
# the whole directory into the workflow and route there.
LOAD_DIRECTORY = "load_directory"
ROUTE_NEED = "route_need"
RECORD_REFERRAL = "record_referral"
RECORD_LEG = "record_leg"
NOTIFY_REFERRAL = "notify_referral"
FEED_PARTNERSHIPS = "feed_partnerships"
ERASE_PERSONAL_DATA = "erase_personal_data"
MARK_SERVICE_FULL = "mark_service_full"


class ServiceFull(BaseModel):
    """A service its agency declined for lack of capacity: full until ``until``."""

    service_id: str
    until: datetime


class RouteRequest(BaseModel):
    """A need to route: its category, the resident's ward and age, and services to pass over."""

    category: NeedCategory
    ward: str
    age: int | None = None
    at: datetime | None = Field(
        default=None,
        description="The referral's time now: services' capacity is read as it is then "
        "(None: the worker's clock).",
    )
    exclude: list[str] = Field(
        default_factory=list, description="Services already tried or withdrawn from the need."
    )
    consent_agency_ids: list[str] | None = Field(
        default=None,
        description="Route among these agencies only (signpost when none suits); None: the "
        "best service of any agency, as referrals started before consent-first routing do.",
    )
    limit: int = Field(default=1, ge=1, description="How many consented services to choose.")
    service_id: str | None = Field(
        default=None, description="Route to this service only (a co-ordinator's assignment)."
    )


class RouteResult(BaseModel):
    """The best service for the need and why, or none when no suitable service is left."""

    choice: RouteChoice | None = None
    routing: Routing | None = Field(
        default=None, description="The consent-first routing, when the request named consent."
    )


class ReferralEvent(BaseModel):
    """Something that happened to a referral, and who did it (an actor id, never a name)."""

    event_id: str = Field(description="Stable across retries: the record is written once.")
    number: str
    leg_id: str | None = None
    need_id: str | None = None
    at: datetime
    kind: str
    actor: str
    detail: str = ""


class ReferralRecord(BaseModel):
    """The referral's state (legs left out: each leg records itself) and its new events."""

    view: ReferralView
    events: list[ReferralEvent] = Field(default_factory=list)


class LegRecord(BaseModel):
    """A leg's state and its new events."""

    view: LegView
    events: list[ReferralEvent] = Field(default_factory=list)


class NoticeStep(StrEnum):
    """Which notice to compose."""

    LEG_SENT = "leg_sent"  # to the agency, with the resident's details
    LEG_REMINDER = "leg_reminder"  # to the agency: the response deadline passed
    LEG_ESCALATED = "leg_escalated"  # to the co-ordinator: the agency stayed silent
    AGENCY_UNREACHABLE = "agency_unreachable"  # to the co-ordinator: notices kept failing
    LEG_STOPPED = "leg_stopped"  # to the agency: stop work (withdrawn, re-routed, no consent)
    LEG_OUTCOME_REMINDER = "leg_outcome_reminder"  # to the agency: the outcome is overdue
    LEG_OUTCOME_OVERDUE = "leg_outcome_overdue"  # to the co-ordinator: still no outcome
    SIGNPOST = "signpost"  # to the resident or referrer: the service's contact details
    NEED_UNALLOCATED = "need_unallocated"  # to the co-ordinator: no service left
    QUEUE_REMINDER = "queue_reminder"  # to the co-ordinator: an unallocated need still waits
    SERVICE_WITHDRAWN = "service_withdrawn"  # to the co-ordinator: legs re-routed
    FOLLOW_UP_DUE = "follow_up_due"  # to the referrer: ask the resident
    NEED_RETURNED = "need_returned"  # to the referrer: the agency could not contact the resident


class ReferralNotice(BaseModel):
    """A notice to compose from the store and send through the notifier."""

    key: str = Field(description="Idempotency key: workflow id + leg/need + step.")
    step: NoticeStep
    number: str
    leg_id: str | None = None
    need_id: str | None = None
    service_id: str | None = None
    service_ids: list[str] = Field(
        default_factory=list, description="Services a signpost names (else ``service_id``)."
    )
    reason: str = ""
    deadline: datetime | None = None
    consent_withdrawn: bool = Field(
        default=False, description="A stop because the resident withdrew consent."
    )
    offer_lost: bool = Field(
        default=False, description="A stop because another offered service accepted first."
    )


class NoticeResult(BaseModel):
    """What was sent for one notice (empty when no recipient was known)."""

    channels: list[str] = Field(default_factory=list)
    sent: int = 0


class Erasure(BaseModel):
    """Erase one referral's personal data."""

    number: str


class ErasureResult(BaseModel):
    """Whether anything personal was there to erase."""

    number: str
    erased: bool


class OutcomeFeed(BaseModel):
    """A leg whose outcome was just recorded, to offer to the partnerships."""

    leg_id: str


class OutcomeFeedResult(BaseModel):
    """The partnerships whose indicators counted the outcome."""

    counted_by: list[str]
