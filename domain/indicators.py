"""Performance indicators of a partnership's SMART outcomes and their RAG status.

The RAG rule (stated once, used everywhere):

- **green**: the latest actual meets the target or falls short of it by at most 10 % of the
  target (exceeding a target is never a shortfall: £285,360 against £100,000 is green);
- **amber**: more than 10 % short, but improving (the latest actual is better than the one
  before it, or than the baseline when there is only one);
- **red**: more than 10 % short and not improving.

An indicator with no actual yet has no RAG status.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from domain.outcome_binding import OutcomeBinding

TOLERANCE = 0.10
"""How far short of its target an indicator may be and still be green."""

Measure = Annotated[float, Field(ge=-1e12, le=1e12)]


class Direction(StrEnum):
    """Which way is better for an indicator."""

    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


class Rag(StrEnum):
    """Red / amber / green status against the target."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"


class Actual(BaseModel):
    """One measured value of an indicator."""

    model_config = ConfigDict(frozen=True)

    value: Measure
    at: datetime
    source: str = Field(default="manual", max_length=100)


class Indicator(BaseModel):
    """A performance indicator: unit, baseline, target, which way is better, and actuals."""

    id: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str = Field(min_length=1, max_length=300)
    unit: str = Field(min_length=1, max_length=50, description='e.g. "GBP", "incidents", "%".')
    baseline: Measure
    target: Measure
    direction: Direction = Direction.HIGHER_IS_BETTER
    benefit: bool = Field(
        default=False,
        description="A money value (GBP) whose gain over the baseline counts as a benefit in VfM.",
    )
    actuals: list[Actual] = Field(default_factory=list)
    binding: OutcomeBinding | None = Field(
        default=None, description="Fed by referral outcomes: which ones, and how they add up."
    )
    counted: dict[str, float] = Field(
        default_factory=dict,
        description="What each counted outcome (or referral) contributed in this cycle.",
    )

    def latest(self) -> Actual | None:
        """The most recent actual, if any (the last recorded among equal times)."""
        return max(reversed(self.actuals), key=lambda a: a.at) if self.actuals else None


def shortfall(value: float, target: float, direction: Direction) -> float:
    """How far ``value`` falls short of ``target``, as a fraction of the target (≤ 0: met).

    A zero target is measured in the indicator's own units instead.
    """
    gap = target - value if direction is Direction.HIGHER_IS_BETTER else value - target
    return gap / (abs(target) or 1.0)


def better(a: float, b: float, direction: Direction) -> bool:
    """Whether ``a`` is strictly better than ``b``."""
    return a > b if direction is Direction.HIGHER_IS_BETTER else a < b


def improving(indicator: Indicator) -> bool | None:
    """Whether the latest actual is better than the previous one (or the baseline)."""
    ordered = sorted(indicator.actuals, key=lambda a: a.at)
    if not ordered:
        return None
    previous = ordered[-2].value if len(ordered) > 1 else indicator.baseline
    return better(ordered[-1].value, previous, indicator.direction)


def rag(indicator: Indicator) -> Rag | None:
    """The indicator's RAG status by the rule in this module's docstring."""
    latest = indicator.latest()
    if latest is None:
        return None
    if shortfall(latest.value, indicator.target, indicator.direction) <= TOLERANCE:
        return Rag.GREEN
    return Rag.AMBER if improving(indicator) else Rag.RED


class IndicatorStatus(BaseModel):
    """An indicator as reported: target, latest actual, RAG and why."""

    id: str
    name: str
    unit: str
    baseline: float
    target: float
    direction: Direction
    latest: float | None
    latest_at: datetime | None
    measurements: int
    binding: OutcomeBinding | None = None
    shortfall: float | None = Field(description="Fraction of the target still to go (≤ 0: met).")
    improving: bool | None
    rag: Rag | None


def status(indicator: Indicator) -> IndicatorStatus:
    """The reported status of one indicator."""
    latest = indicator.latest()
    return IndicatorStatus(
        id=indicator.id,
        name=indicator.name,
        unit=indicator.unit,
        baseline=indicator.baseline,
        target=indicator.target,
        direction=indicator.direction,
        latest=latest.value if latest else None,
        latest_at=latest.at if latest else None,
        measurements=len(indicator.actuals),
        binding=indicator.binding,
        shortfall=(
            round(shortfall(latest.value, indicator.target, indicator.direction), 4)
            if latest
            else None
        ),
        improving=improving(indicator),
        rag=rag(indicator),
    )
