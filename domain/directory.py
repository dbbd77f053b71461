"""The service directory, after Open Referral UK / HSDS: organisation → service → areas.

An organisation that receives referrals is an *agency*; its id is the agency id that agency
users' tokens carry. Each service says what needs it meets, where, for whom, how full it is,
how it is told about a referral (email and/or webhook) and how fast it agreed to respond.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl, model_validator

from domain.service_details import ServiceDetails


class NeedCategory(StrEnum):
    """What a resident needs help with: the vocabulary routing matches on."""

    BENEFITS_DEBT = "benefits_debt"
    HOUSING = "housing"
    HEALTH = "health"
    EMPLOYMENT_TRAINING = "employment_training"
    FAMILY_SUPPORT = "family_support"
    COMMUNITY_SAFETY = "community_safety"
    ADULT_LEARNING = "adult_learning"
    SOCIAL_ISOLATION = "social_isolation"
    ENVIRONMENT = "environment"
    LEISURE = "leisure"
    MENTAL_HEALTH = "mental_health"
    SUBSTANCE_MISUSE = "substance_misuse"


class Urgency(StrEnum):
    """How soon a need must be picked up."""

    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class Capacity(StrEnum):
    """Whether a service can take new referrals now."""

    OPEN = "open"
    LIMITED = "limited"
    FULL = "full"


class ServiceStatus(StrEnum):
    """ORUK service status; only active services receive referrals."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    DEFUNCT = "defunct"
    TEMPORARILY_CLOSED = "temporarily closed"


class Organisation(BaseModel):
    """A partner organisation (council department, CAB, police, NHS body, charity...)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str = Field(min_length=1, max_length=300)
    description: str = ""
    email: EmailStr | None = None
    url: HttpUrl | None = None
    phone: str | None = None


class Eligibility(BaseModel):
    """Who a service is for."""

    model_config = ConfigDict(extra="forbid")

    minimum_age: int | None = Field(default=None, ge=0, le=130)
    maximum_age: int | None = Field(default=None, ge=0, le=130)
    description: str = ""

    @model_validator(mode="after")
    def _ages_in_order(self) -> Eligibility:
        if (
            self.minimum_age is not None
            and self.maximum_age is not None
            and self.minimum_age > self.maximum_age
        ):
            raise ValueError("minimum_age is above maximum_age")
        return self

    def admits(self, age: int | None) -> bool:
        """Whether a resident of ``age`` (unknown: admitted) is eligible."""
        if age is None:
            return True
        if self.minimum_age is not None and age < self.minimum_age:
            return False
        return self.maximum_age is None or age <= self.maximum_age


class Service(BaseModel):
    """A service an organisation offers, with everything routing and notification need."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    organisation_id: str
    name: str = Field(min_length=1, max_length=300)
    description: str = ""
    categories: list[NeedCategory] = Field(min_length=1)
    areas: list[str] = Field(
        default_factory=list, description="Wards served; empty means the whole borough."
    )
    eligibility: Eligibility = Field(default_factory=Eligibility)
    capacity: Capacity = Capacity.OPEN
    places_available: int | None = Field(
        default=None,
        ge=0,
        le=100_000,
        description="New referrals it can take now, as its agency last said (none: not said).",
    )
    full_until: datetime | None = Field(
        default=None, description="Full until then, whatever else is said (e.g. after a decline)."
    )
    capacity_updated_at: datetime | None = Field(
        default=None, description="When its agency last said how much room it has."
    )
    status: ServiceStatus = ServiceStatus.ACTIVE
    email: EmailStr | None = Field(default=None, description="Where referrals are emailed.")
    webhook_url: HttpUrl | None = Field(default=None, description="Where referrals are posted.")
    response_days: dict[Urgency, int] = Field(
        default_factory=dict,
        description="Agreed response time in working days, overriding the defaults per urgency.",
    )
    outcome_days: int | None = Field(
        default=None,
        ge=1,
        le=250,
        description="Agreed working days from acceptance to a recorded outcome (else the "
        "referral policy's default).",
    )
    phone: str | None = None
    url: HttpUrl | None = None
    address: str | None = Field(default=None, description="Where residents can go (signposting).")
    details: ServiceDetails = Field(
        default_factory=ServiceDetails,
        description="What residents read about it: cost, opening times, languages, access.",
    )

    @model_validator(mode="after")
    def _reachable(self) -> Service:
        if self.email is None and self.webhook_url is None:
            raise ValueError("a service needs an email or a webhook_url to receive referrals")
        return self

    @property
    def agency_id(self) -> str:
        """The agency that receives this service's referrals."""
        return self.organisation_id

    def serves(self, ward: str) -> bool:
        """Whether the service covers ``ward`` (no areas: the whole borough)."""
        return not self.areas or ward in self.areas


class Directory(BaseModel):
    """Organisations and their services; every service names a listed organisation."""

    model_config = ConfigDict(extra="forbid")

    organisations: list[Organisation]
    services: list[Service]

    @model_validator(mode="after")
    def _ids_consistent(self) -> Directory:
        org_ids = [o.id for o in self.organisations]
        if len(set(org_ids)) != len(org_ids):
            raise ValueError("organisation ids must be unique")
        svc_ids = [s.id for s in self.services]
        if len(set(svc_ids)) != len(svc_ids):
            raise ValueError("service ids must be unique")
        missing = {s.organisation_id for s in self.services} - set(org_ids)
        if missing:
            raise ValueError(f"services name unknown organisations: {sorted(missing)}")
        return self


SERVICE_WITHDRAWN_SIGNAL = "service_withdrawn"
"""The referral workflow's signal name for :class:`ServiceWithdrawn`."""


class ServiceWithdrawn(BaseModel):
    """Signal to a referral: a service it waits on stopped taking referrals; re-route its legs."""

    model_config = ConfigDict(extra="forbid")

    service_id: str
    reason: str = Field(description="Why, e.g. 'inactive in the directory feed' or 'removed'.")
