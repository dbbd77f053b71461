"""Agencies' answer statistics, the same figures as the dashboard's agencies page."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.http.routing import Call, RouteTable
from api.http.state import SESSIONS
from domain.access import Action
from domain.agency_stats import AgencyStatistics
from store.referral_stats import agency_statistics_from_store

routes = RouteTable("agencies")


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
