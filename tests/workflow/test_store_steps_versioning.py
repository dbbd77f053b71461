"""Records and routing as local activities (the ``store-steps-local`` patch) leave referrals
started before the change alone: one in flight across the upgrade finishes on the new code
with ordinary activities, as it started, and its histories replay. Histories recorded before
the change are replayed in ``test_referral_replay``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from temporalio import workflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from domain.referral import (
    LegState,
    LegView,
    ReferralPolicy,
    ReferralStatus,
    leg_id,
)
from domain.referral_records import RECORD_LEG, RECORD_REFERRAL, ROUTE_NEED
from store.db import Sessions
from store.referrals import get_referral
from tests.helpers.history_events import activity_types, patch_ids
from tests.helpers.referral_parts import load_directory, referral_activities
from tests.helpers.referral_world import World, submission
from tests.helpers.sinks import SmtpSink, WebhookSink
from workflows import store_steps
from workflows.referral import ReferralWorkflow
from workflows.referral_leg import ReferralLegWorkflow
from workflows.store_steps import LOCAL_STORE_STEPS

_patched = workflow.patched


@contextmanager
def code_before_the_patch() -> Iterator[None]:
    """Workers started inside run the code as it was before ``store-steps-local``: the patch
    is never taken and leaves no marker."""

    def patched(patch_id: str) -> bool:
        return False if patch_id == LOCAL_STORE_STEPS else _patched(patch_id)

    with mock.patch.object(store_steps.workflow, "patched", patched):
        yield


async def test_referral_in_flight_across_the_upgrade_keeps_ordinary_activities(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    client = time_skipping_env.client
    await load_directory(sessions, webhook_sink.url)
    activities = referral_activities(sessions, smtp_sink.port)
    queue = f"tq-{uuid.uuid4()}"
    world = World(client, sessions, smtp_sink, webhook_sink, queue)
    workflows = [ReferralWorkflow, ReferralLegWorkflow]

    def worker() -> Worker:
        # No cache: nothing of a run outlives its worker, and every task replays its history.
        return Worker(
            client,
            task_queue=queue,
            workflows=workflows,
            activities=activities,
            max_cached_workflows=0,
        )

    with code_before_the_patch():
        async with worker():
            handle = await world.submit(
                submission(), ReferralPolicy(follow_up_after_days=1, follow_up_wait_days=1)
            )
            view = await world.until(handle, lambda v: len(v.legs) == 1, within=30)
    leg = client.get_workflow_handle(leg_id(handle.id, 1), result_type=LegView)
    assert view.legs[0].state is LegState.SENT
    ordinary, local = activity_types(await handle.fetch_history())
    assert {RECORD_REFERRAL, ROUTE_NEED} <= set(ordinary)
    assert local == []

    # The upgraded worker replays every task from the old history first.
    async with worker():
        assert (await world.close_loop(handle, leg.id)).status is ReferralStatus.CLOSED
        assert (await leg.result()).state is LegState.CLOSED

    replayer = Replayer(workflows=workflows, data_converter=pydantic_data_converter)
    for history in (await handle.fetch_history(), await leg.fetch_history()):
        # Recorded on both sides of the upgrade, the run kept its ordinary activities.
        assert LOCAL_STORE_STEPS not in patch_ids(history)
        ordinary, local = activity_types(history)
        assert local == []
        assert {RECORD_REFERRAL, RECORD_LEG} & set(ordinary)
        await replayer.replay_workflow(history)
    # Written after the upgrade too: the referral's close is in the store.
    stored = await get_referral(sessions, handle.id)
    assert stored is not None
    assert stored.summary.status == ReferralStatus.CLOSED.value
