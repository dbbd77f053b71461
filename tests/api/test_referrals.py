"""The referral API end to end over a real worker (time-skipping server), store and sinks."""

from __future__ import annotations

import asyncio
import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.referrals import ReferralConfig
from domain.access import Role
from domain.referral import REFERRAL_WORKFLOW, STATE_QUERY, LegView, Need, referral_input
from store.audit import read_audit
from store.db import Sessions
from store.directory import save_directory
from store.referrals import save_referral
from store.schema import ReferralRow, ResidentRow
from tests.conftest import StaticTemporal
from tests.helpers.referral_api import Headers, ReferralApi
from tests.helpers.referral_world import RESIDENT_NAME, directory, submission


def _one_leg(body: dict[str, Any]) -> bool:
    return len(body["legs"]) == 1


async def _leg_state(api: ReferralApi, leg_id: str) -> LegView:
    handle = api.world.client.get_workflow_handle(leg_id)
    view: LegView = await handle.query(STATE_QUERY, result_type=LegView)
    return view


async def test_submit_accept_start_outcome_follow_up_closed(referral_api: ReferralApi) -> None:
    referrer = await referral_api.user(Role.REFERRER, "reach-out-7")
    cab = await referral_api.user(Role.AGENCY, "cab-intake", "cab")
    number = await referral_api.submit(referrer)
    assert number.startswith(f"{referral_api.world.prefix}-")

    seen = await referral_api.until(number, referrer, _one_leg)
    leg = seen["legs"][0]
    assert (leg["agency_id"], leg["state"]) == ("cab", "sent")
    assert seen["personal"]["resident"]["name"] == RESIDENT_NAME
    assert seen["personal"]["need_notes"] == {"N1": "Rent arrears since May"}
    assert seen["live"]["number"] == number

    work = await referral_api.http.get("/api/agencies/cab/worklist", headers=cab)
    assert [i["leg_id"] for i in (await work.json())["items"]] == [leg["leg_id"]]

    base = f"/api/legs/{leg['leg_id']}"
    accepted = await referral_api.http.post(f"{base}/accept", headers=cab)
    assert accepted.status == 200, await accepted.text()
    assert (await accepted.json())["state"] == "accepted"
    started = await referral_api.http.post(f"{base}/start", headers=cab)
    assert (await started.json())["state"] == "in_progress"
    outcome = await referral_api.http.post(
        f"{base}/outcome", json={"code": "got_help", "value": 1240, "unit": "GBP"}, headers=cab
    )
    assert outcome.status == 200, await outcome.text()
    recorded = await outcome.json()
    assert recorded["state"] == "outcome_recorded"
    assert recorded["outcome"] == {
        "code": "got_help",
        "value": 1240.0,
        "unit": "GBP",
        "note": None,
    }

    await referral_api.until(number, referrer, lambda b: b["status"] == "follow_up")
    for wrong in ({"made_difference": "yes"}, {"made_difference": True, "score": "5"}):
        resp = await referral_api.http.post(
            f"/api/referrals/{number}/follow-up", json=wrong, headers=referrer
        )
        assert resp.status == 422, wrong
    follow = await referral_api.http.post(
        f"/api/referrals/{number}/follow-up",
        json={"made_difference": True, "score": 5.0},
        headers=referrer,
    )
    assert follow.status == 200, await follow.text()
    assert (await follow.json())["follow_up"]["actor"] == "reach-out-7"

    done = await referral_api.until(number, referrer, lambda b: b["status"] == "closed")
    assert [leg["state"] for leg in done["legs"]] == ["closed"]
    assert done["legs"][0]["outcome_code"] == "got_help"
    kinds = [e["kind"] for e in done["events"]]
    assert {"submitted", "sent", "accepted", "started", "outcome_recorded"} <= set(kinds)
    late = await referral_api.http.post(f"{base}/close", headers=cab)
    assert late.status == 409
    assert "closed" in (await late.json())["error"]
    # Every read of the resident's details was audited against the caller.
    _, trail = await read_audit(referral_api.world.sessions, subject="reach-out-7", limit=1000)
    assert sum(e.action == "read_personal_data" for e in trail) >= 3


