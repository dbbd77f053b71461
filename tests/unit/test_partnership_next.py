"""What is needed next follows the gates item by item, and each step is an action the stage
allows; the stages the table offers an action in are the ones its rule accepts it in."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.partnership import (
    BY_UPDATE,
    ApprovePlan,
    CompleteNegotiation,
    PartnershipState,
    Refusal,
    Stage,
    apply,
    establishment_gaps,
    negotiation_gaps,
    new_partnership,
    plan_gaps,
)
from domain.partnership_next import PASSING, needed_next
from tests.helpers import partnership_scenario as sc
from tests.unit.test_action_forms import OFFERED, samples

NOW = datetime(2027, 1, 4, 9, tzinfo=UTC)
START = date(2027, 4, 1)


def gaps(state: PartnershipState) -> list[str]:
    if state.stage is Stage.NEGOTIATE:
        return negotiation_gaps(state)
    if state.stage is Stage.ESTABLISH:
        return establishment_gaps(state)
    return plan_gaps(state, START)


def test_the_steps_follow_the_gates_through_the_scenario() -> None:
    state = new_partnership(sc.new_partnership("ip-next"), NOW)
    commands = [
        *sc.invitations(),
        *[sc.commitment(a) for a in sc.PARTNERS],
        *sc.negotiation_rest(),
        sc.member_approval(),
        CompleteNegotiation(),
        *sc.establishment(),
        *sc.planning(START),
    ]
    seen_stages = set()
    for command in [None, *commands]:
        if command is not None:
            state = apply(state, command, NOW)
        seen_stages.add(state.stage)
        steps = needed_next(state, START)
        assert steps
        for step in steps:
            if step.update is not None:
                assert BY_UPDATE[step.update].offered_in(state), (state.stage, step)
        passing = [s for s in steps if s.update == PASSING.get(state.stage, ("", ""))[1]]
        # The passing action is the step exactly when the gate lacks nothing.
        assert bool(passing) == (not gaps(state)), (state.stage, gaps(state), steps)
        assert len(steps) >= len(gaps(state))
    assert seen_stages == {Stage.NEGOTIATE, Stage.ESTABLISH, Stage.PLAN}
    state = apply(state, ApprovePlan(start=START), NOW)
    steps = needed_next(state, START)
    assert [s.update for s in steps][-1] == "start_review"
    assert any(
        s.update == "complete_action" and s.answers == {"action_id": "reach-out"} for s in steps
    )


def test_a_partner_s_steps_name_the_partner() -> None:
    state = new_partnership(sc.new_partnership("ip-next"), NOW)
    for command in sc.invitations():
        state = apply(state, command, NOW)
    mine = [s for s in needed_next(state, START) if s.agency_id == "tendring-cab"]
    assert [(s.update, s.answers) for s in mine] == [
        ("commit_partner", {"agency_id": "tendring-cab"})
    ]


@pytest.mark.parametrize("action", OFFERED, ids=lambda a: a.update)
def test_the_rule_refuses_the_action_outside_the_stages_the_table_offers_it_in(
    action: object,
) -> None:
    from domain.partnership import PartnershipAction

    assert isinstance(action, PartnershipAction)
    command = samples()[action.update]
    base = new_partnership(sc.new_partnership("ip-next"), NOW)
    for stage in set(Stage) - action.stages:
        state = base.model_copy(update={"stage": stage})
        with pytest.raises(Refusal):
            apply(state, command, NOW)
