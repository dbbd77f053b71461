"""Stakeholder meetings: what a meeting records, the actions arising that join the plan, each
partner's own invitation with its answer, and the reminder before an action falls due."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.partner_link import closed_because
from domain.partnership import (
    ActionArising,
    CompleteAction,
    PartnershipState,
    RecordMeeting,
    Refusal,
    ReplyToMeeting,
    apply,
)
from domain.partnership_next import needed_next
from domain.partnership_schedule import ReminderKind, due, meeting_slots, schedule
from tests.helpers import partnership_scenario as sc
from tests.unit.test_partnership import implementing, run

START = date(2026, 12, 1)
AT = datetime(2027, 1, 20, 10, tzinfo=UTC)


def with_meeting(state: PartnershipState) -> PartnershipState:
    return run(
        state,
        [
            RecordMeeting(
                minutes="Met at the Pier",
                attendees=["tendring-cab", "tdc-housing"],
                decisions=["Extend the patrols to Golf Green"],
                actions_arising=[
                    ActionArising(
                        title="Map the fly-tipping sites",
                        owner_agency_id="essex-police",
                        due=date(2027, 3, 15),
                    ),
                    ActionArising(title="Write to the landlords", due=date(2027, 4, 1)),
                ],
            )
        ],
        AT,
    )


def test_actions_arising_join_the_plan_linked_to_their_meeting() -> None:
    state = with_meeting(implementing(START))
    meeting = state.meetings[-1]
    assert meeting.decisions == ["Extend the patrols to Golf Green"]
    assert meeting.action_ids == ["meeting-1-1", "meeting-1-2"]
    mapped, letters = (a for a in state.actions if a.meeting == 1)
    assert (mapped.title, mapped.owner_agency_id, mapped.owner.email) == (
        "Map the fly-tipping sites",
        "essex-police",
        "tendring@police.example",
    )
    assert (letters.owner_agency_id, letters.owner) == (None, sc.COORDINATOR)
    assert state.timeline[-1].detail == "meeting 1 recorded with 2 action(s) arising"
    # Chased like any other action of the plan: overdue, then escalated.
    keys = {r.key for r in schedule(state, AT)}
    assert {"cycle1:action:meeting-1-1:overdue", "cycle1:action:meeting-1-1:escalated"} <= keys
    # The owner completes it like any other.
    done = apply(state, CompleteAction(action_id="meeting-1-1", done_on=AT.date()), AT)
    assert next(a for a in done.actions if a.id == "meeting-1-1").done_on == AT.date()


@pytest.mark.parametrize(
    ("arising", "reason"),
    [
        (ActionArising(title="x", owner_agency_id="nobody", due=date(2027, 3, 1)), "not partners"),
        (ActionArising(title="x", due=date(2030, 3, 1)), "action arising 1: the action is due"),
    ],
)
def test_an_action_arising_the_plan_cannot_take_refuses_the_meeting(
    arising: ActionArising, reason: str
) -> None:
    state = implementing(START)
    with pytest.raises(Refusal, match=reason):
        apply(state, RecordMeeting(minutes="m", actions_arising=[arising]), AT)


def test_each_partner_is_invited_with_its_own_link_to_answer() -> None:
    state = implementing(START)
    first = meeting_slots(state)[0]
    invitations = [
        r
        for r in schedule(state, AT)
        if r.kind is ReminderKind.MEETING_INVITATION and r.meeting == first
    ]
    partners = [r for r in invitations if r.ask is not None]
    assert sorted(r.ask.agency_id for r in partners if r.ask) == sorted(sc.PARTNERS)
    cab = next(r for r in partners if r.to == ["advice@cab.example"])
    assert cab.ask is not None
    assert (cab.ask.update, cab.ask.answers) == (
        "reply_to_meeting",
        {"agency_id": "tendring-cab", "meeting": "1"},
    )
    assert "Tendring Citizens Advice is invited to stakeholder meeting 1" in cab.text
    assert "Monday 01 February 2027 at 10:00" in cab.text
    assert "to monitor progress on the action plan" in cab.text
    assert "Please say by Friday 29 January 2027 whether your organisation will attend" in cab.text
    coordinator = [r for r in invitations if r.ask is None]
    assert [r.to for r in coordinator] == [[sc.COORDINATOR.email]]
    # A partnership whose history began before this keeps its one invitation to everyone.
    older = state.model_copy(update={"asks_each_partner": False})
    (one,) = [
        r
        for r in schedule(older, AT)
        if r.kind is ReminderKind.MEETING_INVITATION and r.meeting == first
    ]
    assert len(one.to) == len(sc.PARTNERS) + 1


def test_a_partner_answers_once_and_its_apologies_reach_the_meeting() -> None:
    state = implementing(START)
    reply = ReplyToMeeting(agency_id="essex-police", meeting=1, attending=False, note="On shift")
    answered = apply(state, reply, AT)
    assert answered.timeline[-1].detail == "Essex Police sends apologies for meeting 1"
    with pytest.raises(Refusal, match="already answered the invitation to meeting 1"):
        apply(answered, reply, AT)
    with pytest.raises(Refusal, match="there is no meeting 40"):
        apply(state, reply.model_copy(update={"meeting": 40}), AT)
    ask = next(
        r.ask
        for r in schedule(state, AT)
        if r.ask and r.ask.update == "reply_to_meeting" and r.ask.agency_id == "essex-police"
    )
    assert closed_because(ask, state) is None
    assert closed_because(ask, answered) == (
        "Essex Police has already answered the invitation to meeting 1"
    )
    held = with_meeting(answered)
    assert held.meetings[-1].apologies == ["essex-police"]
    assert closed_because(ask, held) == "meeting 1 has been held"
    with pytest.raises(Refusal, match="meeting 1 has already been held"):
        apply(held, ReplyToMeeting(agency_id="ne-essex-pct", meeting=1, attending=True), AT)


def test_the_owner_is_reminded_before_an_action_falls_due() -> None:
    state = with_meeting(implementing(START))
    soon = next(r for r in schedule(state, AT) if r.key == "cycle1:action:meeting-1-1:due-soon")
    # Due Monday 15 March 2027: five working days before is Monday 8 March, 9 am.
    assert soon.due_at.date() == date(2027, 3, 8)
    assert soon.to == ["tendring@police.example"]
    assert soon.subject == (
        "Interaction Partnership: action due on 15 March 2027: Map the fly-tipping sites"
    )
    assert "agreed at stakeholder meeting 1" in soon.text
    assert soon.ask is not None
    assert (soon.ask.agency_id, soon.ask.update, soon.ask.answers) == (
        "essex-police",
        "complete_action",
        {"action_id": "meeting-1-1"},
    )
    assert not soon.overdue
    on_the_day = datetime(2027, 3, 8, 10, tzinfo=UTC)
    assert soon.key in {r.key for r in due(state, on_the_day)}
    # Once overdue, the overdue reminder asks instead; once done, neither does.
    later = datetime(2027, 3, 20, tzinfo=UTC)
    assert soon.key not in {r.key for r in schedule(state, later)}
    done = apply(state, CompleteAction(action_id="meeting-1-1", done_on=AT.date()), AT)
    assert not any(":meeting-1-1:" in r.key for r in schedule(done, AT))
    older = state.model_copy(update={"asks_each_partner": False})
    assert ReminderKind.ACTION_DUE_SOON not in {r.kind for r in schedule(older, AT)}


def test_a_meeting_past_its_date_is_needed_next_until_recorded() -> None:
    state = implementing(START)
    before, after = date(2027, 1, 29), date(2027, 2, 2)  # meeting 1: Monday 1 February 2027
    assert not [s for s in needed_next(state, before) if s.update == "record_meeting"]
    (step,) = [s for s in needed_next(state, after) if s.update == "record_meeting"]
    assert step.text.startswith("Stakeholder meeting 1 was due on 01 February 2027")
    recorded = with_meeting(state)
    assert not [s for s in needed_next(recorded, after) if s.update == "record_meeting"]
    # Its actions arising are then needed next, each linked to the form that records it done.
    assert {"action_id": "meeting-1-1"} in [
        s.answers for s in needed_next(recorded, after) if s.update == "complete_action"
    ]