async def test_refused_actions_answer_409_or_422_and_change_nothing(
    referral_api: ReferralApi,
) -> None:
    referrer = await referral_api.user(Role.REFERRER, "reach-out-1")
    cab = await referral_api.user(Role.AGENCY, "cab-intake", "cab")
    charity = await referral_api.user(Role.AGENCY, "charity-intake", "charity")
    number = await referral_api.submit(referrer)
    leg_id = (await referral_api.until(number, referrer, _one_leg))["legs"][0]["leg_id"]
    base = f"/api/legs/{leg_id}"
    before = await _leg_state(referral_api, leg_id)

    early = await referral_api.http.post(f"{base}/outcome", json={"code": "got_help"}, headers=cab)
    assert early.status == 409
    assert "sent to outcome_recorded" in (await early.json())["error"]
    blank = await referral_api.http.post(f"{base}/decline", json={"reason": "  "}, headers=cab)
    assert blank.status == 422
    assert (await blank.json())["detail"][0]["field"] == "reason"
    bad = await referral_api.http.post(f"{base}/outcome", json={"code": "magic"}, headers=cab)
    assert bad.status == 422
    extra = await referral_api.http.post(
        f"{base}/decline", json={"reason": "x", "y": 1}, headers=cab
    )
    assert extra.status == 422
    not_theirs = await referral_api.http.post(f"{base}/accept", headers=charity)
    assert not_theirs.status == 404
    assert await _leg_state(referral_api, leg_id) == before

    declined = await referral_api.http.post(
        f"{base}/decline", json={"reason": "no debt caseworker until March"}, headers=cab
    )
    assert declined.status == 200, await declined.text()
    assert (await declined.json())["decline_reason"] == "no debt caseworker until March"
    again = await referral_api.http.post(f"{base}/accept", headers=cab)
    assert again.status == 409

    rerouted = await referral_api.until(number, referrer, lambda b: len(b["legs"]) == 2)
    second = next(leg for leg in rerouted["legs"] if leg["leg_id"] != leg_id)
    assert second["agency_id"] == "charity"
    assert (
        await referral_api.http.post(f"/api/legs/{second['leg_id']}/accept", headers=cab)
    ).status == 404
    ok = await referral_api.http.post(f"/api/legs/{second['leg_id']}/accept", headers=charity)
    assert ok.status == 200
    # The agency that declined no longer sees the charity's leg; the charity not the CAB's.
    cab_view = await referral_api.referral(number, cab)
    assert [leg["agency_id"] for leg in cab_view["legs"]] == ["cab"]
    assert [leg["agency_id"] for leg in cab_view["live"]["legs"]] == ["cab"]
    charity_view = await referral_api.referral(number, charity)
    assert [leg["agency_id"] for leg in charity_view["legs"]] == ["charity"]
    assert [n["need_id"] for n in charity_view["needs"]] == ["N1"]
    assert all(e["leg_id"] in (None, second["leg_id"]) for e in charity_view["events"])


async def test_callers_see_only_their_share(referral_api: ReferralApi) -> None:
    mine = await referral_api.user(Role.REFERRER, "reach-out-1")
    other = await referral_api.user(Role.REFERRER, "reach-out-2")
    cab = await referral_api.user(Role.AGENCY, "cab-intake", "cab")
    police = await referral_api.user(Role.AGENCY, "police-desk", "police")
    ops = await referral_api.user(Role.OPERATIONS, "ops-1")
    coordinator = await referral_api.user(Role.COORDINATOR, "coord-1")
    number = await referral_api.submit(mine)
    housing = submission(Need(category="housing", urgency="urgent", notes="Damp flat"))
    theirs = await referral_api.submit(other, housing.model_dump(mode="json"))
    leg_id = (await referral_api.until(number, mine, _one_leg))["legs"][0]["leg_id"]
    await referral_api.until(theirs, other, _one_leg)

    async def numbers(headers: Headers, **params: str) -> list[str]:
        resp = await referral_api.http.get("/api/referrals", params=params, headers=headers)
        assert resp.status == 200, await resp.text()
        return [i["number"] for i in (await resp.json())["items"]]

    assert await numbers(mine) == [number]
    assert await numbers(other) == [theirs]
    assert await numbers(cab) == [number]
    assert await numbers(cab, agency_id="council") == []
    assert await numbers(police) == []
    assert set(await numbers(ops)) == {number, theirs}
    assert await numbers(coordinator, agency_id="council") == [theirs]
    assert await numbers(coordinator, urgency="urgent") == [theirs]
    assert await numbers(coordinator, ward="pier", status="open", breached="false") == [
        theirs,
        number,
    ]
    assert await numbers(coordinator, breached="true") == []
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await numbers(coordinator, created_from=future) == []
    assert len(await numbers(coordinator, created_to=future)) == 2
    paged = await referral_api.http.get(
        "/api/referrals", params={"per_page": "1", "page": "2"}, headers=ops
    )
    assert (await paged.json())["total"] == 2
    assert [i["number"] for i in (await paged.json())["items"]] == [number]
    bad = await referral_api.http.get("/api/referrals", params={"status": "lost"}, headers=ops)
    assert bad.status == 422

    for headers in (other, police):
        assert (
            await referral_api.http.get(f"/api/referrals/{number}", headers=headers)
        ).status == 404
    assert (
        await referral_api.http.post(f"/api/legs/{leg_id}/accept", headers=police)
    ).status == 404
    withdraw = {"reason": "moved away"}
    refused = await referral_api.http.post(
        f"/api/referrals/{number}/withdraw", json=withdraw, headers=other
    )
    assert refused.status == 404
    assert (await referral_api.http.get("/api/agencies/cab/worklist", headers=police)).status == 404
    assert (await referral_api.http.get("/api/agencies/cab/worklist", headers=other)).status == 404
    assert (await referral_api.http.get("/api/agencies/cab/worklist", headers=ops)).status == 200

    watched = await referral_api.referral(number, ops)
    assert watched["status"] == "open"
    assert watched["personal"] is None
    assert (await referral_api.referral(number, cab))["personal"]["resident"][
        "name"
    ] == RESIDENT_NAME
    _, trail = await read_audit(referral_api.world.sessions, subject="ops-1", limit=1000)
    assert not any(e.action == "read_personal_data" for e in trail)


