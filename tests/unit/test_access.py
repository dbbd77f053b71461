from dataclasses import dataclass

import pytest
from pydantic import BaseModel, ValidationError

from domain.access import (
    POLICY,
    POSSIBLE_DUPLICATE_EVENT,
    Action,
    Principal,
    Role,
    may,
    may_act_for_agency,
    may_manage_referral,
    may_read_notes,
    may_see_referral,
    referral_share,
    without_free_text,
)
from domain.referral import Outcome, OutcomeCode


def test_agency_user_must_name_agency() -> None:
    with pytest.raises(ValidationError, match="agency users must name their agency"):
        Principal(subject="a", role=Role.AGENCY)


def test_only_agency_users_have_an_agency() -> None:
    with pytest.raises(ValidationError, match="only agency users"):
        Principal(subject="a", role=Role.REFERRER, agency_id="cab")


def test_admin_holds_every_role_others_only_their_own() -> None:
    admin = Principal(subject="a", role=Role.ADMIN)
    ops = Principal(subject="o", role=Role.OPERATIONS)
    assert admin.has_role(Role.COORDINATOR)
    assert ops.has_role(Role.OPERATIONS, Role.COORDINATOR)
    assert not ops.has_role(Role.COORDINATOR)


def test_record_level_rules() -> None:
    cab = Principal(subject="cab-1", role=Role.AGENCY, agency_id="cab")
    police = Principal(subject="pc", role=Role.AGENCY, agency_id="police")
    reach_out = Principal(subject="ro-1", role=Role.REFERRER)
    other_referrer = Principal(subject="ro-2", role=Role.REFERRER)
    ops = Principal(subject="o", role=Role.OPERATIONS)
    coord = Principal(subject="c", role=Role.COORDINATOR)
    referral = {"referrer": "ro-1", "agency_ids": ["cab", "housing"]}

    assert may_see_referral(cab, **referral)
    assert not may_see_referral(police, **referral)
    assert may_see_referral(reach_out, **referral)
    assert not may_see_referral(other_referrer, **referral)
    assert may_see_referral(ops, **referral)

    assert may_read_notes(cab, **referral)
    assert may_read_notes(coord, **referral)
    assert not may_read_notes(ops, **referral)
    assert not may_read_notes(police, **referral)

    assert may_act_for_agency(cab, "cab")
    assert not may_act_for_agency(cab, "police")
    assert not may_act_for_agency(coord, "cab")

    assert may_manage_referral(reach_out, referrer="ro-1")
    assert not may_manage_referral(other_referrer, referrer="ro-1")
    assert not may_manage_referral(cab, referrer="ro-1")


def test_every_action_has_a_policy_and_admin_may_do_everything() -> None:
    admin = Principal(subject="a", role=Role.ADMIN)
    assert set(POLICY) == set(Action)
    assert all(may(admin, action) for action in Action)
    assert not may(Principal(subject="o", role=Role.OPERATIONS), Action.MANAGE_TOKENS)


@dataclass(frozen=True)
class _Leg:
    leg_id: str
    need_id: str
    agency_id: str
    state: str = "sent"


TWO_AGENCIES = (_Leg("R-L1", "N1", "cab"), _Leg("R-L2", "N2", "council"))
NOTES = {"N1": "Rent arrears", "N2": "Damp flat", "N3": "Signposted elsewhere"}


def test_an_agency_whose_leg_ended_without_the_case_loses_the_personal_data() -> None:
    cab = Principal(subject="cab-1", role=Role.AGENCY, agency_id="cab")
    for ended in ("declined", "expired", "withdrawn"):
        legs = (_Leg("R-L1", "N1", "cab", ended), _Leg("R-L2", "N1", "council", "accepted"))
        share = referral_share(cab, referrer="ro", legs=legs)
        assert share is not None
        assert share.sees_leg("R-L1")
        assert not share.personal
        assert share.notes(NOTES) == {}
    holding = (_Leg("R-L1", "N1", "cab", "withdrawn"), _Leg("R-L3", "N1", "cab", "closed"))
    share = referral_share(cab, referrer="ro", legs=holding)
    assert share is not None
    assert share.personal


def test_an_agency_shares_only_its_own_legs_needs_and_notes() -> None:
    cab = Principal(subject="cab-1", role=Role.AGENCY, agency_id="cab")
    share = referral_share(cab, referrer="ro", legs=TWO_AGENCIES)
    assert share is not None
    assert share.sees_leg("R-L1")
    assert not share.sees_leg("R-L2")
    assert share.sees_need("N1")
    assert not share.sees_need("N2")
    assert not share.sees_need("N3")
    assert share.notes(NOTES) == {"N1": "Rent arrears"}
    assert share.sees_event(None, None)
    assert share.sees_event("R-L1", "N1")
    assert not share.sees_event("R-L2", "N2")
    assert not share.sees_event(None, "N2")
    assert not share.notifications


def test_staff_and_the_referrer_share_everything_operations_without_notes() -> None:
    for principal, personal in (
        (Principal(subject="cora", role=Role.COORDINATOR), True),
        (Principal(subject="ada", role=Role.ADMIN), True),
        (Principal(subject="ro", role=Role.REFERRER), True),
        (Principal(subject="olu", role=Role.OPERATIONS), False),
    ):
        share = referral_share(principal, referrer="ro", legs=TWO_AGENCIES)
        assert share is not None
        assert share.sees_leg("R-L2")
        assert share.sees_need("N3")
        assert share.sees_event(None, "N2")
        assert share.personal is personal
        assert share.notes(NOTES) == (NOTES if personal else {})


def test_only_staff_see_which_referrals_a_referral_may_duplicate() -> None:
    for principal, sees in (
        (Principal(subject="cora", role=Role.COORDINATOR), True),
        (Principal(subject="ada", role=Role.ADMIN), True),
        (Principal(subject="olu", role=Role.OPERATIONS), True),
        (Principal(subject="ro", role=Role.REFERRER), False),
        (Principal(subject="cab-1", role=Role.AGENCY, agency_id="cab"), False),
    ):
        share = referral_share(principal, referrer="ro", legs=TWO_AGENCIES)
        assert share is not None
        assert share.sees_event(None, None, POSSIBLE_DUPLICATE_EVENT) is sees
        assert share.sees_event(None, None, "submitted")


def test_outsiders_get_no_share() -> None:
    for principal in (
        Principal(subject="pc-1", role=Role.AGENCY, agency_id="police"),
        Principal(subject="someone-else", role=Role.REFERRER),
    ):
        assert referral_share(principal, referrer="ro", legs=TWO_AGENCIES) is None


class _NotedLeg(BaseModel):
    decline_reason: str | None = None
    outcome_note: str | None = None
    outcome: Outcome | None = None


class _Referral(BaseModel):
    legs: list[_NotedLeg]


def test_free_text_withheld_takes_outcome_notes_recorded_and_live() -> None:
    noted = Outcome(code=OutcomeCode.GOT_HELP, value=10, unit="GBP", note="Rent paid")
    shown = without_free_text(
        _Referral(
            legs=[
                _NotedLeg(outcome_note="Rent paid", outcome=noted),
                _NotedLeg(outcome=Outcome(code=OutcomeCode.NO_CAPACITY)),
            ]
        )
    )
    assert shown.legs[0].outcome_note == "(withheld)"
    assert shown.legs[0].outcome == noted.model_copy(update={"note": "(withheld)"})
    # No note: nothing to withhold, and the outcome itself is no one's free text.
    assert shown.legs[1] == _NotedLeg(outcome=Outcome(code=OutcomeCode.NO_CAPACITY))
