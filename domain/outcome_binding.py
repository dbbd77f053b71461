"""Partnership indicators fed by referral outcomes.

An indicator may be *bound* to referral outcomes when it is defined: "new and backdated
benefit claim awards (£)" is the sum of ``got_help`` outcome values in GBP for referrals from
the partnership's wards; "residents helped" is the count of referrals with an outcome. Each
outcome the referral service records is offered to the partnerships; an indicator that counts
it keeps what it contributed under the outcome's key, so the same outcome offered again (a
retry, a replay) never counts twice, and the indicator's actual is the sum of what it kept.

Only anonymous facts travel: ward, need category, outcome code and value. Erasing a
resident's details leaves the figures as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.directory import NeedCategory
from domain.outreach import FIGURE_WORDS, OutreachFigure, OutreachSessionFact
from domain.referral import OutcomeCode

Ward = Annotated[str, Field(min_length=1, max_length=100)]


class BoundMeasure(StrEnum):
    """What a bound indicator adds up."""

    SUM_OF_VALUES = "sum_of_values"
    """The outcomes' values in one unit (e.g. GBP awarded); outcomes without one add nothing."""
    COUNT_OF_REFERRALS = "count_of_referrals"
    """Referrals with a counted outcome, each once however many of its needs had one."""
    OUTREACH_FIGURE = "outreach_figure"
    """One figure of the Reach Out sessions logged (e.g. residents helped on the spot)."""


class OutcomeBinding(BaseModel):
    """Which referral outcomes feed an indicator, and how."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        # The published schema states the rule the validator applies below, so a client
        # (and a fuzzer) reads the same contract the API enforces.
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"measure": {"const": "sum_of_values"}}},
                    "then": {
                        "required": ["unit"],
                        "properties": {"unit": {"type": "string", "minLength": 1}},
                    },
                },
                {
                    "if": {"properties": {"measure": {"const": "outreach_figure"}}},
                    "then": {
                        "required": ["figure"],
                        "properties": {"figure": {"not": {"type": "null"}}},
                    },
                },
            ]
        },
    )

    measure: BoundMeasure
    outcome_codes: list[OutcomeCode] = Field(
        default_factory=lambda: [OutcomeCode.GOT_HELP],
        min_length=1,
        description="Outcomes that count (default: got_help).",
    )
    unit: str | None = Field(
        default=None,
        max_length=20,
        description="For sum_of_values: only values in this unit count (e.g. GBP).",
    )
    wards: list[Ward] = Field(
        default_factory=list,
        max_length=100,
        description="Referrals from these wards count; none listed: every ward.",
    )
    categories: list[NeedCategory] = Field(
        default_factory=list, description="Needs of these categories count; none: every need."
    )
    figure: OutreachFigure | None = Field(
        default=None, description="For outreach_figure: which figure of the sessions adds up."
    )

    @model_validator(mode="after")
    def _sum_needs_a_unit(self) -> OutcomeBinding:
        if self.measure is BoundMeasure.SUM_OF_VALUES and not self.unit:
            raise ValueError("a sum of outcome values needs the unit it adds up, e.g. GBP")
        if self.measure is BoundMeasure.OUTREACH_FIGURE and self.figure is None:
            raise ValueError("an outreach figure binding needs the figure, e.g. residents_helped")
        return self


class ReferralOutcomeFact(BaseModel):
    """One recorded referral outcome, as partnerships see it: no personal data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome_id: str = Field(min_length=1, max_length=48, description="The leg's id.")
    number: str = Field(min_length=1, max_length=32, description="The referral's number.")
    ward: str = Field(min_length=1, max_length=100)
    category: NeedCategory
    code: OutcomeCode
    value: float | None = Field(default=None, ge=0, le=1e9)
    unit: str | None = Field(default=None, max_length=20)
    recorded_at: datetime


def counted_key(binding: OutcomeBinding, fact: ReferralOutcomeFact) -> str:
    """What an indicator keeps the fact's contribution under: the outcome for sums, the
    referral for counts (so a referral counts once)."""
    if binding.measure is BoundMeasure.COUNT_OF_REFERRALS:
        return f"referral:{fact.number}"
    return f"outcome:{fact.outcome_id}"


def contribution(
    binding: OutcomeBinding,
    fact: ReferralOutcomeFact,
    *,
    period_start: date | None,
    period_end: date | None,
) -> float | None:
    """What ``fact`` adds to an indicator bound by ``binding`` over the period, or None when
    the binding does not count it (another ward, code, category or unit, or outside the
    period: the plan's start to its end, either open when unknown)."""
    if binding.measure is BoundMeasure.OUTREACH_FIGURE:
        return None  # fed by Reach Out sessions, not by referral outcomes
    day = fact.recorded_at.date()
    if period_start is not None and day < period_start:
        return None
    if period_end is not None and day > period_end:
        return None
    if fact.code not in binding.outcome_codes:
        return None
    if binding.wards and fact.ward not in binding.wards:
        return None
    if binding.categories and fact.category not in binding.categories:
        return None
    if binding.measure is BoundMeasure.COUNT_OF_REFERRALS:
        return 1.0
    if fact.value is None or (fact.unit or "").upper() != (binding.unit or "").upper():
        return None
    return fact.value


def outreach_key(session: OutreachSessionFact) -> str:
    """What an indicator keeps a session's contribution under: the session, counted once."""
    return f"outreach:{session.session_id}"


def outreach_contribution(
    binding: OutcomeBinding,
    session: OutreachSessionFact,
    *,
    period_start: date | None,
    period_end: date | None,
) -> float | None:
    """What ``session`` adds to an indicator bound by ``binding``: its figure, or None when
    the binding is not an outreach figure, or the session is in another ward or outside the
    plan's period."""
    if binding.measure is not BoundMeasure.OUTREACH_FIGURE or binding.figure is None:
        return None
    if period_start is not None and session.held_on < period_start:
        return None
    if period_end is not None and session.held_on > period_end:
        return None
    if binding.wards and session.ward not in binding.wards:
        return None
    return float(session.figure(binding.figure))


def bound_total(counted: dict[str, float]) -> float:
    """A bound indicator's actual: the sum of what each counted outcome contributed."""
    return round(sum(counted.values()), 2)


def describe(binding: OutcomeBinding, ward_name: Callable[[str], str] = str) -> str:
    """The binding in words, e.g. "sum of got help outcome values in GBP, from Pier"."""
    codes = " or ".join(code.value.replace("_", " ") for code in binding.outcome_codes)
    wards = ", ".join(ward_name(w) for w in binding.wards) if binding.wards else "every ward"
    if binding.measure is BoundMeasure.OUTREACH_FIGURE and binding.figure is not None:
        return f"Reach Out sessions' {FIGURE_WORDS[binding.figure]}, from {wards}"
    what = (
        f"sum of {codes} outcome values in {binding.unit}"
        if binding.measure is BoundMeasure.SUM_OF_VALUES
        else f"referrals with a {codes} outcome"
    )
    needs = (
        "; needs: " + ", ".join(c.value.replace("_", " ") for c in binding.categories)
        if binding.categories
        else ""
    )
    return f"{what}, from {wards}{needs}"
