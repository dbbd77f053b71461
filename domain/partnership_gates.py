"""Each stage of a partnership's cycle and what is still missing to pass its gate.

The gate rules themselves live in :mod:`domain.partnership` (``negotiation_gaps`` and the
rest); this module lays them out stage by stage for people to read.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel

from domain.partnership import (
    PartnershipState,
    Stage,
    establishment_gaps,
    negotiation_gaps,
    plan_gaps,
)

CYCLE = [Stage.NEGOTIATE, Stage.ESTABLISH, Stage.PLAN, Stage.IMPLEMENT, Stage.REVIEW]


class GateState(StrEnum):
    """Where the partnership is relative to a stage."""

    PASSED = "passed"
    CURRENT = "current"
    TO_COME = "to come"


class Gate(BaseModel):
    """One stage, the gate that ends it, and what that gate still lacks."""

    stage: Stage
    state: GateState
    gate: str
    missing: list[str]


_GATES = {
    Stage.NEGOTIATE: "negotiation complete: partners committed, resources assessed, approved",
    Stage.ESTABLISH: "establishment complete: support elements agreed, co-ordinator appointed",
    Stage.PLAN: "action plan approved",
    Stage.IMPLEMENT: "the action plan ends (or a review is started early)",
    Stage.REVIEW: "the review's decision: continue, rationalise or exit",
}


def gates(state: PartnershipState, today: date) -> list[Gate]:
    """Every stage of the cycle with what its gate still lacks as of ``today`` (a plan not
    yet approved is judged as if it started ``today``)."""
    here = len(CYCLE) if state.stage is Stage.CLOSED else CYCLE.index(state.stage)
    result: list[Gate] = []
    for i, stage in enumerate(CYCLE):
        if i < here:
            result.append(Gate(stage=stage, state=GateState.PASSED, gate=_GATES[stage], missing=[]))
            continue
        result.append(
            Gate(
                stage=stage,
                state=GateState.CURRENT if i == here else GateState.TO_COME,
                gate=_GATES[stage],
                missing=_missing(state, stage, today),
            )
        )
    return result


def _missing(state: PartnershipState, stage: Stage, today: date) -> list[str]:
    if stage is Stage.NEGOTIATE:
        return negotiation_gaps(state)
    if stage is Stage.ESTABLISH:
        return establishment_gaps(state)
    if stage is Stage.PLAN:
        return plan_gaps(state, state.plan_start or today)
    if stage is Stage.IMPLEMENT:
        if state.plan_end is None:
            return ["no action plan has been approved"]
        return [f"the action plan runs until {state.plan_end:%d %B %Y}"]
    if state.decision is None:
        return ["the review decision has not been recorded"]
    return []
