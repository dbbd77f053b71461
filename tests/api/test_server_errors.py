"""Every error the real server can give is a JSON problem with the security headers.

The server is the API on ``ApiRunner`` and a real TCP socket, as ``partnerflow api`` serves it;
requests aiohttp's HTTP parser refuses are sent as raw bytes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from api.app import create_app
from api.http.parser_errors import ApiRunner
from domain.access import Role
from store.db import Sessions
from store.tokens import issue_token
from tests.conftest import UnreachableTemporal


@pytest_asyncio.fixture
async def server(sessions: Sessions) -> AsyncIterator[tuple[str, int]]:
    app = create_app(sessions=sessions, temporal=UnreachableTemporal(), task_queue="unused")
    runner = ApiRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sock: Any = site._server
    try:
        yield "127.0.0.1", sock.sockets[0].getsockname()[1]
    finally:
        await runner.cleanup()


async def raw(address: tuple[str, int], request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes on a fresh connection; the status, headers and body of the answer."""
    reader, writer = await asyncio.open_connection(*address)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def assert_problem(status: int, headers: dict[str, str], body: bytes, expected: int) -> Any:
    assert status == expected
    assert headers["content-type"].startswith("application/json")
    problem = json.loads(body)
    assert problem["status"] == expected
    assert isinstance(problem["error"], str)
    assert problem["error"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["permissions-policy"].startswith("camera=()")
    return problem


@pytest.mark.parametrize(
    ("request_bytes", "needle"),
    [
        # The issue's case: an 8 KB query string, over the request line limit.
        (b"GET /oruk/taxonomies?" + b"a" * 8200 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "too long"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", "too long"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", "could not be read"),
        (b"\x16\x03\x01\x02\x00garbage, not HTTP\r\n\r\n", "not an http request"),
    ],
    ids=["long-request-line", "long-header", "malformed-header", "not-http"],
)
async def test_requests_the_parser_refuses_get_a_json_problem(
    server: tuple[str, int], request_bytes: bytes, needle: str
) -> None:
    status, headers, body = await raw(server, request_bytes)
    problem = assert_problem(status, headers, body, 400)
    assert needle in problem["error"].lower()
    assert "aaaa" not in problem["error"]  # the request is never echoed


async def test_404_405_413_and_401_on_the_real_server_are_json(
    server: tuple[str, int], sessions: Sessions
) -> None:
    base = f"http://{server[0]}:{server[1]}"
    _, token = await issue_token(sessions, subject="admin", role=Role.ADMIN)
    admin = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        cases = [
            (http.get(f"{base}/no/such/route"), 404),
            (http.get(f"{base}/api/no-such-endpoint", headers=admin), 404),
            (http.delete(f"{base}/healthz"), 405),
            (http.post(f"{base}/api/tokens", data=b"x" * (1024 * 1024 + 1), headers=admin), 413),
            (http.get(f"{base}/api/me"), 401),
            (http.get(f"{base}/static/no-such-file.css"), 404),
        ]
        for call, expected in cases:
            async with call as resp:
                raw_headers = {k.lower(): v for k, v in resp.headers.items()}
                assert_problem(resp.status, raw_headers, await resp.read(), expected)
                if expected == 405:
                    assert "GET" in resp.headers["Allow"]
