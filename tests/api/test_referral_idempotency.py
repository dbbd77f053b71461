"""The Idempotency-Key of POST /api/referrals: a resend makes no second referral, over a real
worker (time-skipping server), the real store and two API processes' worth of apps."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from api.app import create_app
from api.referrals import ReferralConfig
from domain.access import Role
from store.schema import ReferralRow
from tests.conftest import StaticTemporal
from tests.helpers.referral_api import Headers, ReferralApi
from tests.helpers.referral_world import submission


def _body() -> dict[str, Any]:
    return submission().model_dump(mode="json")


async def _referrals(api: ReferralApi) -> int:
    async with api.world.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ReferralRow)) or 0)


async def _post(
    http: TestClient[Any, Any], headers: Headers, key: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any], str | None]:
    resp = await http.post("/api/referrals", json=body, headers={**headers, "Idempotency-Key": key})
    return resp.status, await resp.json(), resp.headers.get("Idempotent-Replayed")


async def test_same_key_and_body_answers_with_the_first_number_and_makes_one_referral(
    referral_api: ReferralApi,
) -> None:
    referrer = await referral_api.user(Role.REFERRER, "reach-out-7")
    key = str(uuid.uuid4())
    status, first, replayed = await _post(referral_api.http, referrer, key, _body())
    assert (status, replayed) == (201, None), first
    # The first answer was lost on the way: the device sends the same referral again.
    status, again, replayed = await _post(referral_api.http, referrer, key, _body())
    assert (status, replayed) == (201, "true"), again
    assert again["number"] == first["number"]
    assert again["created_at"] == first["created_at"]
    assert await _referrals(referral_api) == 1
    # Another key is another referral; the key belongs to its caller, not to everyone.
    other = await referral_api.user(Role.REFERRER, "reach-out-8")
    status, theirs, _ = await _post(referral_api.http, other, key, _body())
    assert status == 201
    assert theirs["number"] != first["number"]
    assert await _referrals(referral_api) == 2


async def test_same_key_with_another_body_is_refused_with_the_reason(
    referral_api: ReferralApi,
) -> None:
    referrer = await referral_api.user(Role.REFERRER, "reach-out-7")
    key = "device-1:referral-42"
    assert (await _post(referral_api.http, referrer, key, _body()))[0] == 201
    changed = _body()
    changed["ward"] = "frinton"
    status, problem, _ = await _post(referral_api.http, referrer, key, changed)
    assert status == 409
    assert problem["error"] == "this Idempotency-Key was used for a different referral"
    assert await _referrals(referral_api) == 1


async def test_a_malformed_key_is_refused_naming_the_header_and_nothing_kept(
    referral_api: ReferralApi,
) -> None:
    referrer = await referral_api.user(Role.REFERRER, "reach-out-7")
    for bad in ("", "with space", "x" * 201, "caf\u00e9"):
        resp = await referral_api.http.post(
            "/api/referrals",
            json=_body(),
            headers={**referrer, "Idempotency-Key": bad.encode().decode("latin-1")},
        )
        assert resp.status == 400, bad
        assert "Idempotency-Key" in (await resp.json())["error"]
    assert await _referrals(referral_api) == 0


async def test_a_refused_submission_does_not_use_up_its_key(referral_api: ReferralApi) -> None:
    referrer = await referral_api.user(Role.REFERRER, "reach-out-7")
    key = str(uuid.uuid4())
    wrong = _body()
    wrong["ward"] = "atlantis"
    status, problem, _ = await _post(referral_api.http, referrer, key, wrong)
    assert status == 422
    assert problem["detail"][0]["field"] == "ward"
    # Fixed on the device and sent again under the same key: now it is made.
    status, created, replayed = await _post(referral_api.http, referrer, key, _body())
    assert (status, replayed) == (201, None), created
    assert await _referrals(referral_api) == 1


async def test_copies_racing_through_two_api_processes_make_one_referral(
    referral_api: ReferralApi,
) -> None:
    world = referral_api.world
    second_process = create_app(
        sessions=world.sessions,
        temporal=StaticTemporal(world.client),
        task_queue=world.task_queue,
        referral_config=ReferralConfig(number_prefix=world.prefix),
    )
    referrer = await referral_api.user(Role.REFERRER, "reach-out-7")
    key = str(uuid.uuid4())
    async with TestClient(TestServer(second_process)) as other:
        answers = await asyncio.gather(
            *(_post(http, referrer, key, _body()) for http in (referral_api.http, other) * 3)
        )
    made = [a for a in answers if a[0] == 201]
    assert made, answers
    assert {a[1]["number"] for a in made} == {made[0][1]["number"]}
    # Those that arrived while the first was being made are told to send again, not dropped.
    for status, body, _ in answers:
        if status != 201:
            assert status == 409, body
            assert "still being made" in body["error"], body
    assert await _referrals(referral_api) == 1
    status, again, replayed = await _post(referral_api.http, referrer, key, _body())
    assert (status, replayed, again["number"]) == (201, "true", made[0][1]["number"])
