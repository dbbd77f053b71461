from aiohttp.test_utils import TestClient, TestServer
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from store.db import Sessions
from tests.conftest import StaticTemporal


async def test_healthz_is_public(api: TestClient) -> None:
    resp = await api.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}


async def test_readyz_says_why_temporal_is_not_ready(api: TestClient) -> None:
    resp = await api.get("/readyz")
    assert resp.status == 503
    body = await resp.json()
    assert body["ready"] is False
    assert body["checks"]["database"] == "ok"
    assert "connection refused" in body["checks"]["temporal"]


async def test_readyz_ok_with_a_real_temporal(
    sessions: Sessions, time_skipping_env: WorkflowEnvironment
) -> None:
    app = create_app(
        sessions=sessions, temporal=StaticTemporal(time_skipping_env.client), task_queue="q"
    )
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/readyz")
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["checks"] == {"database": "ok", "temporal": "ok"}
