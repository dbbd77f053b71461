"""Running a PartnershipWorkflow in tests: a worker with the real activities, and shortcuts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.notify import Notifier, NotifierConfig
from activities.partner_requests import PartnerLinkConfig, PartnerRequests
from activities.partnerships import PartnershipRecords
from domain.partnership import (
    ApprovePlan,
    Command,
    CompleteNegotiation,
    PartnershipState,
    Policy,
    action_for,
    new_partnership,
)
from domain.signed_link import LinkKeys
from store.db import Sessions
from tests.helpers import partnership_scenario as sc
from tests.helpers.sinks import WEBHOOK_SECRET, SmtpSink
from workers.worker import INTERCEPTORS
from workflows.partnership import ActionResult, PartnershipInput, PartnershipWorkflow
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

Handle = WorkflowHandle[PartnershipWorkflow, PartnershipState]

LINK_KEYS = LinkKeys.from_secrets(["partner links in tests"])
"""The link key the test workers sign partners' links with (give it to the app to verify)."""
PARTNER_LINK_BASE = "http://dashboard.test"


def partner_requests(notifier: Notifier) -> Any:
    """The partner request activity, signing links with the tests' key."""
    config = PartnerLinkConfig(public_url=PARTNER_LINK_BASE, link_keys=LINK_KEYS)
    return PartnerRequests(notifier, config).send_partner_request


def partnership_worker(client: Client, sessions: Sessions, smtp: SmtpSink) -> Worker:
    """A worker on a fresh task queue with the partnership workflow and its real activities."""
    notifier = Notifier(
        NotifierConfig(smtp_port=smtp.port, webhook_secrets=(WEBHOOK_SECRET,), sender="pf@test"),
        sessions,
    )
    records = PartnershipRecords(sessions)
    return Worker(
        client,
        task_queue=f"tq-{uuid.uuid4()}",
        workflows=[PartnershipWorkflow],
        activities=[
            notifier.send_email,
            notifier.send_webhook,
            records.record_partnership,
            partner_requests(notifier),
        ],
        interceptors=INTERCEPTORS,
    )


async def start(
    env: WorkflowEnvironment,
    worker: Worker,
    *,
    strategic: bool = True,
    policy: Policy | None = None,
) -> Handle:
    """Start a new Interaction Partnership in Negotiate, created at the server's time."""
    await register_search_attributes(env)
    pid = f"ip-{uuid.uuid4().hex[:8]}"
    now = await env.get_current_time()
    state = new_partnership(sc.new_partnership(pid, strategic=strategic, policy=policy), now)
    return await env.client.start_workflow(
        PartnershipWorkflow.run,
        PartnershipInput(state=state),
        id=f"partnership-{pid}",
        task_queue=worker.task_queue,
    )


async def register_search_attributes(env: WorkflowEnvironment) -> None:
    """Register our search attributes on the server (the time-skipping one starts without)."""
    if env in _REGISTERED:
        return
    request = AddSearchAttributesRequest(
        namespace=env.client.namespace,
        search_attributes={key.name: key.indexed_value_type for key in SEARCH_ATTRIBUTES},
    )
    try:
        await env.client.operator_service.add_search_attributes(request)
    except RPCError as exc:
        if exc.status is not RPCStatusCode.ALREADY_EXISTS:
            raise
    _REGISTERED.add(env)


_REGISTERED: set[WorkflowEnvironment] = set()


async def act(handle: Handle, commands: Sequence[Command]) -> PartnershipState:
    """Send each command as its Update; the state after the last."""
    for command in commands:
        update = action_for(command).update
        await handle.execute_update(update, command, result_type=ActionResult)
    await idle(handle)
    return await handle.query(PartnershipWorkflow.state)


async def idle(handle: WorkflowHandle[Any, Any]) -> None:
    """Wait until no activity is pending: the time-skipping server can lose the ability to
    skip time when a query reaches it while one is in flight."""
    request = DescribeWorkflowExecutionRequest(
        namespace=handle._client.namespace,
        execution=WorkflowExecution(workflow_id=handle.id),
    )
    for _ in range(200):
        # The raw call: the SDK's describe() cannot decode an unset datetime search attribute
        # as the test server returns it.
        raw = await handle._client.workflow_service.describe_workflow_execution(request)
        if not raw.pending_activities:
            return
        await asyncio.sleep(0.05)


async def through_planning(handle: Handle, start: date) -> PartnershipState:
    """Negotiate, establish and plan the scenario; implementation starts on ``start``."""
    await act(handle, sc.invitations())
    await act(handle, [sc.commitment(a) for a in sc.PARTNERS])
    await act(handle, [*sc.negotiation_rest(), sc.member_approval(), CompleteNegotiation()])
    await act(handle, sc.establishment())
    return await act(handle, [*sc.planning(start), ApprovePlan(start=start)])
