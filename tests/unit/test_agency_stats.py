from datetime import UTC, datetime, timedelta

from domain.agency_stats import LegResponse, agency_statistics

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def leg(agency: str, days: float | None, accepted: bool = False, outcome: bool = False):  # type: ignore[no-untyped-def]
    return LegResponse(
        agency_id=agency,
        sent_at=T0,
        responded_at=T0 + timedelta(days=days) if days is not None else None,
        accepted=accepted,
        outcome_recorded=outcome,
    )


def test_median_response_and_shares_per_agency() -> None:
    stats = agency_statistics(
        [
            leg("cab", 1, accepted=True, outcome=True),
            leg("cab", 3, accepted=True),
            leg("cab", 2),  # declined
            leg("cab", None),  # no response yet
            leg("police", 0.5, accepted=True, outcome=True),
        ]
    )
    cab, police = stats
    assert (cab.agency_id, cab.legs, cab.responded) == ("cab", 4, 3)
    assert cab.median_days_to_respond == 2
    assert cab.accepted_percent == 50.0
    assert cab.outcome_percent == 50.0
    assert (police.median_days_to_respond, police.accepted_percent, police.outcome_percent) == (
        0.5,
        100.0,
        100.0,
    )


def test_an_agency_that_never_answered_has_no_median() -> None:
    [silent] = agency_statistics([leg("leisure", None), leg("leisure", None)])
    assert silent.median_days_to_respond is None
    assert (silent.accepted_percent, silent.outcome_percent) == (0.0, 0.0)
