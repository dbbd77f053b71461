"""How each agency responds to referrals: the figures partnerships review agencies by."""

from __future__ import annotations

import statistics
from datetime import datetime

from pydantic import BaseModel, Field


class LegResponse(BaseModel):
    """One leg as the statistics see it."""

    agency_id: str
    sent_at: datetime
    responded_at: datetime | None = None
    accepted: bool = False
    outcome_recorded: bool = False
    offer_lost: bool = Field(
        default=False, description="An offer withdrawn because another service accepted first."
    )


def counts_in_statistics(response: LegResponse) -> bool:
    """Whether a leg counts in an agency's response figures: an offer withdrawn because
    another service accepted first counts neither as a decline nor as a non-response."""
    return not response.offer_lost


class AgencyStatistics(BaseModel):
    """One agency's response figures over the legs sent to it."""

    agency_id: str
    legs: int
    responded: int
    median_days_to_respond: float | None
    accepted_percent: float
    outcome_percent: float


def agency_statistics(responses: list[LegResponse]) -> list[AgencyStatistics]:
    """Per agency: median days from sending to the first response (accept or decline), the
    share of legs accepted, and the share of accepted legs with an outcome recorded."""
    by_agency: dict[str, list[LegResponse]] = {}
    for response in filter(counts_in_statistics, responses):
        by_agency.setdefault(response.agency_id, []).append(response)
    result = []
    for agency_id in sorted(by_agency):
        legs = by_agency[agency_id]
        days = [
            (leg.responded_at - leg.sent_at).total_seconds() / 86400
            for leg in legs
            if leg.responded_at is not None
        ]
        accepted = [leg for leg in legs if leg.accepted]
        result.append(
            AgencyStatistics(
                agency_id=agency_id,
                legs=len(legs),
                responded=len(days),
                median_days_to_respond=round(statistics.median(days), 2) if days else None,
                accepted_percent=_percent(len(accepted), len(legs)),
                outcome_percent=_percent(
                    sum(1 for leg in accepted if leg.outcome_recorded), len(accepted)
                ),
            )
        )
    return result


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0
