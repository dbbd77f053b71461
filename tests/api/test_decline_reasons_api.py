"""Declining over the API with a reason from the list: what each needs is refused by field,
changing nothing, "no capacity" marks the service full as the directory then says, and the
agencies' statistics count declines by reason, in the API and on the agencies page."""

from __future__ import annotations

import re

from domain.access import Role
from tests.api.test_dashboard_referrals import signed_in
from tests.helpers.referral_api import ReferralApi


async def test_decline_reasons_over_the_api(referral_api: ReferralApi) -> None:
    api = referral_api
    referrer = await api.user(Role.REFERRER, "reach-out-7")
    cab = await api.user(Role.AGENCY, "cab-desk", agency_id="cab")
    number = await api.submit(referrer)
    body = await api.until(number, referrer, lambda b: len(b["legs"]) == 1)
    url = f"/api/legs/{body['legs'][0]['leg_id']}/decline"

    for bad, field in (
        ({"why": "not_eligible"}, "reason"),
        ({"why": "cannot_contact", "reason": "   "}, "reason"),
        ({"why": "better_served_elsewhere"}, "service_id"),
        ({"why": "no_capacity", "service_id": "charity-debt"}, "service_id"),
        ({"why": "too_busy"}, "why"),
    ):
        resp = await api.http.post(url, json=bad, headers=cab)
        assert resp.status == 422, bad
        assert (await resp.json())["detail"][0]["field"] == field, bad
    assert (await api.referral(number, referrer))["legs"][0]["state"] == "sent"

    resp = await api.http.post(url, json={"why": "no_capacity"}, headers=cab)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["decline_why"] == "no_capacity"
    capacity = await (await api.http.get("/api/services/cab-debt/capacity")).json()
    assert capacity["capacity"] == "full"
    assert capacity["full_until"] is not None
    routed = await api.until(number, referrer, lambda b: len(b["legs"]) == 2)
    assert routed["legs"][1]["service_id"] == "charity-debt"

    # The charity cannot take it either: the resident does not meet one of its rules.
    charity = await api.user(Role.AGENCY, "charity-desk", agency_id="charity")
    resp = await api.http.post(
        f"/api/legs/{routed['legs'][1]['leg_id']}/decline",
        json={"why": "not_eligible", "reason": "lives outside the borough"},
        headers=charity,
    )
    assert resp.status == 200, await resp.text()
    await api.until(number, referrer, lambda b: b["legs"][1]["state"] == "declined")

    ops = await api.user(Role.OPERATIONS, "olu")
    stats = await api.http.get("/api/agencies/stats", headers=ops)
    assert stats.status == 200, await stats.text()
    figures = {a["agency_id"]: a for a in (await stats.json())["items"]}
    nothing = dict.fromkeys(
        (
            "no_capacity",
            "not_eligible",
            "cannot_contact",
            "resident_declined",
            "better_served_elsewhere",
            "other",
        ),
        0,
    )
    assert figures["cab"]["declines_by_reason"] == {**nothing, "no_capacity": 1}
    assert figures["charity"]["declines_by_reason"] == {**nothing, "not_eligible": 1}
    assert figures["police"]["declines_by_reason"] == nothing

    # The agencies page says the same in words, for agencies that declined something.
    cookies, _ = await signed_in(api.world.sessions, "olu-page", Role.OPERATIONS)
    page = await (await api.http.get("/agencies", cookies=cookies)).text()
    section = page[page.index('id="declines"') : page.index('id="answer-times"')]
    heads = re.findall(r'<th scope="col">([^<]*)</th>', section)
    assert heads == [
        "Agency",
        "Declined",
        "No capacity now",
        "Not eligible",
        "Could not contact the resident",
        "The resident declined",
        "Better served elsewhere",
        "Other",
    ]
    rows = dict(
        (name, re.findall(r"<td[^>]*>(\d+)</td>", cells))
        for name, cells in re.findall(
            r'<th scope="row" data-label="Agency">([^<]*)</th>(.*?)</tr>', section, re.S
        )
    )
    assert rows == {
        "Citizens Advice": ["1", "1", "0", "0", "0", "0", "0"],
        "Money Advice Charity": ["1", "0", "1", "0", "0", "0", "0"],
    }
