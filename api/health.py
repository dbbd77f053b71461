"""Liveness, readiness and the OpenAPI document."""

from __future__ import annotations

import asyncio

from aiohttp import web
from pydantic import BaseModel

from api.http.routing import Call, RouteTable, json_response
from api.http.state import SESSIONS, TEMPORAL
from clients.temporal import connect
from store.db import ping

routes = RouteTable("system")

OPENAPI = web.AppKey("openapi", dict)


class Health(BaseModel):
    """The process is alive."""

    status: str = "ok"


class Readiness(BaseModel):
    """Whether the dependencies answer, each with the reason when not."""

    ready: bool
    checks: dict[str, str]


@routes.route("GET", "/healthz", summary="The process is alive", public=True, response=Health)
async def healthz(_call: Call) -> Health:
    """Answers as long as the process serves requests."""
    return Health()


@routes.route(
    "GET",
    "/readyz",
    summary="Temporal and the database answer",
    public=True,
    response=Readiness,
    also=(503,),
)
async def readyz(call: Call) -> web.Response:
    """200 when Temporal and the database both answer; 503 with the reasons when not."""
    app = call.request.app
    checks = dict(
        zip(
            ("database", "temporal"),
            await asyncio.gather(_check_database(app), _check_temporal(app)),
            strict=True,
        )
    )
    ready = all(v == "ok" for v in checks.values())
    return json_response(Readiness(ready=ready, checks=checks), 200 if ready else 503)


async def _check_database(app: web.Application) -> str:
    try:
        async with asyncio.timeout(3):
            await ping(app[SESSIONS])
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}: {exc}"[:300]
    return "ok"


async def _check_temporal(app: web.Application) -> str:
    try:
        async with asyncio.timeout(3):
            client = await connect(app[TEMPORAL])
            await client.service_client.check_health()
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}: {exc}"[:300]
    return "ok"


@routes.route(
    "GET",
    "/api/openapi.json",
    summary="This API described in OpenAPI 3.1",
    public=True,
)
async def openapi(call: Call) -> web.Response:
    """The OpenAPI document of every endpoint."""
    return web.json_response(call.request.app[OPENAPI])
