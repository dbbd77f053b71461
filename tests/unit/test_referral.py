"""Referral rules: numbers, the leg state machine, response deadlines, the workflow input."""

from datetime import UTC, date, datetime

import pytest

from domain.calendar import LONDON
from domain.directory import Urgency
from domain.referral import (
    FINAL_LEG_STATES,
    LegState,
    Need,
    Outcome,
    OutcomeCode,
    ReferralSource,
    ReferralSubmission,
    Referrer,
    Resident,
    TransitionRefused,
    check_transition,
    format_referral_number,
    highest_urgency,
    leg_id,
    parse_referral_number,
    referral_input,
    response_deadline,
)
from tests.helpers.referral_world import submission


def uk(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def test_numbers_format_and_parse() -> None:
    assert format_referral_number("TEN", 2026, 123) == "TEN-2026-000123"
    assert format_referral_number("TEN", 2026, 1234567) == "TEN-2026-1234567"
    assert parse_referral_number("TEN-2026-000123") == ("TEN", 2026, 123)
    assert leg_id("TEN-2026-000123", 2) == "TEN-2026-000123-L2"
    for bad in ("ten-2026-000123", "TEN-26-000123", "TEN-2026-12", "TEN-2026-000123-L1"):
        with pytest.raises(ValueError, match="not a referral number"):
            parse_referral_number(bad)
    with pytest.raises(ValueError, match="prefix"):
        format_referral_number("T3N", 2026, 1)
    with pytest.raises(ValueError, match="sequence"):
        format_referral_number("TEN", 2026, 0)


@pytest.mark.parametrize(
    ("path"),
    [
        [LegState.ACCEPTED, LegState.IN_PROGRESS, LegState.OUTCOME_RECORDED, LegState.CLOSED],
        [LegState.ACCEPTED, LegState.OUTCOME_RECORDED, LegState.CLOSED],
        [LegState.DECLINED],
        [LegState.EXPIRED],
        [LegState.ACCEPTED, LegState.WITHDRAWN],
        [LegState.ACCEPTED, LegState.IN_PROGRESS, LegState.OUTCOME_RECORDED, LegState.WITHDRAWN],
    ],
)
def test_legal_paths(path: list[LegState]) -> None:
    state = LegState.SENT
    for target in path:
        check_transition(state, target)
        state = target


@pytest.mark.parametrize(
    ("current", "target", "reason"),
    [
        (LegState.SENT, LegState.CLOSED, "cannot go from sent to closed"),
        (LegState.SENT, LegState.OUTCOME_RECORDED, "from sent to outcome_recorded"),
        (LegState.ACCEPTED, LegState.DECLINED, "from accepted to declined"),
        (LegState.IN_PROGRESS, LegState.EXPIRED, "from in_progress to expired"),
        (LegState.DECLINED, LegState.ACCEPTED, "the leg is already declined"),
        (LegState.CLOSED, LegState.WITHDRAWN, "the leg is already closed"),
        (LegState.WITHDRAWN, LegState.WITHDRAWN, "the leg is already withdrawn"),
    ],
)
def test_illegal_transitions_are_refused_with_a_reason(
    current: LegState, target: LegState, reason: str
) -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_transition(current, target)
    assert reason in refused.value.reason


def test_every_open_state_can_be_withdrawn_and_final_states_cannot_move() -> None:
    for state in LegState:
        for target in LegState:
            if state in FINAL_LEG_STATES:
                with pytest.raises(TransitionRefused):
                    check_transition(state, target)
        if state not in FINAL_LEG_STATES:
            check_transition(state, LegState.WITHDRAWN)


def test_routine_deadline_skips_christmas_and_the_boxing_day_substitute() -> None:
    # Fri 25 Dec 2026 and Mon 28 Dec (Boxing Day falls on a Saturday) are bank holidays.
    sent = uk(2026, 12, 21, 10, 0)
    assert response_deadline(sent, Urgency.ROUTINE) == uk(2026, 12, 30, 10, 0)


def test_urgent_deadline_skips_easter() -> None:
    # Good Friday 3 April and Easter Monday 6 April 2026.
    sent = uk(2026, 4, 2, 15, 0).astimezone(UTC)
    due = response_deadline(sent, Urgency.URGENT)
    assert due == uk(2026, 4, 7, 15, 0)
    assert due.tzinfo is UTC


def test_emergency_deadline_is_same_day_before_noon_else_next_working_day() -> None:
    assert response_deadline(uk(2026, 4, 2, 10, 0), Urgency.EMERGENCY) == uk(2026, 4, 2, 17, 0)
    assert response_deadline(uk(2026, 4, 2, 13, 0), Urgency.EMERGENCY) == uk(2026, 4, 7, 12, 0)
    # Sent on a Saturday morning: due at noon on Monday.
    assert response_deadline(uk(2026, 11, 21, 9, 0), Urgency.EMERGENCY) == uk(2026, 11, 23, 12, 0)


def test_service_agreement_overrides_the_default_days() -> None:
    sent = uk(2026, 11, 23, 9, 30)
    assert response_deadline(sent, Urgency.ROUTINE, {Urgency.ROUTINE: 10}) == uk(2026, 12, 7, 9, 30)
    assert response_deadline(sent, Urgency.URGENT, {Urgency.ROUTINE: 10}) == uk(2026, 11, 24, 9, 30)
    assert response_deadline(sent, Urgency.URGENT, {Urgency.URGENT: 0}) == uk(2026, 11, 23, 17, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        response_deadline(datetime(2026, 11, 23, 9, 30), Urgency.ROUTINE)  # noqa: DTZ001


def test_highest_urgency() -> None:
    assert (
        highest_urgency([Urgency.ROUTINE, Urgency.EMERGENCY, Urgency.URGENT]) is Urgency.EMERGENCY
    )
    assert highest_urgency([]) is Urgency.ROUTINE


def test_workflow_input_carries_no_personal_data() -> None:
    submission = ReferralSubmission(
        source=ReferralSource.WEB_SIGNPOSTING,
        ward="pier",
        resident=Resident(
            name="Edna Quillfeather",
            date_of_birth=date(1951, 3, 14),
            address="12 Marine Parade",
            postcode="CO15 1AA",
            email="edna@example.org",
        ),
        needs=[Need(category="housing", urgency="urgent", notes="Damp flat, two children")],
        consent={"agency_ids": ["council"]},
        referrer=Referrer(name="Edna Quillfeather", email="edna@example.org"),
    )
    made = referral_input(
        "TEN-2026-000001", submission, submitted_by="web", today=date(2026, 3, 14)
    )
    assert made.age == 75
    assert [(n.need_id, n.category.value) for n in made.needs] == [("N1", "housing")]
    serialised = made.model_dump_json()
    for secret in ("Edna", "Marine", "CO15", "edna@", "Damp", "1951"):
        assert secret not in serialised


def test_outcome_value_is_optional_and_not_negative() -> None:
    assert Outcome(code=OutcomeCode.COULD_NOT_CONTACT).value is None
    assert Outcome(code=OutcomeCode.GOT_HELP, value=1240, unit="GBP").value == 1240
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Outcome(code=OutcomeCode.GOT_HELP, value=-1)


def test_an_outcome_note_is_stripped_blank_is_none_and_bounded() -> None:
    assert Outcome(code=OutcomeCode.GOT_HELP).note is None
    assert Outcome(code=OutcomeCode.GOT_HELP, note="  Rent paid\r\n").note == "Rent paid"
    assert Outcome(code=OutcomeCode.GOT_HELP, note="\ufeffRent\npaid\u200b").note == "Rent\npaid"
    for blank in ("", "   ", "\n\t", "\u200b\ufeff"):
        assert Outcome(code=OutcomeCode.GOT_HELP, note=blank).note is None
    assert len(Outcome(code=OutcomeCode.GOT_HELP, note="x" * 1000).note or "") == 1000
    with pytest.raises(ValueError, match="at most 1000 characters"):
        Outcome(code=OutcomeCode.GOT_HELP, note="x" * 1001)
    noted = Outcome(code=OutcomeCode.GOT_HELP, value=5, note="Rent paid")
    assert noted.note_replaced_by("[erased]") == Outcome(
        code=OutcomeCode.GOT_HELP, value=5, note="[erased]"
    )
    assert Outcome(code=OutcomeCode.GOT_HELP).note_replaced_by("[erased]").note is None


def test_submission_refuses_unknown_fields_naive_consent_time_and_no_needs() -> None:
    base = {
        "source": "reach_out",
        "ward": "pier",
        "resident": {"name": "A Resident"},
        "needs": [{"category": "housing"}],
        "referrer": {"name": "Worker"},
    }
    assert ReferralSubmission.model_validate(base).needs[0].urgency is Urgency.ROUTINE
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        ReferralSubmission.model_validate({**base, "nickname": "x"})
    with pytest.raises(ValueError, match="time zone"):
        ReferralSubmission.model_validate({**base, "consent": {"given_at": "2026-11-02T10:00:00"}})
    with pytest.raises(ValueError, match="at least 1 item"):
        ReferralSubmission.model_validate({**base, "needs": []})
    with pytest.raises(ValueError, match="Input should be"):
        ReferralSubmission.model_validate({**base, "needs": [{"category": "astrology"}]})


def test_the_old_name_of_the_web_source_still_reads() -> None:
    """Workflows started before the rename carry ``signposting_web`` in their input."""
    assert ReferralSource("signposting_web") is ReferralSource.WEB_SIGNPOSTING
    old = submission().model_dump(mode="json") | {"source": "signposting_web"}
    assert ReferralSubmission.model_validate(old).source is ReferralSource.WEB_SIGNPOSTING
    with pytest.raises(ValueError, match="source"):
        ReferralSubmission.model_validate(old | {"source": "web"})
