from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from domain.access import Role
from store.db import Sessions
from store.demo import demo_directory
from store.directory import save_directory

Bearer = Callable[..., Awaitable[dict[str, str]]]


async def test_no_token_is_401_with_challenge(api: TestClient) -> None:
    resp = await api.get("/api/me")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await resp.json())["error"] == "a valid bearer token is required"


async def test_unknown_token_is_401(api: TestClient) -> None:
    resp = await api.get("/api/me", headers={"Authorization": "Bearer pf_not-a-real-token"})
    assert resp.status == 401


async def test_token_identifies_the_caller(api: TestClient, bearer: Bearer) -> None:
    resp = await api.get("/api/me", headers=await bearer(Role.AGENCY, "cab"))
    assert resp.status == 200
    assert await resp.json() == {"subject": "test-agency", "role": "agency", "agency_id": "cab"}


async def test_wrong_role_is_403(api: TestClient, bearer: Bearer) -> None:
    resp = await api.post(
        "/api/tokens",
        json={"subject": "x", "role": "referrer"},
        headers=await bearer(Role.REFERRER),
    )
    assert resp.status == 403
    assert "admin" in (await resp.json())["error"]


async def test_admin_issues_and_revokes_tokens(
    api: TestClient, bearer: Bearer, sessions: Sessions
) -> None:
    async with sessions.begin() as session:
        await save_directory(session, demo_directory())
    admin = await bearer(Role.ADMIN)
    resp = await api.post(
        "/api/tokens",
        json={"subject": "cab-desk", "role": "agency", "agency_id": "cab", "valid_days": 30},
        headers=admin,
    )
    # No agency "cab" in the directory: nothing is issued.
    assert resp.status == 422
    body = await resp.json()
    assert body["detail"] == [{"field": "agency_id", "message": "no agency cab in the directory"}]
    resp = await api.post(
        "/api/tokens",
        json={
            "subject": "cab-desk",
            "role": "agency",
            "agency_id": "tendring-cab",
            "valid_days": 30,
        },
        headers=admin,
    )
    assert resp.status == 201
    issued = await resp.json()
    theirs = {"Authorization": f"Bearer {issued['token']}"}
    assert (await api.get("/api/me", headers=theirs)).status == 200

    assert (await api.delete(f"/api/tokens/{issued['id']}", headers=admin)).status == 204
    assert (await api.get("/api/me", headers=theirs)).status == 401
    assert (await api.delete(f"/api/tokens/{issued['id']}", headers=admin)).status == 404
