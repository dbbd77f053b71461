from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from domain.access import Role

Bearer = Callable[..., Awaitable[dict[str, str]]]


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ("{not json", 400, "not valid JSON"),
        ("", 400, "body is required"),
        ('{"subject": "x", "role": "king"}', 422, "role"),
        ('{"subject": "x", "role": "admin", "surprise": 1}', 422, "surprise"),
        ('{"subject": 5, "role": "admin"}', 422, "subject"),
        ("[1, 2]", 422, "body"),
    ],
)
async def test_bad_input_gets_a_4xx_with_a_reason(
    api: TestClient, bearer: Bearer, body: str, status: int, needle: str
) -> None:
    resp = await api.post("/api/tokens", data=body, headers=await bearer(Role.ADMIN))
    assert resp.status == status
    assert resp.content_type == "application/json"
    assert needle in await resp.text()


async def test_oversized_body_is_413_json(api: TestClient, bearer: Bearer) -> None:
    resp = await api.post(
        "/api/tokens", data="x" * (2 * 1024 * 1024), headers=await bearer(Role.ADMIN)
    )
    assert resp.status == 413
    assert resp.content_type == "application/json"


async def test_unknown_path_and_method_are_json(api: TestClient) -> None:
    missing = await api.get("/nowhere")
    assert missing.status == 404
    assert (await missing.json())["status"] == 404
    wrong = await api.put("/healthz")
    assert wrong.status == 405
    assert wrong.content_type == "application/json"
