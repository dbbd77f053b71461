"""Indicators bound to referral outcomes: what counts, once, over the plan's period."""

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from domain.indicators import Actual, Indicator, Rag, rag
from domain.outcome_binding import (
    BoundMeasure,
    OutcomeBinding,
    ReferralOutcomeFact,
    bound_total,
    contribution,
    counted_key,
    describe,
)

AT = datetime(2027, 3, 1, 11, tzinfo=UTC)
AWARDS = OutcomeBinding(
    measure=BoundMeasure.SUM_OF_VALUES, unit="GBP", wards=["pier", "golf-green"]
)
HELPED = OutcomeBinding(
    measure=BoundMeasure.COUNT_OF_REFERRALS, outcome_codes=["got_help", "referred_elsewhere"]
)
PLAN = {"period_start": date(2027, 1, 4), "period_end": date(2027, 12, 31)}


def fact(n: int, value: float | None = 1240, **more: object) -> ReferralOutcomeFact:
    fields: dict[str, object] = {
        "outcome_id": f"TEN-2027-{n:06d}-L1",
        "number": f"TEN-2027-{n:06d}",
        "ward": "pier",
        "category": "benefits_debt",
        "code": "got_help",
        "value": value,
        "unit": "GBP",
        "recorded_at": AT,
        **more,
    }
    return ReferralOutcomeFact.model_validate(fields)


def test_a_sum_counts_got_help_values_in_its_unit_from_its_wards_in_the_plan() -> None:
    assert contribution(AWARDS, fact(1), **PLAN) == 1240
    assert contribution(AWARDS, fact(1, unit="gbp"), **PLAN) == 1240
    assert contribution(AWARDS, fact(1, ward="walton"), **PLAN) is None
    assert contribution(AWARDS, fact(1, code="could_not_contact"), **PLAN) is None
    assert contribution(AWARDS, fact(1, value=None), **PLAN) is None
    assert contribution(AWARDS, fact(1, unit="hours"), **PLAN) is None
    before = fact(1, recorded_at=datetime(2026, 12, 1, tzinfo=UTC))
    assert contribution(AWARDS, before, **PLAN) is None
    assert contribution(AWARDS, before, period_start=None, period_end=None) == 1240


def test_a_count_counts_each_referral_once() -> None:
    first_need, second_need = fact(7), fact(7, outcome_id="TEN-2027-000007-L2")
    assert contribution(HELPED, first_need, **PLAN) == 1
    assert counted_key(HELPED, first_need) == counted_key(HELPED, second_need)
    assert counted_key(AWARDS, first_need) != counted_key(AWARDS, second_need)


def test_the_seed_figures_give_an_actual_of_285360_and_green() -> None:
    # The Reach Out project's awards: £285,360 against a £100,000 target.
    values = [120_000, 98_360, 67_000]
    counted: dict[str, float] = {}
    for n, value in enumerate(values, start=1):
        f = fact(n, value=value)
        share = contribution(AWARDS, f, **PLAN)
        assert share is not None
        counted[counted_key(AWARDS, f)] = share
        counted[counted_key(AWARDS, f)] = share  # offered again: kept once
    assert bound_total(counted) == 285_360
    indicator = Indicator(
        id="benefit-awards",
        name="New and backdated benefit claim awards",
        unit="GBP",
        baseline=0,
        target=100_000,
        actuals=[Actual(value=bound_total(counted), at=AT, source="referral outcomes")],
    )
    assert rag(indicator) is Rag.GREEN


def test_a_sum_needs_its_unit() -> None:
    with pytest.raises(ValidationError, match="unit"):
        OutcomeBinding(measure=BoundMeasure.SUM_OF_VALUES)


def test_a_binding_in_words() -> None:
    names = {"pier": "Pier", "golf-green": "Golf Green"}
    assert describe(AWARDS, names.__getitem__) == (
        "sum of got help outcome values in GBP, from Pier, Golf Green"
    )
    assert describe(HELPED) == (
        "referrals with a got help or referred elsewhere outcome, from every ward"
    )
