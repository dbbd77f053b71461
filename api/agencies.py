"""Agencies' answer statistics, the same figures as the dashboard's agencies page."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from pydantic import BaseModel, ConfigDict, Field

from api.http.routing import Call, RouteTable
from api.http.state import SESSIONS
from domain.access import Action
from domain.agency_stats import AgencyStatistics
from store.notice_facts import set_email_details
from store.referral_stats import agency_statistics_from_store

routes = RouteTable("agencies")
log = structlog.get_logger(__name__)


class AgencyStatisticsList(BaseModel):
    """Every agency in the directory (and any other that was sent referrals), by name."""

    items: list[AgencyStatistics] = Field(
        description="Percentages are of referrals received, except outcome_percent (of "
        "accepted); working days count only weekdays that are not bank holidays."
    )


@routes.route(
    "GET",
    "/api/agencies/stats",
    summary="How each agency answers referrals",
    action=Action.READ_STATISTICS,
    response=AgencyStatisticsList,
)
async def agency_stats(call: Call) -> AgencyStatisticsList:
    """Referrals received, % accepted, declined and not answered in time, median and 90th
    percentile working days to answer, and % of accepted referrals with an outcome."""
    return AgencyStatisticsList(
        items=await agency_statistics_from_store(call.request.app[SESSIONS])
    )


class EmailDetails(BaseModel):
    """Whether an agency's referral emails carry the resident's details, and why."""

    model_config = ConfigDict(extra="forbid")

    lawful_reason: str | None = Field(
        default=None,
        min_length=10,
        max_length=1000,
        description="The lawful reason the agency must receive residents' details by email "
        "(e.g. a statutory duty it has named); null turns it off, as every agency starts.",
    )


class EmailDetailsSet(BaseModel):
    """What an agency's referral emails now carry."""

    agency_id: str
    details_by_email: bool


@routes.route(
    "PUT",
    "/api/agencies/{agency_id}/email-details",
    summary="Send an agency residents' details by email, for a lawful reason (or stop)",
    action=Action.SET_EMAIL_DETAILS,
    body=EmailDetails,
    response=EmailDetailsSet,
)
async def set_agency_email_details(call: Call) -> EmailDetailsSet:
    """Off for every agency by default: emails name the referral and link to its details.

    Turning it on records the lawful reason and who set it; the request is in the audit trail.
    """
    agency_id = call.path("agency_id")
    body = call.body_as(EmailDetails)
    await set_email_details(
        call.request.app[SESSIONS],
        agency_id,
        lawful_reason=body.lawful_reason,
        by=call.user().subject,
        at=datetime.now(UTC),
    )
    log.info("agency email details set", agency=agency_id, on=body.lawful_reason is not None)
    return EmailDetailsSet(agency_id=agency_id, details_by_email=body.lawful_reason is not None)
