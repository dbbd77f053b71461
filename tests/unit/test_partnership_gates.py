"""Stages and gates as the partnership page shows them: what each gate still lacks."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.partnership import CompleteNegotiation, Stage, apply, new_partnership
from domain.partnership_gates import GateState, gates
from tests.helpers import partnership_scenario as sc

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 2)


def test_a_new_partnership_waits_on_invitations_and_has_every_gate_to_come() -> None:
    state = new_partnership(sc.new_partnership("ip"), T0)
    shown = gates(state, TODAY)
    assert [g.stage for g in shown] == [
        Stage.NEGOTIATE,
        Stage.ESTABLISH,
        Stage.PLAN,
        Stage.IMPLEMENT,
        Stage.REVIEW,
    ]
    assert [g.state for g in shown] == [GateState.CURRENT] + [GateState.TO_COME] * 4
    assert "no partner has been invited" in shown[0].missing
    assert any("member approval" in m for m in shown[0].missing)
    assert any("support elements not agreed" in m for m in shown[1].missing)
    assert "no action in the plan" in shown[2].missing
    assert shown[3].missing == ["no action plan has been approved"]
    assert shown[4].missing == ["the review decision has not been recorded"]


def test_a_passed_gate_lacks_nothing_and_the_current_one_names_what_is_left() -> None:
    state = new_partnership(sc.new_partnership("ip"), T0)
    for command in [
        *sc.invitations(),
        *[sc.commitment(a) for a in sc.PARTNERS],
        *sc.negotiation_rest(),
        sc.member_approval(),
        CompleteNegotiation(),
    ]:
        state = apply(state, command, T0)
    shown = gates(state, TODAY)
    assert (shown[0].state, shown[0].missing) == (GateState.PASSED, [])
    assert shown[1].state is GateState.CURRENT
    assert "no co-ordinator has been appointed" in shown[1].missing
