"""The referral API over a real worker on the time-skipping server: tokens, polling, a borough."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.find.site import FindConfig
from api.referrals import ReferralConfig
from domain.access import Role
from domain.directory import Directory
from domain.referral import ReferralPolicy
from store.db import Sessions
from store.tokens import issue_token
from tests.conftest import StaticTemporal
from tests.helpers.referral_world import LINK_KEYS, World, open_world, submission
from tests.helpers.sinks import SmtpSink, WebhookSink

Headers = dict[str, str]


@dataclass
class ReferralApi:
    """An HTTP client on the real app, the worker's world, and a way to make callers."""

    http: TestClient[Any, Any]
    world: World

    async def user(self, role: Role, subject: str, agency_id: str | None = None) -> Headers:
        """A bearer header for a new token."""
        _, token = await issue_token(
            self.world.sessions, subject=subject, role=role, agency_id=agency_id
        )
        return {"Authorization": f"Bearer {token}"}

    async def submit(self, headers: Headers, body: dict[str, Any] | None = None) -> str:
        """Submit the borough's standard referral (or ``body``); its number."""
        payload = body if body is not None else submission().model_dump(mode="json")
        resp = await self.http.post("/api/referrals", json=payload, headers=headers)
        assert resp.status == 201, await resp.text()
        return str((await resp.json())["number"])

    async def referral(self, number: str, headers: Headers) -> dict[str, Any]:
        """GET one referral (must be visible)."""
        resp = await self.http.get(f"/api/referrals/{number}", headers=headers)
        assert resp.status == 200, await resp.text()
        body: dict[str, Any] = await resp.json()
        return body

    async def until(
        self,
        number: str,
        headers: Headers,
        check: Callable[[dict[str, Any]], bool],
        within: float = 20.0,
    ) -> dict[str, Any]:
        """GET the referral until ``check`` holds."""
        async with asyncio.timeout(within):
            while True:
                body = await self.referral(number, headers)
                if check(body):
                    return body
                await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def open_api(
    env: WorkflowEnvironment,
    sessions: Sessions,
    smtp: SmtpSink,
    webhooks: WebhookSink,
    *,
    policy: ReferralPolicy | None = None,
    borough: Directory | None = None,
) -> AsyncIterator[ReferralApi]:
    """Run a worker with the referral workflows, serve the API over its client, yield both."""
    async with open_world(env.client, sessions, smtp, webhooks, borough=borough) as world:
        app = create_app(
            sessions=sessions,
            temporal=StaticTemporal(world.client),
            task_queue=world.task_queue,
            referral_config=ReferralConfig(
                number_prefix=world.prefix, policy=policy or ReferralPolicy()
            ),
            find_config=FindConfig(link_keys=LINK_KEYS),
        )
        async with TestClient(TestServer(app)) as http:
            yield ReferralApi(http, world)


async def run_api(
    env: WorkflowEnvironment,
    sessions: Sessions,
    smtp: SmtpSink,
    webhooks: WebhookSink,
    body: Callable[[ReferralApi], Awaitable[None]],
    *,
    policy: ReferralPolicy | None = None,
    borough: Directory | None = None,
) -> None:
    """Run ``body`` with the API opened as :func:`open_api` does."""
    async with open_api(env, sessions, smtp, webhooks, policy=policy, borough=borough) as api:
        await body(api)