async def test_withdraw_and_withdraw_consent(referral_api: ReferralApi) -> None:
    referrer = await referral_api.user(Role.REFERRER, "reach-out-1")
    first = await referral_api.submit(referrer)
    second = await referral_api.submit(referrer)
    await referral_api.until(first, referrer, _one_leg)
    await referral_api.until(second, referrer, _one_leg)

    handle = referral_api.world.client.get_workflow_handle(first)
    before = await referral_api.world.state(handle)
    early = await referral_api.http.post(
        f"/api/referrals/{first}/follow-up", json={"made_difference": True}, headers=referrer
    )
    assert early.status == 409
    assert "not awaiting follow-up" in (await early.json())["error"]
    assert await referral_api.world.state(handle) == before

    resp = await referral_api.http.post(
        f"/api/referrals/{first}/withdraw",
        json={"reason": "resident moved away"},
        headers=referrer,
    )
    assert resp.status == 200, await resp.text()
    view = await resp.json()
    assert view["status"] == "withdrawn"
    assert [leg["state"] for leg in view["legs"]] == ["withdrawn"]
    again = await referral_api.http.post(
        f"/api/referrals/{first}/withdraw", json={"reason": "twice"}, headers=referrer
    )
    assert again.status == 409

    resp = await referral_api.http.post(
        f"/api/referrals/{second}/withdraw-consent",
        json={"reason": "resident asked us to delete their details"},
        headers=referrer,
    )
    assert resp.status == 200, await resp.text()
    view = await resp.json()
    assert view["status"] == "consent_withdrawn"
    assert view["personal_data_erased"] is True
    assert [leg["state"] for leg in view["legs"]] == ["withdrawn"]
    read = await referral_api.until(second, referrer, lambda b: b["personal_data_erased"])
    assert read["personal"] is None
    async with referral_api.world.sessions() as session:
        assert await session.get(ResidentRow, second) is None

    # The withdrawn referral's workflow has ended; consent can still be withdrawn.
    await referral_api.world.client.get_workflow_handle(first).result()
    assert (await referral_api.referral(first, referrer))["personal"] is not None
    late = await referral_api.http.post(
        f"/api/referrals/{first}/withdraw-consent",
        json={"reason": "resident asked later"},
        headers=referrer,
    )
    assert late.status == 200, await late.text()
    view = await late.json()
    assert view["personal_data_erased"] is True
    assert view["status"] == "withdrawn"
    assert [leg["state"] for leg in view["legs"]] == ["withdrawn"]
    after = await referral_api.referral(first, referrer)
    assert after["personal"] is None
    assert after["consent_agency_ids"] == []
    assert after["events"][-1]["kind"] == "consent_withdrawn"
    twice = await referral_api.http.post(
        f"/api/referrals/{first}/withdraw-consent", json={"reason": "again"}, headers=referrer
    )
    assert twice.status == 409


async def test_agency_staff_refer_for_their_own_agency(referral_api: ReferralApi) -> None:
    desk = await referral_api.user(Role.AGENCY, "council-desk", "council")
    raw = submission().model_dump(mode="json")
    raw["referrer"]["agency_id"] = "police"
    assert (await referral_api.http.post("/api/referrals", json=raw, headers=desk)).status == 422
    raw["referrer"]["agency_id"] = None
    number = await referral_api.submit(desk, raw)
    async with referral_api.world.sessions() as session:
        row = await session.get(ReferralRow, number)
        assert row is not None
        assert row.referrer_agency_id == "council"
    bad = await referral_api.http.post("/api/referrals", json={"source": "pigeon"}, headers=desk)
    assert bad.status == 422
    fields = {d["field"] for d in (await bad.json())["detail"]}
    assert {"source", "ward", "resident", "needs", "referrer"} <= fields


