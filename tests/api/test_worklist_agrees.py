"""One worklist: the API's and the dashboard's list the same legs in the same order (those to
answer by deadline, then outcomes due), and one rule narrows the referral list to the
caller's share on both (an agency asking for another's sees nothing on either)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from api.web.pages import SESSION_COOKIE
from domain.access import Role
from store.staff import create_user, sign_in
from tests.helpers.referral_api import ReferralApi

PASSWORD = "a long enough password"


async def _leg(api: ReferralApi, headers: dict[str, str]) -> str:
    number = await api.submit(headers)
    body = await api.until(number, headers, lambda b: len(b["legs"]) == 1)
    return str(body["legs"][0]["leg_id"])


async def _cookies(api: ReferralApi, username: str, agency: str) -> dict[str, str]:
    await create_user(
        api.world.sessions, username=username, password=PASSWORD, role=Role.AGENCY, agency_id=agency
    )
    signed = await sign_in(api.world.sessions, username=username, password=PASSWORD, remote="t")
    assert signed is not None
    return {SESSION_COOKIE: signed[0]}


async def _api_worklist(api: ReferralApi, headers: dict[str, str]) -> list[str]:
    resp = await api.http.get("/api/agencies/cab/worklist", headers=headers)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return [item["leg_id"] for item in body["items"]]


async def _page_worklist(api: ReferralApi, cookies: dict[str, str]) -> list[str]:
    text = await (await api.http.get("/worklist", cookies=cookies)).text()
    return re.findall(r'data-label="Referral"><a href="/referrals/[^"]+">([^<]+)</a>', text)


async def test_the_api_and_the_dashboard_list_the_same_worklist(referral_api: ReferralApi) -> None:
    api = referral_api
    referrer = await api.user(Role.REFERRER, "reach-out-7")
    cab = await api.user(Role.AGENCY, "cab-desk", agency_id="cab")
    accepted, recorded, waiting = [await _leg(api, referrer) for _ in range(3)]
    for leg in (accepted, recorded):
        assert (await api.http.post(f"/api/legs/{leg}/accept", headers=cab)).status == 200
    resp = await api.http.post(
        f"/api/legs/{recorded}/outcome", json={"code": "got_help"}, headers=cab
    )
    assert resp.status == 200, await resp.text()

    # The leg with its outcome recorded owes nothing: on neither list.
    expected = [waiting, accepted]
    assert await _api_worklist(api, cab) == expected
    assert await _page_worklist(api, await _cookies(api, "cab-1", "cab")) == expected


async def test_one_rule_narrows_the_referral_list_on_both(referral_api: ReferralApi) -> None:
    api = referral_api
    referrer = await api.user(Role.REFERRER, "reach-out-7")
    cab = await api.user(Role.AGENCY, "cab-desk", agency_id="cab")
    await _leg(api, referrer)
    cookies = await _cookies(api, "cab-1", "cab")

    mine = await (await api.http.get("/api/referrals", headers=cab)).json()
    assert mine["total"] == 1
    page = await (await api.http.get("/referrals", cookies=cookies)).text()
    assert mine["items"][0]["number"] in page

    # Asking for another agency's referrals: nothing, on the API and the dashboard alike.
    theirs = await (await api.http.get("/api/referrals?agency_id=charity", headers=cab)).json()
    assert theirs["total"] == 0
    page = await (await api.http.get("/referrals?agency=charity", cookies=cookies)).text()
    assert mine["items"][0]["number"] not in page

    # A date range: the API's end is exclusive, the dashboard's takes in the whole last day.
    today = datetime.now(UTC).date()
    page = await (await api.http.get(f"/referrals?created_to={today}", cookies=cookies)).text()
    assert mine["items"][0]["number"] in page
    until = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    listed = await (
        await api.http.get("/api/referrals", params={"created_to": until.isoformat()}, headers=cab)
    ).json()
    assert listed["total"] == 1
