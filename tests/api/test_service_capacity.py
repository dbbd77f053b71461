"""A service's room for new referrals, said by its agency over the API: routing follows at
once (a full service is passed over, and comes back when it has places), the directory and
the finder show it, and only the service's own agency or the directory's staff may say it."""

from __future__ import annotations

from typing import Any

from api.web.pages import SESSION_COOKIE
from domain.access import Role
from store.staff import create_user, sign_in
from tests.helpers.referral_api import ReferralApi

URL = "/api/services/cab-debt/capacity"
PASSWORD = "a long enough password"


async def _first_service(api: ReferralApi, headers: dict[str, str]) -> dict[str, Any]:
    number = await api.submit(headers)
    body = await api.until(number, headers, lambda b: len(b["legs"]) == 1)
    leg: dict[str, Any] = body["legs"][0]
    return leg


async def test_an_agency_says_its_service_is_full_and_routing_passes_it_over(
    referral_api: ReferralApi,
) -> None:
    api = referral_api
    cab = await api.user(Role.AGENCY, "cab-desk", agency_id="cab")
    referrer = await api.user(Role.REFERRER, "reach-out-7")
    resp = await api.http.get(URL)
    assert resp.status == 200
    assert (await resp.json())["capacity"] == "open"
    assert (await _first_service(api, referrer))["service_id"] == "cab-debt"

    resp = await api.http.put(URL, json={"places_available": 0}, headers=cab)
    assert resp.status == 200, await resp.text()
    said = await resp.json()
    assert (said["capacity"], said["places_available"]) == ("full", 0)
    assert said["capacity_updated_at"] is not None
    leg = await _first_service(api, referrer)
    assert leg["service_id"] == "charity-debt"

    resp = await api.http.get("/api/directory/services")
    listed = {s["id"]: s for s in (await resp.json())["services"]}
    assert (listed["cab-debt"]["capacity"], listed["cab-debt"]["places_available"]) == ("full", 0)
    page = await api.http.get("/find/services/cab-debt")
    assert page.status == 200
    assert "This service is full at the moment" in await page.text()

    # The same figure as HSDS 3.1 service_capacity, for directories that read it.
    assert [r["available"] for r in said["service_capacity"]] == [0]
    resp = await api.http.get("/api/directory/service_capacity")
    exported = (await resp.json())["service_capacity"]
    assert [(r["available"], r["unit"]["name"]) for r in exported] == [(0, "referral places")]

    # A whole number written as 2.0 is one, as JSON Schema says.
    resp = await api.http.put(URL, json={"places_available": 2.0}, headers=cab)
    assert (await resp.json())["places_available"] == 2

    # Places again: routed to it again.
    resp = await api.http.put(URL, json={"places_available": 6}, headers=cab)
    assert (await resp.json())["capacity"] == "open"
    assert (await _first_service(api, referrer))["service_id"] == "cab-debt"

    # Full for some working days, whatever the places say.
    resp = await api.http.put(
        URL, json={"places_available": 6, "full_for_working_days": 3}, headers=cab
    )
    said = await resp.json()
    assert said["capacity"] == "full"
    assert said["full_until"] is not None
    assert (await _first_service(api, referrer))["service_id"] == "charity-debt"


async def test_only_its_agency_or_the_directorys_staff_may_say_it_and_bad_input_changes_nothing(
    referral_api: ReferralApi,
) -> None:
    api = referral_api
    charity = await api.user(Role.AGENCY, "charity-desk", agency_id="charity")
    referrer = await api.user(Role.REFERRER, "reach-out-7")
    coordinator = await api.user(Role.COORDINATOR, "co-ordinator")
    cab = await api.user(Role.AGENCY, "cab-desk", agency_id="cab")

    resp = await api.http.put(URL, json={"places_available": 0}, headers=charity)
    assert resp.status == 404  # another agency's service is not theirs to see as writable
    resp = await api.http.put(URL, json={"places_available": 0}, headers=referrer)
    assert resp.status == 403
    resp = await api.http.put(URL, json={"places_available": 0})
    assert resp.status == 401
    resp = await api.http.put(
        "/api/services/no-such/capacity", json={"places_available": 0}, headers=cab
    )
    assert resp.status == 404

    for bad in (
        {"places_available": -1},
        {"places_available": "many"},
        {"full_for_working_days": 0},
        {"full_for_working_days": 61},
        {"places_available": 3, "waiting_list": 9},
    ):
        resp = await api.http.put(URL, json=bad, headers=cab)
        assert resp.status == 422, bad
        assert "error" in await resp.json()
    resp = await api.http.get(URL)
    unchanged = await resp.json()
    assert (unchanged["capacity"], unchanged["capacity_updated_at"]) == ("open", None)

    resp = await api.http.put(URL, json={"places_available": 1}, headers=coordinator)
    assert resp.status == 200
    assert (await resp.json())["capacity"] == "limited"


async def test_the_dashboard_page_lets_an_agency_say_it_for_its_own_services_only(
    referral_api: ReferralApi,
) -> None:
    api = referral_api
    sessions = api.world.sessions
    await create_user(
        sessions, username="cab-1", password=PASSWORD, role=Role.AGENCY, agency_id="cab"
    )
    signed = await sign_in(sessions, username="cab-1", password=PASSWORD, remote="t")
    assert signed is not None
    cookie, user = signed
    cookies = {SESSION_COOKIE: cookie}

    page = await api.http.get("/capacity", cookies=cookies)
    text = await page.text()
    assert page.status == 200
    assert "CAB debt advice" in text
    assert "Charity money advice" not in text  # another agency's service

    # A mistake is shown by the field, what was typed kept, and nothing saved.
    resp = await api.http.post(
        "/capacity/cab-debt",
        data={"csrf_token": user.csrf_token, "places_available": "lots"},
        cookies=cookies,
        allow_redirects=False,
    )
    assert resp.status == 400
    text = await resp.text()
    assert "Enter the number of places, a whole number of 0 or more" in text
    assert 'value="lots"' in text
    assert (await (await api.http.get(URL)).json())["capacity_updated_at"] is None

    resp = await api.http.post(
        "/capacity/cab-debt",
        data={"csrf_token": user.csrf_token, "places_available": "0", "full_for_working_days": ""},
        cookies=cookies,
        allow_redirects=False,
    )
    assert resp.status == 303
    assert (await (await api.http.get(URL)).json())["capacity"] == "full"
    text = await (await api.http.get(resp.headers["Location"], cookies=cookies)).text()
    assert "Done: CAB debt advice updated" in text
    assert "Full" in text

    # Not its service, or no token: refused, nothing changed.
    resp = await api.http.post(
        "/capacity/charity-debt",
        data={"csrf_token": user.csrf_token, "places_available": "0"},
        cookies=cookies,
        allow_redirects=False,
    )
    assert resp.status == 404
    resp = await api.http.post(
        "/capacity/cab-debt",
        data={"places_available": "9"},
        cookies=cookies,
        allow_redirects=False,
    )
    assert resp.status == 403
    charity = await (await api.http.get("/api/services/charity-debt/capacity")).json()
    assert charity["capacity_updated_at"] is None
    assert (await (await api.http.get(URL)).json())["places_available"] == 0
