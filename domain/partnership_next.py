"""What a partnership needs next: each item its current stage's gate still lacks, with the
action that supplies it (and the answers that action's form can start with).

It follows the gates of :mod:`domain.partnership` item by item (a test holds the two
together); once a gate has nothing missing, the step is the action that passes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from domain.partnership import (
    KEY_QUESTIONS,
    PartnershipState,
    Stage,
    SupportElement,
)
from domain.partnership.model import DECIDING_QUESTIONS
from domain.partnership.rules import plan_end
from domain.partnership_schedule import meeting_slots


@dataclass(frozen=True, kw_only=True)
class NextStep:
    """One thing the partnership waits on, and the action (Update name) that does it."""

    text: str
    update: str | None
    """None: nothing to do but wait (the plan runs its course)."""
    answers: dict[str, str] = field(default_factory=dict)
    """Answers the action's form starts with (the partner, the element, the project)."""
    agency_id: str | None = None
    """The partner agency whose step it is, when it is one partner's."""


def _words(value: str) -> str:
    return value.replace("_", " ")


def _negotiate(state: PartnershipState) -> list[NextStep]:
    steps: list[NextStep] = []
    if not state.partners:
        steps.append(NextStep(text="Invite the partners", update="invite_partner"))
    for p in state.partners:
        if p.commitment is None:
            steps.append(
                NextStep(
                    text=f"{p.name} has not committed to the partnership",
                    update="commit_partner",
                    answers={"agency_id": p.agency_id},
                    agency_id=p.agency_id,
                )
            )
    if state.resources is None:
        steps.append(
            NextStep(
                text="Assess the resources: direct, indirect and opportunity costs",
                update="assess_resources",
            )
        )
    for n in DECIDING_QUESTIONS:
        if not state.key_answers.get(n):
            steps.append(
                NextStep(
                    text=f"Answer key question {n}: {KEY_QUESTIONS[n - 1]}",
                    update="answer_key_questions",
                    answers={"answers.0.number": str(n)},
                )
            )
    if state.member_approval is None and state.needs_member_approval():
        why = "it is strategic" if state.strategic else "its cost is over the threshold"
        steps.append(
            NextStep(text=f"Record members' approval ({why})", update="approve_by_members")
        )
    return steps


def _establish(state: PartnershipState) -> list[NextStep]:
    steps = [
        NextStep(
            text=f"Agree the support element: {_words(e.value)}",
            update="agree_element",
            answers={"element": e.value},
        )
        for e in SupportElement
        if e not in state.elements
    ]
    if not state.coordinator_appointed:
        steps.append(NextStep(text="Appoint the co-ordinator", update="appoint_coordinator"))
    return steps


_PLAN_PARTS = (
    ("baseline", "Add baseline data", "record_baseline"),
    ("consultations", "Record a consultation event", "record_consultation"),
    ("groups", "Set up an action group", "add_action_group"),
    ("actions", "Add an action to the plan", "add_action"),
    ("outcomes", "Add a SMART outcome with its indicators", "add_outcome"),
)


def _plan(state: PartnershipState, today: date) -> list[NextStep]:
    steps = [
        NextStep(text=text, update=update)
        for part, text, update in _PLAN_PARTS
        if not getattr(state, part)
    ]
    start = state.plan_start or today
    end = plan_end(start, state.policy.plan_years)
    for a in state.actions:
        if not start <= a.due <= end:
            steps.append(
                NextStep(
                    text=f"The action {a.title} is due {a.due:%d %B %Y}, outside the plan "
                    f"period {start:%d %B %Y} to {end:%d %B %Y}",
                    update=None,
                )
            )
    return steps


def _meetings(state: PartnershipState, today: date) -> list[NextStep]:
    held = len(state.meetings)
    return [
        NextStep(
            text=f"Stakeholder meeting {slot.number} was due on {slot.starts_at:%d %B %Y}: "
            "record who attended, the minutes, decisions and actions arising",
            update="record_meeting",
        )
        for slot in meeting_slots(state)
        if slot.number > held and slot.starts_at.date() <= today
    ][:1]


def _implement(state: PartnershipState) -> list[NextStep]:
    steps: list[NextStep] = []
    for a in state.actions:
        if a.done_on is None:
            steps.append(
                NextStep(
                    text=f"Action {a.title}, due {a.due:%d %B %Y}",
                    update="complete_action",
                    answers={"action_id": a.id},
                    agency_id=a.owner_agency_id,
                )
            )
    for p in state.projects:
        steps.append(
            NextStep(
                text=f"Quarterly return {len(p.returns) + 1} of {p.name}",
                update="submit_quarterly_return",
                answers={"project_id": p.id, "quarter": str(len(p.returns) + 1)},
                agency_id=p.agency_id,
            )
        )
        if p.funding_by_year and p.after_funding is None:
            steps.append(
                NextStep(
                    text=f"The plan for when the funding of {p.name} ends: mainstreaming or exit",
                    update="plan_after_funding",
                    answers={"project_id": p.id},
                    agency_id=p.agency_id,
                )
            )
    return steps


PASSING = {
    Stage.NEGOTIATE: (
        "Everything is in place: leave Negotiate for Establish",
        "complete_negotiation",
    ),
    Stage.ESTABLISH: ("Everything is in place: leave Establish for Plan", "complete_establishment"),
    Stage.PLAN: ("Everything is in place: approve the plan", "approve_plan"),
}


def needed_next(state: PartnershipState, today: date) -> list[NextStep]:
    """What the current stage waits on as of ``today``, each with the action that does it."""
    if state.stage is Stage.NEGOTIATE:
        steps = _negotiate(state)
    elif state.stage is Stage.ESTABLISH:
        steps = _establish(state)
    elif state.stage is Stage.PLAN:
        steps = _plan(state, today)
    elif state.stage is Stage.IMPLEMENT:
        end = f"{state.plan_end:%d %B %Y}" if state.plan_end else "its end"
        return [
            *_meetings(state, today),
            *_implement(state),
            NextStep(text=f"The plan runs until {end}; review it early?", update="start_review"),
        ]
    elif state.stage is Stage.REVIEW:
        return [
            *_implement(state),
            NextStep(text="Decide: continue, rationalise or exit", update="decide"),
        ]
    else:
        return []
    if not steps:
        text, update = PASSING[state.stage]
        steps = [NextStep(text=text, update=update)]
    return steps
