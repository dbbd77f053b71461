"""Replay referral histories: one recorded now (with no workflow cache, so every task
replays), and histories committed under ``histories/`` from earlier versions of the code,
so a change that would break running referrals fails here first."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from domain.directory import NeedCategory, Urgency
from domain.referral import (
    ACCEPT_UPDATE,
    ADD_NEED_UPDATE,
    DECLINE_UPDATE,
    RECORD_FOLLOW_UP_UPDATE,
    RECORD_OUTCOME_UPDATE,
    WITHDRAW_UPDATE,
    AddNeed,
    AgencyAction,
    Decline,
    FollowUp,
    NeedRef,
    Outcome,
    OutcomeCode,
    RecordOutcome,
    ReferralPolicy,
    ReferralStatus,
    ReferralView,
    Withdrawal,
)
from domain.referral_records import (
    FEED_PARTNERSHIPS,
    LOAD_DIRECTORY,
    NOTIFY_REFERRAL,
    RECORD_LEG,
    RECORD_REFERRAL,
    ROUTE_NEED,
)
from store.db import Sessions
from tests.helpers.history_events import activity_types
from tests.helpers.referral_world import REFERRER, RESIDENT_NAME, World, run_world, submission
from tests.helpers.sinks import SmtpSink, WebhookSink
from workflows.referral import ReferralWorkflow
from workflows.referral_leg import ReferralLegWorkflow

HISTORIES = Path(__file__).with_name("histories")
# Set to rewrite the committed histories from this run (after a deliberate, patched change).
WRITE = os.environ.get("PARTNERFLOW_WRITE_HISTORIES") == "1"


def replayer() -> Replayer:
    return Replayer(
        workflows=[ReferralWorkflow, ReferralLegWorkflow], data_converter=pydantic_data_converter
    )


async def test_recorded_referral_histories_replay(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    histories: list[WorkflowHistory] = []

    async def body(world: World) -> None:
        handle = await world.submit(
            submission(), ReferralPolicy(follow_up_after_days=1, follow_up_wait_days=1)
        )
        view = await world.until(handle, lambda v: len(v.legs) == 1)
        first = world.client.get_workflow_handle(view.legs[0].leg_id)
        await first.execute_update(
            DECLINE_UPDATE, Decline(agency_id="cab", actor="cab-user", reason="full this month")
        )
        view = await world.until(handle, lambda v: len(v.legs) == 2)
        second = world.client.get_workflow_handle(view.legs[1].leg_id)
        await second.execute_update(
            ACCEPT_UPDATE, AgencyAction(agency_id="charity", actor="charity-user")
        )
        await second.execute_update(
            RECORD_OUTCOME_UPDATE,
            RecordOutcome(
                agency_id="charity",
                actor="charity-user",
                outcome=Outcome(code=OutcomeCode.GOT_HELP, value=300, unit="GBP"),
            ),
        )
        await world.until(handle, lambda v: v.status is ReferralStatus.FOLLOW_UP)
        await handle.execute_update(
            RECORD_FOLLOW_UP_UPDATE, FollowUp(actor="reach-out-1", made_difference=True)
        )
        assert (await handle.result()).status is ReferralStatus.CLOSED
        for h in (handle, first, second):
            histories.append(await h.fetch_history())

    await run_world(
        time_skipping_env.client,
        sessions,
        smtp_sink,
        webhook_sink,
        body,
        max_cached_workflows=0,
    )
    # Routing runs in an activity: the directory never enters the referral's history.
    # Routing and records run as local activities, so only notices go through the server
    # (this referral's notices are all its legs').
    referral_history, _, leg_history = histories
    ordinary, local = activity_types(referral_history)
    assert local.count(ROUTE_NEED) == 2
    assert local.count(RECORD_REFERRAL) >= 5
    assert ordinary == []
    assert LOAD_DIRECTORY not in ordinary + local
    ordinary, local = activity_types(leg_history)
    # A recorded outcome is offered to the partnerships (none here takes it).
    assert set(ordinary) == {NOTIFY_REFERRAL, FEED_PARTNERSHIPS}
    assert set(local) == {RECORD_LEG}
    for history in histories:
        await replayer().replay_workflow(history)
        # Personal data stays in the store: none of it is in any payload of the history.
        payloads = b"".join(
            base64.b64decode(data)
            for data in re.findall(r'"data":\s*"([A-Za-z0-9+/=]+)"', history.to_json())
        )
        assert payloads
        for secret in (RESIDENT_NAME, "Marine Parade", "CO15 1AA", "Rent arrears", REFERRER):
            assert secret.encode() not in payloads
    if WRITE:
        referral, _, leg = histories
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / "referral.json").write_text(referral.to_json())
        (HISTORIES / "referral_leg.json").write_text(leg.to_json())


async def test_a_referral_with_an_added_need_replays(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    histories: list[WorkflowHistory] = []

    async def body(world: World) -> None:
        handle = await world.submit(submission())
        await world.until(handle, lambda v: len(v.legs) == 1)
        added = AddNeed(
            actor="reach-out-1",
            need=NeedRef(need_id="N2", category=NeedCategory.HOUSING, urgency=Urgency.URGENT),
        )
        view = await handle.execute_update(ADD_NEED_UPDATE, added, result_type=ReferralView)
        assert [n.need_id for n in view.needs] == ["N1", "N2"]
        view = await world.until(handle, lambda v: len(v.legs) == 2)
        assert {leg.agency_id for leg in view.legs} == {"cab", "council"}
        await handle.execute_update(
            WITHDRAW_UPDATE, Withdrawal(actor="reach-out-1", reason="moved away")
        )
        assert (await handle.result()).status is ReferralStatus.WITHDRAWN
        histories.append(await handle.fetch_history())

    await run_world(
        time_skipping_env.client,
        sessions,
        smtp_sink,
        webhook_sink,
        body,
        max_cached_workflows=0,
    )
    for history in histories:
        await replayer().replay_workflow(history)


async def test_committed_referral_histories_replay() -> None:
    files = sorted(HISTORIES.glob("referral*.json"))
    assert [f.name for f in files] == [
        "referral.json",
        # Recorded before records and routing became local activities (``store-steps-local``).
        "referral_before_local_store_steps.json",
        # Recorded before routing moved into an activity (the ``routing-in-activity`` patch).
        "referral_before_routing_activity.json",
        "referral_leg.json",
        "referral_leg_before_local_store_steps.json",
        # Recorded before a recorded outcome fed partnerships' indicators.
        "referral_leg_before_outcome_feed.json",
        # Withdrawn services: the same withdrawal signalled again before and after the legs
        # on it re-routed, recorded before and after each leg was told only once.
        "referral_service_withdrawn.json",
        "referral_service_withdrawn_before_patch.json",
    ]
    for file in files:
        history = WorkflowHistory.from_json(file.stem, file.read_text())
        await replayer().replay_workflow(history)
