"""Declining over the API with a reason from the list: what each needs is refused by field,
changing nothing, and "no capacity" marks the service full as the directory then says."""

from __future__ import annotations

from domain.access import Role
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
