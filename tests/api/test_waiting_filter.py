"""The referral list's "waiting on" filter through the API."""

from typing import Any

from aiohttp.test_utils import TestClient

from domain.access import Role
from store.db import Sessions
from tests.store.test_waiting import _seed


async def test_the_api_lists_referrals_by_who_must_act(
    api: TestClient[Any, Any], bearer: Any, sessions: Sessions
) -> None:
    await _seed(sessions)
    ops = await bearer(Role.OPERATIONS)
    resp = await api.get("/api/referrals", params={"waiting_on": "coordinator"}, headers=ops)
    assert resp.status == 200, await resp.text()
    assert sorted(r["number"] for r in (await resp.json())["items"]) == ["R5", "R6"]
    resp = await api.get(
        "/api/referrals", params={"waiting_on": "agency", "agency_id": "cab"}, headers=ops
    )
    assert sorted(r["number"] for r in (await resp.json())["items"]) == ["R1", "R2", "R3"]
    bad = await api.get("/api/referrals", params={"waiting_on": "nobody"}, headers=ops)
    assert bad.status == 422
    assert "waiting_on" in await bad.text()
