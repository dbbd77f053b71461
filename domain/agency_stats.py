"""How each agency answers referrals: the figures partnerships review agencies by.

Rules, stated once:

- *Received*: every leg sent to the agency.
- *Answered*: the first accept or decline of a leg. The time to answer counts working days
  (:func:`domain.calendar.working_days_elapsed`), so a weekend never makes an agency look slow.
- *Not answered in time*: answered after its response deadline, or not answered at all and
  the deadline has passed (still waiting, or expired unanswered). A leg withdrawn before its
  deadline without an answer is not late: nobody was kept waiting.
- *Median and 90th percentile*: nearest rank over the answered legs' working days (the
  smallest time within which at least half, or nine in ten, were answered).
- *With an outcome*: of the legs the agency accepted, those whose outcome is recorded.
- *Declines by reason*: the declined legs by the reason from the fixed list
  (:class:`domain.declines.DeclineReason`); they add up to the declined. A decline recorded
  without one (none was asked for then) counts as *other*.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime

from pydantic import BaseModel, Field

from domain.calendar import working_days_elapsed
from domain.declines import DeclineReason

ANSWERS = ("accepted", "declined")
OUTCOME_STATES = frozenset({"outcome_recorded", "closed"})
# Working days are kept to one decimal (2.4 hours): as fine as the figures are shown, and
# coarse enough that the store hands over a short histogram instead of every leg.
DAY_PLACES = 1


class LegFacts(BaseModel):
    """One leg as the statistics see it."""

    agency_id: str
    state: str
    sent_at: datetime
    deadline: datetime
    answered_at: datetime | None = None
    answer: str | None = Field(default=None, description="accepted or declined")
    answered_late: bool = False
    decline_why: DeclineReason | None = Field(
        default=None, description="With a decline: its reason from the list."
    )
    offer_lost: bool = Field(
        default=False, description="An offer withdrawn because another service accepted first."
    )


def counts_in_statistics(leg: LegFacts) -> bool:
    """Whether a leg counts in an agency's figures at all: an offer withdrawn because another
    service accepted first counts neither as a decline nor as a non-response (nor as received:
    the agency was never the one asked alone)."""
    return not leg.offer_lost


def answer_working_days(sent_at: datetime, answered_at: datetime) -> float:
    """Working days from sending to the first answer, as the statistics keep them."""
    return round(working_days_elapsed(sent_at, answered_at), DAY_PLACES)


def answered_late(*, answered_at: datetime, deadline: datetime) -> bool:
    """Whether an answer came after the leg's response deadline."""
    return answered_at > deadline


def waiting_past_deadline(*, state: str, deadline: datetime, now: datetime) -> bool:
    """Whether an unanswered leg kept the resident waiting past its deadline."""
    return state == "expired" or (state == "sent" and deadline < now)


class AgencyTally(BaseModel):
    """Counts over one agency's legs, and how long its answers took (working days → legs)."""

    agency_id: str
    received: int = 0
    accepted: int = 0
    declined: int = 0
    late: int = 0
    with_outcome: int = 0
    answer_days: dict[float, int] = Field(default_factory=dict)
    declines_by_reason: dict[DeclineReason, int] = Field(default_factory=dict)

    def count_declines(self, why: DeclineReason | None, count: int = 1) -> None:
        """Add ``count`` declines for ``why`` (none recorded: other)."""
        reason = why or DeclineReason.OTHER
        self.declines_by_reason[reason] = self.declines_by_reason.get(reason, 0) + count


def tally(legs: Iterable[LegFacts], *, now: datetime) -> dict[str, AgencyTally]:
    """The tallies of every agency that was sent a leg (the store computes the same in SQL)."""
    tallies: dict[str, AgencyTally] = {}
    for leg in filter(counts_in_statistics, legs):
        t = tallies.setdefault(leg.agency_id, AgencyTally(agency_id=leg.agency_id))
        t.received += 1
        if leg.answer == "accepted":
            t.accepted += 1
        elif leg.answer == "declined":
            t.declined += 1
            t.count_declines(leg.decline_why)
        if leg.answered_at is not None:
            days = answer_working_days(leg.sent_at, leg.answered_at)
            t.answer_days[days] = t.answer_days.get(days, 0) + 1
            t.late += leg.answered_late
        elif waiting_past_deadline(state=leg.state, deadline=leg.deadline, now=now):
            t.late += 1
        t.with_outcome += leg.state in OUTCOME_STATES
    return tallies


def percentile(histogram: Mapping[float, int], fraction: float) -> float | None:
    """Nearest-rank percentile of values given as value → count; None when there are none."""
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = math.ceil(fraction * total)
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable: the ranks add up to the total")


class AgencyStatistics(BaseModel):
    """One agency's figures, as the agencies page and ``GET /api/agencies/stats`` show them."""

    agency_id: str
    name: str
    received: int = Field(description="Referrals (legs) sent to the agency.")
    answered: int = Field(description="Of those, accepted or declined.")
    accepted_percent: float | None = Field(
        description="Accepted, % of received; null when none received."
    )
    declined_percent: float | None = Field(
        description="Declined, % of received; null when none received."
    )
    late_percent: float | None = Field(
        description="Not answered by the deadline (answered late, or not at all once it "
        "passed), % of received; null when none received."
    )
    median_working_days: float | None = Field(description="Median working days to answer.")
    p90_working_days: float | None = Field(
        description="90th percentile working days to answer: nine in ten answered within it."
    )
    outcome_percent: float | None = Field(
        description="Accepted legs with an outcome, % of accepted; null when none accepted."
    )
    declines_by_reason: dict[DeclineReason, int] = Field(
        default_factory=lambda: dict.fromkeys(DeclineReason, 0),
        description="Declined legs by the agency's reason from the list, every reason named "
        "(0 when none); they add up to the declined.",
    )


def agency_statistics(
    tallies: Mapping[str, AgencyTally], names: Mapping[str, str]
) -> list[AgencyStatistics]:
    """Figures for every agency in the directory (``names``: id → name), including those not
    yet sent anything, and any other agency that was sent legs; by name."""
    result = []
    for agency_id in set(names) | set(tallies):
        t = tallies.get(agency_id) or AgencyTally(agency_id=agency_id)
        median = percentile(t.answer_days, 0.5)
        p90 = percentile(t.answer_days, 0.9)
        result.append(
            AgencyStatistics(
                agency_id=agency_id,
                name=names.get(agency_id, agency_id),
                received=t.received,
                answered=sum(t.answer_days.values()),
                accepted_percent=_percent(t.accepted, t.received),
                declined_percent=_percent(t.declined, t.received),
                late_percent=_percent(t.late, t.received),
                median_working_days=median,
                p90_working_days=p90,
                outcome_percent=_percent(t.with_outcome, t.accepted),
                declines_by_reason=declines_by_reason(t),
            )
        )
    return sorted(result, key=lambda s: (s.name.casefold(), s.agency_id))


def declines_by_reason(t: AgencyTally) -> dict[DeclineReason, int]:
    """Every reason on the list with how many of the agency's declines gave it, in the list's
    order."""
    return {why: t.declines_by_reason.get(why, 0) for why in DeclineReason}


def _percent(part: int, whole: int) -> float | None:
    # "0 %" of nothing would read as a verdict on an agency that was never asked.
    return round(100 * part / whole, 1) if whole else None
