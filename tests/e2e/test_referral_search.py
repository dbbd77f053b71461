"""Referrals are findable on a real Temporal server by their search attributes.

The directory sync finds the referrals to re-route with ``PfWaitingOn``; operations staff
filter by status, ward, agency and urgency in the Temporal UI and CLI.
"""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.directory import SERVICE_WITHDRAWN_SIGNAL, ServiceWithdrawn
from domain.referral import WITHDRAW_UPDATE, LegState, Need, Withdrawal
from store.db import Sessions
from tests.helpers.referral_world import World, run_world, submission
from tests.helpers.sinks import SmtpSink, WebhookSink

pytestmark = pytest.mark.e2e


async def _found(client: Client, query: str, number: str) -> None:
    # Visibility is eventually consistent: poll briefly.
    async with asyncio.timeout(20):
        while True:
            ids = [w.id async for w in client.list_workflows(query)]
            if number in ids:
                return
            await asyncio.sleep(0.2)


async def test_referrals_are_listed_by_search_attributes(
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    async def body(world: World) -> None:
        handle = await world.submit(
            submission(Need(category="benefits_debt", urgency="urgent"), Need(category="housing"))
        )
        view = await world.until(handle, lambda v: len(v.legs) == 2)
        number = view.number
        # When the workers are behind, the urgent need's work is taken first (1 runs first,
        # 3 is the default): the referral at its most urgent need's, each leg at its own.
        priorities = {
            workflow_id: (
                await world.client.get_workflow_handle(workflow_id).describe()
            ).raw_description.workflow_execution_info.priority.priority_key
            for workflow_id in (number, *(leg.leg_id for leg in view.legs))
        }
        urgent_leg = next(leg.leg_id for leg in view.legs if leg.need_id == "N1")
        routine_leg = next(leg.leg_id for leg in view.legs if leg.need_id == "N2")
        assert priorities == {number: 2, urgent_leg: 2, routine_leg: 3}
        await _found(
            world.client,
            'PfKind = "referral" AND PfWaitingOn = "cab-debt" AND PfWard = "pier" '
            'AND PfUrgency = "urgent" AND PfStatus = "open" AND PfAgencies = "council" '
            "AND PfBreached = false AND PfNextDeadline IS NOT NULL",
            number,
        )
        await handle.signal(
            SERVICE_WITHDRAWN_SIGNAL, ServiceWithdrawn(service_id="cab-debt", reason="removed")
        )
        await world.until(handle, lambda v: len(v.legs) == 3 and v.legs[2].state is LegState.SENT)
        await _found(world.client, 'PfWaitingOn = "charity-debt"', number)
        await handle.execute_update(
            WITHDRAW_UPDATE, Withdrawal(actor="reach-out-1", reason="resident moved away")
        )
        await handle.result()
        await _found(world.client, 'PfKind = "referral" AND PfStatus = "withdrawn"', number)

    await run_world(dev_env.client, sessions, smtp_sink, webhook_sink, body)
