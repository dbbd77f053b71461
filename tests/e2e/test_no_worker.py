"""An action with no worker running: the API answers 503 within its deadline, with the reason
and Retry-After, instead of hanging; once a worker runs again the caller reads the state."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from clients.temporal import CALL_DEADLINE, set_call_deadline
from domain.access import Role
from domain.referral import LegState
from store.db import Sessions
from store.tokens import issue_token
from tests.conftest import StaticTemporal
from tests.helpers.referral_parts import load_directory, referral_activities
from tests.helpers.referral_world import World, submission
from tests.helpers.sinks import SmtpSink, WebhookSink
from workflows.referral import ReferralWorkflow
from workflows.referral_leg import ReferralLegWorkflow

pytestmark = pytest.mark.e2e


async def test_an_update_with_no_worker_is_503_within_the_deadline(
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    client = dev_env.client
    await load_directory(sessions, webhook_sink.url)
    queue = f"tq-{uuid.uuid4()}"
    world = World(client, sessions, smtp_sink, webhook_sink, queue)

    def worker() -> Worker:
        return Worker(
            client,
            task_queue=queue,
            workflows=[ReferralWorkflow, ReferralLegWorkflow],
            activities=referral_activities(sessions, smtp_sink.port),
        )

    async with worker():
        handle = await world.submit(submission())
        view = await world.until(handle, lambda v: len(v.legs) == 1, within=30)
    leg_id = view.legs[0].leg_id
    # The worker has stopped: nothing polls the task queue.
    _, token = await issue_token(sessions, subject="cab-user", role=Role.AGENCY, agency_id="cab")
    agency = {"Authorization": f"Bearer {token}"}
    app = create_app(
        sessions=sessions,
        temporal=StaticTemporal(client),
        task_queue=queue,
        call_deadline=timedelta(seconds=2),
    )
    try:
        async with TestClient(TestServer(app)) as http:
            started = time.monotonic()
            resp = await http.post(f"/api/legs/{leg_id}/accept", headers=agency)
            took = time.monotonic() - started
            assert resp.status == 503, await resp.text()
            assert took < 10
            assert resp.headers["Retry-After"] == "5"
            error = (await resp.json())["error"]
            assert "no answer from the workflow within 2 s" in error
            assert "may still be applied" in error
            # Reads still answer from the store, without the workflow's live state.
            started = time.monotonic()
            read = await http.get(f"/api/referrals/{handle.id}", headers=agency)
            assert read.status == 200
            assert time.monotonic() - started < 10
            # With a worker again, the caller reads the leg's state to learn what happened.
            async with worker():
                await world.until(handle, lambda v: len(v.legs) == 1, within=30)
                body = await (await http.get(f"/api/referrals/{handle.id}", headers=agency)).json()
                assert body["legs"][0]["state"] in {LegState.SENT.value, LegState.ACCEPTED.value}
                await handle.terminate("test finished")
    finally:
        set_call_deadline(CALL_DEADLINE)
