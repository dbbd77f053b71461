"""Referrals recorded before consent-first routing, offers, the co-ordinator's queue and the
outcome deadline still replay on the new code.

The histories under ``histories/before_routing_rules_*.json`` were recorded from the code as
it was before those changes (``PARTNERFLOW_WRITE_HISTORIES=1`` on that code writes them):
a need signposted to a service the resident never consented to, a need left unallocated, a leg
whose agency stayed silent until it expired, and an accepted leg that took weeks to record its
outcome. Each path changed behind its own ``workflow.patched`` id, so these runs keep the old
behaviour when they replay.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from domain.directory import NeedCategory
from domain.referral import (
    ACCEPT_UPDATE,
    DECLINE_UPDATE,
    FINAL_REFERRAL_STATUSES,
    RECORD_FOLLOW_UP_UPDATE,
    RECORD_OUTCOME_UPDATE,
    START_UPDATE,
    WITHDRAW_UPDATE,
    AgencyAction,
    Decline,
    FollowUp,
    Need,
    NeedState,
    Outcome,
    OutcomeCode,
    RecordOutcome,
    ReferralPolicy,
    ReferralStatus,
    ReferralView,
    Withdrawal,
)
from store.db import Sessions
from tests.helpers.referral_world import World, run_world, submission
from tests.helpers.sinks import SmtpSink, WebhookSink
from workflows.referral import ReferralWorkflow
from workflows.referral_leg import ReferralLegWorkflow

HISTORIES = Path(__file__).with_name("histories")
PREFIX = "before_routing_rules_"
WRITE = os.environ.get("PARTNERFLOW_WRITE_HISTORIES") == "1"
NAMES = [
    "referral_leg_slow_outcome",
    "referral_signposted_unconsented",
    "referral_silent_then_declined",
    "referral_slow_outcome",
    "referral_unallocated",
]


def replayer() -> Replayer:
    return Replayer(
        workflows=[ReferralWorkflow, ReferralLegWorkflow], data_converter=pydantic_data_converter
    )


async def test_histories_recorded_before_the_routing_rules_replay() -> None:
    files = sorted(HISTORIES.glob(f"{PREFIX}*.json"))
    assert [f.stem.removeprefix(PREFIX) for f in files] == NAMES
    for file in files:
        await replayer().replay_workflow(WorkflowHistory.from_json(file.stem, file.read_text()))


async def test_record_scenarios_on_this_code(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    """The scenarios run and replay on the current code (and, with the variable set on the
    code before a change, write the histories that the test above keeps replaying)."""
    histories: dict[str, WorkflowHistory] = {}
    env = time_skipping_env

    async def body(world: World) -> None:
        # A need whose best service the resident did not consent to, one with a service of an
        # agency outside the consent, and one no service meets.
        handle = await world.submit(
            submission(
                Need(category=NeedCategory.BENEFITS_DEBT),
                Need(category=NeedCategory.COMMUNITY_SAFETY),
                Need(category=NeedCategory.HEALTH),
                consent=("charity",),
            )
        )
        await world.until(handle, lambda v: all(n.state is not NeedState.ROUTING for n in v.needs))
        histories["referral_signposted_unconsented"] = await _finish(world, handle)

        handle = await world.submit(submission(Need(category=NeedCategory.HEALTH)))
        await world.until(handle, lambda v: v.needs[0].state is NeedState.UNALLOCATED)
        histories["referral_unallocated"] = await _finish(world, handle)

        # CAB stays silent until its leg expires; the charity then declines.
        handle = await world.submit(
            submission(consent=("cab", "charity")), ReferralPolicy(escalate_after_days=1)
        )
        await world.until(handle, lambda v: len(v.legs) == 1)
        await env.sleep(timedelta(days=12))
        view = await world.until(handle, lambda v: len(v.legs) == 2)
        charity = world.client.get_workflow_handle(view.legs[1].leg_id)
        await charity.execute_update(
            DECLINE_UPDATE, Decline(agency_id="charity", actor="charity-user", reason="full")
        )
        await world.until(handle, lambda v: v.needs[0].state is not NeedState.REFERRED)
        histories["referral_silent_then_declined"] = await _finish(world, handle)

        # CAB accepts, starts, and records the outcome six weeks later.
        handle = await world.submit(
            submission(), ReferralPolicy(follow_up_after_days=1, follow_up_wait_days=1)
        )
        view = await world.until(handle, lambda v: len(v.legs) == 1)
        leg = world.client.get_workflow_handle(view.legs[0].leg_id)
        cab = AgencyAction(agency_id="cab", actor="cab-user")
        await leg.execute_update(ACCEPT_UPDATE, cab)
        await leg.execute_update(START_UPDATE, cab)
        await env.sleep(timedelta(days=42))
        await leg.execute_update(
            RECORD_OUTCOME_UPDATE,
            RecordOutcome(
                agency_id="cab", actor="cab-user", outcome=Outcome(code=OutcomeCode.GOT_HELP)
            ),
        )
        await world.until(handle, lambda v: v.status is ReferralStatus.FOLLOW_UP)
        await handle.execute_update(
            RECORD_FOLLOW_UP_UPDATE, FollowUp(actor="reach-out-1", made_difference=True)
        )
        histories["referral_slow_outcome"] = await _finish(world, handle)
        await leg.result()
        histories["referral_leg_slow_outcome"] = await leg.fetch_history()

    await run_world(env.client, sessions, smtp_sink, webhook_sink, body, max_cached_workflows=0)
    assert sorted(histories) == NAMES
    for history in histories.values():
        await replayer().replay_workflow(history)
    if WRITE:
        for name, history in histories.items():
            (HISTORIES / f"{PREFIX}{name}.json").write_text(history.to_json())


async def _finish(world: World, handle: WorkflowHandle[Any, ReferralView]) -> WorkflowHistory:
    """The referral's history once it has ended: withdrawn if it still waits for someone."""
    try:
        await world.until(handle, lambda v: v.status in FINAL_REFERRAL_STATUSES, within=5)
    except TimeoutError:
        await handle.execute_update(WITHDRAW_UPDATE, Withdrawal(actor="test", reason="done"))
    await handle.result()
    return await handle.fetch_history()