async def test_submission_temporal_refuses_keeps_nothing(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions, api: TestClient, bearer: Any
) -> None:
    body = submission().model_dump(mode="json")
    async with sessions.begin() as session:
        await save_directory(session, directory("http://127.0.0.1:9/hook"))
    # Temporal unreachable: refused before anything is written.
    resp = await api.post("/api/referrals", json=body, headers=await bearer(Role.REFERRER))
    assert resp.status == 503
    # Temporal reachable but the start refused (the number is taken there): the rows go again.
    prefix = "".join(random.choices(string.ascii_uppercase, k=6))
    client = time_skipping_env.client
    taken = await client.start_workflow(
        REFERRAL_WORKFLOW,
        referral_input(
            f"{prefix}-{datetime.now(UTC).year}-000001",
            submission(),
            submitted_by="someone",
            today=datetime.now(UTC).date(),
        ),
        id=f"{prefix}-{datetime.now(UTC).year}-000001",
        task_queue=f"idle-{prefix}",
    )
    app = create_app(
        sessions=sessions,
        temporal=StaticTemporal(client),
        task_queue="q",
        referral_config=ReferralConfig(number_prefix=prefix),
    )
    async with TestClient(TestServer(app)) as http:
        resp = await http.post("/api/referrals", json=body, headers=await bearer(Role.REFERRER))
        assert resp.status == 503
        assert "nothing was kept" in (await resp.json())["error"]
    await taken.terminate()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ReferralRow)) == 0
        assert await session.scalar(select(func.count()).select_from(ResidentRow)) == 0


async def test_each_agency_sees_only_the_need_sent_to_it(referral_api: ReferralApi) -> None:
    referrer = await referral_api.user(Role.REFERRER, "reach-out-1")
    cab = await referral_api.user(Role.AGENCY, "cab-intake", "cab")
    council = await referral_api.user(Role.AGENCY, "council-housing", "council")
    two = submission(
        Need(category="benefits_debt", notes="Rent arrears"),
        Need(category="housing", notes="Damp flat"),
    )
    number = await referral_api.submit(referrer, two.model_dump(mode="json"))
    await referral_api.until(number, referrer, lambda b: len(b["legs"]) == 2)
    for headers, agency, need, note in (
        (cab, "cab", "N1", "Rent arrears"),
        (council, "council", "N2", "Damp flat"),
    ):
        seen = await referral_api.referral(number, headers)
        assert [leg["agency_id"] for leg in seen["legs"]] == [agency]
        assert [n["need_id"] for n in seen["needs"]] == [need]
        assert [n["need_id"] for n in seen["live"]["needs"]] == [need]
        assert seen["personal"]["need_notes"] == {need: note}
        assert all(e["need_id"] in (None, need) for e in seen["events"])


async def test_bodies_take_json_types_exactly_as_documented(
    api: TestClient, bearer: Any, sessions: Sessions
) -> None:
    raw = submission().model_dump(mode="json")
    raw["consent"]["given_at"] = 0
    resp = await api.post("/api/referrals", json=raw, headers=await bearer(Role.REFERRER))
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["field"] == "consent.given_at"
    raw = submission().model_dump(mode="json")
    raw["resident"]["date_of_birth"] = 0
    resp = await api.post("/api/referrals", json=raw, headers=await bearer(Role.REFERRER))
    assert resp.status == 422
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ReferralRow)) == 0


async def test_read_model_answers_when_no_worker_does(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions, bearer: Any
) -> None:
    prefix = "".join(random.choices(string.ascii_uppercase, k=6))
    number = f"{prefix}-2026-000001"
    sub = submission()
    now = datetime.now(UTC)
    await save_referral(sessions, number, sub, submitted_by="test-referrer", at=now)
    idle = await time_skipping_env.client.start_workflow(
        REFERRAL_WORKFLOW,
        referral_input(number, sub, submitted_by="test-referrer", today=now.date()),
        id=number,
        task_queue=f"nobody-polls-{prefix}",
    )
    app = create_app(
        sessions=sessions, temporal=StaticTemporal(time_skipping_env.client), task_queue="q"
    )
    try:
        async with TestClient(TestServer(app)) as http, asyncio.timeout(15):
            resp = await http.get(f"/api/referrals/{number}", headers=await bearer(Role.REFERRER))
            assert resp.status == 200, await resp.text()
            body = await resp.json()
            assert body["live"] is None
            assert body["personal"]["resident"]["name"] == RESIDENT_NAME
    finally:
        await idle.terminate()
