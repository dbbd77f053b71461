"""The Idempotency-Key of POST /api/outreach-sessions: a resend keeps one session, over the real
store and a real worker (time-skipping server)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from domain.access import Role
from store.schema import OutreachSessionRow
from tests.helpers.referral_api import Headers, ReferralApi

SESSION = {
    "held_on": "2026-11-02",
    "ward": "pier",
    "area": "Pier Avenue and Rosemary Road",
    "doors_knocked": 40,
    "conversations": 22,
    "residents_helped": 19,
    "referrals_made": 6,
}


async def _kept(api: ReferralApi) -> int:
    async with api.world.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OutreachSessionRow)) or 0)


async def _post(
    api: ReferralApi, headers: Headers, body: dict[str, Any], key: str | None = None
) -> tuple[int, dict[str, Any], str | None]:
    extra = {"Idempotency-Key": key} if key is not None else {}
    resp = await api.http.post("/api/outreach-sessions", json=body, headers={**headers, **extra})
    return resp.status, await resp.json(), resp.headers.get("Idempotent-Replayed")


async def test_a_resend_under_the_same_key_keeps_one_session(referral_api: ReferralApi) -> None:
    worker = await referral_api.user(Role.REFERRER, "reach-out-7")
    status, first, replayed = await _post(referral_api, worker, SESSION, "device-1:session-1")
    assert (status, replayed) == (201, None), first
    status, again, replayed = await _post(referral_api, worker, SESSION, "device-1:session-1")
    assert (status, replayed) == (201, "true"), again
    assert again["session"] == first["session"]
    assert await _kept(referral_api) == 1

    # Two copies at once (the device's retry racing the first): still one session.
    both = await asyncio.gather(
        *(_post(referral_api, worker, SESSION, "device-1:session-2") for _ in range(2))
    )
    assert {b[0] for b in both} == {201}
    assert len({b[1]["session"]["session_id"] for b in both}) == 1
    assert await _kept(referral_api) == 2

    # The key is the caller's own: another worker's same key is another session.
    other = await referral_api.user(Role.REFERRER, "reach-out-8")
    status, theirs, _ = await _post(referral_api, other, SESSION, "device-1:session-1")
    assert status == 201
    assert theirs["session"]["session_id"] != first["session"]["session_id"]
    assert await _kept(referral_api) == 3

    # Without a key, every post is a session of its own.
    for _ in range(2):
        assert (await _post(referral_api, worker, SESSION))[0] == 201
    assert await _kept(referral_api) == 5


async def test_the_same_key_with_other_figures_is_refused(referral_api: ReferralApi) -> None:
    worker = await referral_api.user(Role.REFERRER, "reach-out-7")
    assert (await _post(referral_api, worker, SESSION, "k-1"))[0] == 201
    status, problem, _ = await _post(referral_api, worker, {**SESSION, "doors_knocked": 41}, "k-1")
    assert status == 409
    assert problem["error"] == "this Idempotency-Key was used for a different session"
    status, problem, _ = await _post(referral_api, worker, SESSION, "with space")
    assert status == 400
    assert "Idempotency-Key" in problem["error"]
    assert await _kept(referral_api) == 1
