"""A partner's ask travels in a signed link's subject and stands only while it is open: the
partner still in the partnership, the one-off thing not yet done, the stage still asking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.partner_link import (
    PARTNER_ACTION_PURPOSE,
    NotAnAsk,
    PartnerAsk,
    ask_from,
    closed_because,
)
from domain.partnership import (
    ActionSpec,
    Contact,
    FundedProject,
    PartnershipState,
    PlanAction,
    QuarterlyReturn,
    Stage,
    apply,
    new_partnership,
)
from domain.partnership_schedule import schedule
from domain.signed_link import LinkKeys, sign_link, verify_link_until
from tests.helpers import partnership_scenario as sc

NOW = datetime(2027, 1, 4, 9, tzinfo=UTC)
KEYS = LinkKeys.from_secrets(["k"])


def ask(update: str = "commit_partner", **answers: str) -> PartnerAsk:
    return PartnerAsk(
        partnership_id="ip",
        agency_id="tendring-cab",
        update=update,
        answers=answers or {"agency_id": "tendring-cab"},
        expires_at=NOW + timedelta(days=60),
    )


def invited() -> PartnershipState:
    state = new_partnership(sc.new_partnership("ip"), NOW)
    for command in sc.invitations():
        state = apply(state, command, NOW)
    return state


def test_the_ask_round_trips_through_a_signed_link() -> None:
    token = sign_link(
        KEYS, ask().subject(), purpose=PARTNER_ACTION_PURPOSE, expires=ask().expires_at
    )
    subject, expires = verify_link_until(KEYS, token, purpose=PARTNER_ACTION_PURPOSE, now=NOW)
    assert ask_from(subject, expires) == ask()
    with pytest.raises(NotAnAsk):
        ask_from("R-2027-000123", expires)


def test_a_commitment_link_closes_once_committed_or_the_partner_is_gone() -> None:
    state = invited()
    assert closed_because(ask(), state) is None
    committed = apply(state, sc.commitment("tendring-cab"), NOW)
    assert closed_because(ask(), committed) == (
        "Tendring Citizens Advice has already committed to Interaction Partnership"
    )
    left = state.model_copy(
        update={"partners": [p for p in state.partners if p.agency_id != "tendring-cab"]}
    )
    assert (
        closed_because(ask(), left)
        == "tendring-cab is no longer a partner of Interaction Partnership"
    )
    established = state.model_copy(update={"stage": Stage.ESTABLISH})
    assert closed_because(ask(), established) == "Interaction Partnership no longer asks for this"


def test_a_return_link_closes_once_that_quarter_is_in() -> None:
    project = FundedProject(
        id="advice",
        name="Advice",
        agency_id="tendring-cab",
        contact=Contact(name="A", email="a@cab.example"),
        funding_gbp=1,
        deadline=date(2028, 1, 1),
        target="t",
    )
    state = invited().model_copy(update={"stage": Stage.IMPLEMENT, "projects": [project]})
    quarter_two = ask("submit_quarterly_return", project_id="advice", quarter="2")
    assert closed_because(quarter_two, state) is None
    sent = project.model_copy(
        update={
            "returns": [
                QuarterlyReturn(
                    quarter=2, submitted_at=NOW, spend_gbp=1, progress="p", on_target=True
                )
            ]
        }
    )
    assert closed_because(quarter_two, state.model_copy(update={"projects": [sent]})) == (
        "the return for quarter 2 has been sent"
    )


def test_an_action_link_closes_once_done() -> None:
    planned = PlanAction(
        **ActionSpec(
            id="patrols",
            title="Patrols",
            owner=Contact(name="P", email="p@police.example"),
            owner_agency_id="tendring-cab",
            due=date(2027, 6, 1),
            resources="r",
            monitoring="m",
        ).model_dump()
    )
    state = invited().model_copy(update={"stage": Stage.IMPLEMENT, "actions": [planned]})
    patrols = ask("complete_action", action_id="patrols")
    assert closed_because(patrols, state) is None
    done = planned.model_copy(update={"done_on": date(2027, 5, 1)})
    assert closed_because(patrols, state.model_copy(update={"actions": [done]})) is not None


def test_only_reminders_to_a_partner_ask_it_to_act() -> None:
    reminders = schedule(invited(), NOW)
    asking = [r for r in reminders if r.ask is not None]
    assert asking
    assert {r.kind.value for r in asking} == {"partner_invitation", "commitment_reminder"}
    for r in asking:
        assert r.ask is not None
        partner = next(p for p in invited().partners if p.agency_id == r.ask.agency_id)
        assert r.to == [partner.contact.email]
        assert r.ask.answers == {"agency_id": partner.agency_id}
        assert r.ask.expires_at > r.due_at
    assert all(r.ask is None for r in reminders if "escalat" in r.kind.value)
