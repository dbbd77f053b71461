"""The same resident twice: the rule that finds an open referral for a new one's resident."""

from __future__ import annotations

from datetime import date

import pytest

from domain.referral import ReferralStatus
from domain.resident_match import (
    OpenReferral,
    ResidentDetails,
    name_key,
    open_referrals_for,
    postcode_key,
    same_resident,
)

EDNA = ResidentDetails(name="Edna Pettigrew", date_of_birth=date(1951, 3, 14), postcode="CO15 6JQ")


def _referral(
    number: str = "TEN-2026-000001",
    *,
    resident: ResidentDetails = EDNA,
    status: ReferralStatus = ReferralStatus.OPEN,
    erased: bool = False,
) -> OpenReferral:
    return OpenReferral(
        number=number, status=status, submitted_by="reach-out-1", erased=erased, resident=resident
    )


def test_keys_ignore_case_and_spacing() -> None:
    assert name_key("  edna   PETTIGREW ") == "edna pettigrew"
    assert postcode_key(" co15  6jq ") == "CO156JQ"
    assert postcode_key(None) == ""


def test_same_name_and_date_of_birth_match_whatever_the_postcode() -> None:
    new = ResidentDetails(name=" edna  pettigrew", date_of_birth=date(1951, 3, 14), postcode="")
    assert same_resident(new, EDNA)


def test_same_name_and_postcode_match_without_a_date_of_birth() -> None:
    new = ResidentDetails(name="EDNA PETTIGREW", postcode="co156jq")
    assert same_resident(new, EDNA)


def test_same_name_with_another_date_of_birth_and_postcode_is_another_resident() -> None:
    new = ResidentDetails(
        name="Edna Pettigrew", date_of_birth=date(1980, 1, 2), postcode="CO16 9AA"
    )
    assert not same_resident(new, EDNA)


def test_a_name_alone_never_matches() -> None:
    assert not same_resident(ResidentDetails(name="Edna Pettigrew"), EDNA)
    assert not same_resident(EDNA, ResidentDetails(name="Edna Pettigrew"))


def test_another_name_with_the_same_date_of_birth_and_postcode_is_another_resident() -> None:
    new = ResidentDetails(
        name="Edith Pettigrew", date_of_birth=date(1951, 3, 14), postcode="CO15 6JQ"
    )
    assert not same_resident(new, EDNA)


def test_only_open_referrals_with_their_details_held_match() -> None:
    referrals = [
        _referral("TEN-2026-000003"),
        _referral("TEN-2026-000001"),
        _referral("TEN-2026-000002", erased=True),
        _referral("TEN-2026-000004", resident=ResidentDetails(name="Someone Else")),
    ]
    found = open_referrals_for(EDNA, referrals)
    assert [r.number for r in found] == ["TEN-2026-000001", "TEN-2026-000003"]


@pytest.mark.parametrize(
    "status",
    [s for s in ReferralStatus if s is not ReferralStatus.OPEN],
)
def test_referrals_past_open_do_not_match(status: ReferralStatus) -> None:
    assert open_referrals_for(EDNA, [_referral(status=status)]) == []
