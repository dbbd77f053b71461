"""The same resident twice through the API: 409 naming the open referral as the caller may
see it, ``confirm_new`` to make a new one anyway, and adding the need to the open one."""

from __future__ import annotations

from typing import Any

from domain.access import Role
from domain.referral import ReferralSubmission
from tests.helpers.referral_api import ReferralApi
from tests.helpers.referral_world import submission


def _body(sub: ReferralSubmission | None = None, **resident: Any) -> dict[str, Any]:
    raw = (sub or submission()).model_dump(mode="json")
    raw["confirm_new"] = False
    raw["resident"].update(resident)
    return raw


def _one_leg(body: dict[str, Any]) -> bool:
    return len(body["legs"]) == 1


async def test_same_resident_is_refused_with_the_number_and_where_to_add_the_need(
    referral_api: ReferralApi,
) -> None:
    referrer = await referral_api.user(Role.REFERRER, "reach-out-1")
    first = await referral_api.submit(referrer, _body())

    # Same name and date of birth, written differently, another postcode.
    again = _body(name="  edna   QUILLFEATHER ", postcode="CO16 9ZZ")
    resp = await referral_api.http.post("/api/referrals", json=again, headers=referrer)
    assert resp.status == 409, await resp.text()
    problem = await resp.json()
    assert problem["existing_referral"] == first
    assert problem["add_need"] == f"/api/referrals/{first}/needs"
    assert first in problem["error"]

    # Same name and postcode, no date of birth.
    by_postcode = _body(date_of_birth=None, postcode="co151aa")
    resp = await referral_api.http.post("/api/referrals", json=by_postcode, headers=referrer)
    assert resp.status == 409
    assert (await resp.json())["existing_referral"] == first

    # Another resident of the same name: another date of birth and postcode.
    namesake = _body(date_of_birth="1990-06-01", postcode="CO12 3AB")
    await referral_api.submit(referrer, namesake)

    # Confirmed: a new referral, which staff see may duplicate the first.
    second = await referral_api.submit(referrer, {**again, "confirm_new": True})
    assert second != first
    coordinator = await referral_api.user(Role.COORDINATOR, "co-ordinator")
    seen = await referral_api.until(
        second, coordinator, lambda b: any(e["kind"] == "possible_duplicate" for e in b["events"])
    )
    flagged = next(e for e in seen["events"] if e["kind"] == "possible_duplicate")
    assert flagged["detail"] == first
    own = await referral_api.referral(second, referrer)
    assert not any(e["kind"] == "possible_duplicate" for e in own["events"])


async def test_another_referrer_is_told_only_that_one_is_open(referral_api: ReferralApi) -> None:
    first_referrer = await referral_api.user(Role.REFERRER, "reach-out-1")
    other = await referral_api.user(Role.REFERRER, "reach-out-2")
    first = await referral_api.submit(first_referrer, _body())

    resp = await referral_api.http.post("/api/referrals", json=_body(), headers=other)
    assert resp.status == 409
    problem = await resp.json()
    assert "existing_referral" not in problem
    assert "add_need" not in problem
    assert first not in problem["error"]
    assert "the co-ordinator will link them" in problem["error"]
    assert "Quillfeather" not in await resp.text()

    # Nor may they add a need to it: it answers as if it did not exist.
    add = await referral_api.http.post(
        f"/api/referrals/{first}/needs", json={"category": "housing"}, headers=other
    )
    assert add.status == 404
    await referral_api.submit(other, {**_body(), "confirm_new": True})


async def test_add_the_need_to_the_open_referral_instead(referral_api: ReferralApi) -> None:
    referrer = await referral_api.user(Role.REFERRER, "reach-out-1")
    council = await referral_api.user(Role.AGENCY, "council-intake", "council")
    number = await referral_api.submit(referrer, _body())
    await referral_api.until(number, referrer, _one_leg)

    resp = await referral_api.http.post(
        f"/api/referrals/{number}/needs",
        json={"category": "housing", "urgency": "urgent", "notes": "Damp in the bedroom"},
        headers=referrer,
    )
    assert resp.status == 201, await resp.text()
    added = await resp.json()
    assert added["need_id"] == "N2"
    assert [n["need_id"] for n in added["referral"]["needs"]] == ["N1", "N2"]

    # Routed like the first need, to the consented council, with its notes.
    seen = await referral_api.until(number, referrer, lambda b: len(b["legs"]) == 2)
    leg = next(x for x in seen["legs"] if x["need_id"] == "N2")
    assert (leg["agency_id"], leg["urgency"]) == ("council", "urgent")
    assert seen["personal"]["need_notes"]["N2"] == "Damp in the bedroom"
    assert any(e["kind"] == "need_added" for e in seen["events"])
    theirs = await referral_api.referral(number, council)
    assert [n["need_id"] for n in theirs["needs"]] == ["N2"]

    bad = await referral_api.http.post(
        f"/api/referrals/{number}/needs", json={"category": "astrology"}, headers=referrer
    )
    assert bad.status == 422

    # A referral no longer open takes no more needs, and keeps nothing of the refused one.
    withdrawn = await referral_api.http.post(
        f"/api/referrals/{number}/withdraw", json={"reason": "moved away"}, headers=referrer
    )
    assert withdrawn.status == 200
    late = await referral_api.http.post(
        f"/api/referrals/{number}/needs", json={"category": "housing"}, headers=referrer
    )
    assert late.status == 409
    after = await referral_api.referral(number, referrer)
    assert [n["need_id"] for n in after["needs"]] == ["N1", "N2"]

    # Once closed, it no longer stands in the way of a new referral.
    await referral_api.submit(referrer, _body())
