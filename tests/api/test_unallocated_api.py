"""The co-ordinator's queue over HTTP: the list of unallocated needs, and assign, signpost and
close as validated Updates (refusals 409 with the reason, bad input 422)."""

from __future__ import annotations

import asyncio
from typing import Any

from domain.access import Role
from domain.directory import NeedCategory
from domain.referral import Need
from tests.api.test_dashboard_referrals import signed_in
from tests.helpers.referral_api import ReferralApi
from tests.helpers.referral_world import submission

HEALTH = submission(Need(category=NeedCategory.HEALTH)).model_dump(mode="json")


async def _queued(api: ReferralApi, coordinator: dict[str, str], number: str) -> dict[str, Any]:
    async def listed() -> list[dict[str, Any]]:
        resp = await api.http.get("/api/needs/unallocated", headers=coordinator)
        assert resp.status == 200, await resp.text()
        items: list[dict[str, Any]] = (await resp.json())["items"]
        return [i for i in items if i["number"] == number and i["unallocated_at"]]

    async with asyncio.timeout(20):
        while True:
            found = await listed()
            if found:
                return found[0]
            await asyncio.sleep(0.1)


async def test_the_queue_lists_unallocated_needs_and_acts_on_them(
    referral_api: ReferralApi,
) -> None:
    referrer = await referral_api.user(Role.REFERRER, "reach-out-1")
    coordinator = await referral_api.user(Role.COORDINATOR, "coord")
    for role in (Role.OPERATIONS, Role.AGENCY, Role.REFERRER):
        who = await referral_api.user(
            role, f"x-{role.value}", "cab" if role is Role.AGENCY else None
        )
        assert (await referral_api.http.get("/api/needs/unallocated", headers=who)).status == 403
    first = await referral_api.submit(referrer, HEALTH)
    second = await referral_api.submit(referrer, HEALTH)
    item = await _queued(referral_api, coordinator, first)
    assert item["need_id"] == "N1"
    assert item["ward"] == "pier"
    assert item["category"] == "health"
    assert item["urgency"] == "routine"
    assert item["tried"] == []
    assert "no active service" in item["reason"]
    assert item["waited_days"] >= 0
    assert item["overdue"] is False
    url = f"/api/referrals/{first}/needs/N1"
    # Bad input: 422 naming the field; refusals: 409 with the reason; nothing changes.
    resp = await referral_api.http.post(
        f"{url}/assign", json={"service_id": "nope"}, headers=coordinator
    )
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["field"] == "service_id"
    resp = await referral_api.http.post(
        f"{url}/assign", json={"service_id": "police-safety"}, headers=coordinator
    )
    assert resp.status == 409
    assert "has not consented to police" in (await resp.json())["error"]
    resp = await referral_api.http.post(
        f"{url}/signpost", json={"service_ids": ["nope"]}, headers=coordinator
    )
    assert resp.status == 422
    resp = await referral_api.http.post(
        f"/api/referrals/{first}/needs/N7/close", json={"reason": "x"}, headers=coordinator
    )
    assert resp.status == 409
    # Assign with new consent: a leg goes to the police.
    resp = await referral_api.http.post(
        f"{url}/assign",
        json={
            "service_id": "police-safety",
            "consent": {
                "method": "verbal",
                "given_at": "2026-11-30T10:00:00Z",
                "note": "phoned the resident",
            },
        },
        headers=coordinator,
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["needs"][0]["state"] == "referred"
    again = await referral_api.http.post(f"{url}/close", json={"reason": "x"}, headers=coordinator)
    assert again.status == 409
    # Close the other one with a reason.
    await _queued(referral_api, coordinator, second)
    resp = await referral_api.http.post(
        f"/api/referrals/{second}/needs/N1/close",
        json={"reason": "resident moved away"},
        headers=coordinator,
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["needs"][0]["state"] == "closed"
    listed = await (
        await referral_api.http.get("/api/needs/unallocated", headers=coordinator)
    ).json()
    assert listed["items"] == []


async def test_the_dashboard_queue_shows_and_closes_a_need(referral_api: ReferralApi) -> None:
    referrer = await referral_api.user(Role.REFERRER, "reach-out-1")
    number = await referral_api.submit(referrer, HEALTH)
    await _queued(referral_api, await referral_api.user(Role.COORDINATOR, "coord-api"), number)
    coordinator, csrf = await signed_in(referral_api.world.sessions, "coord-1", Role.COORDINATOR)
    ops, _ = await signed_in(referral_api.world.sessions, "ops-1", Role.OPERATIONS)
    assert (await referral_api.http.get("/needs/unallocated", cookies=ops)).status == 403
    page = await (await referral_api.http.get("/needs/unallocated", cookies=coordinator)).text()
    assert number in page
    assert "no active service" in page
    resp = await referral_api.http.post(
        f"/needs/{number}/N1/close",
        data={"csrf_token": csrf, "reason": "resident moved away"},
        cookies=coordinator,
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    assert "closed" in resp.headers["Location"]
    view = await referral_api.until(number, referrer, lambda b: b["needs"][0]["state"] == "closed")
    assert view["status"] in {"open", "closed"}
