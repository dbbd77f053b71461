"""A feed sync withdraws a service: every running referral waiting on it is signalled, the
co-ordinator is emailed, and the service stops taking referrals (real dev server)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from uuid import uuid4

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.directory_sync import DirectorySync, start_rerouting, waiting_on_query
from activities.notify import Notifier, NotifierConfig
from domain.directory import ServiceStatus, ServiceWithdrawn
from domain.oruk.export import service_record
from domain.oruk.importing import oruk_id
from domain.oruk.sync import DirectorySyncInput, DirectorySyncResult, SyncRequest
from store.db import Sessions
from store.demo import demo_directory, load_demo_directory
from store.directory import get_service
from store.oruk import shipped_mapping
from tests.e2e.waiting_referral import Waiting, WaitingReferral
from tests.sinks import SmtpSink
from workflows.directory_sync import DirectorySyncWorkflow

pytestmark = pytest.mark.e2e

HISTORIES = Path(__file__).resolve().parents[1] / "workflow" / "histories"
GONE = "cab-benefits-debt"
STAYS = "tdc-housing-options"


def demo_feed(inactive: str) -> list[dict[str, object]]:
    directory = demo_directory()
    orgs = {o.id: o for o in directory.organisations}
    records = [
        service_record(s, orgs[s.organisation_id], shipped_mapping()) for s in directory.services
    ]
    for record in records:
        if record["id"] == oruk_id(inactive):
            record["status"] = "inactive"
    return records


async def visible(client: Client, service_id: str, count: int) -> None:
    # Visibility follows the upsert by a moment; wait until the query sees every referral.
    for _ in range(100):
        found = [w async for w in client.list_workflows(waiting_on_query(service_id))]
        if len(found) >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"referrals waiting on {service_id} never became visible")


async def test_sync_signals_waiting_referrals_and_tells_the_coordinator(
    dev_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    assert STAYS in {s.id for s in demo_directory().services}
    await load_demo_directory(sessions)
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps(demo_feed(inactive=GONE)))
    client = dev_env.client
    sync = DirectorySync(sessions, "coordinator@partnership.example")
    notifier = Notifier(NotifierConfig(smtp_port=smtp_sink.port, sender="pf@test"), sessions)
    queue = f"tq-{uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[DirectorySyncWorkflow, WaitingReferral],
        activities=[sync.sync_directory_feed, sync.signal_withdrawn_services, notifier.send_email],
    ):
        waiting: list[WorkflowHandle[WaitingReferral, list[ServiceWithdrawn]]] = [
            await client.start_workflow(
                WaitingReferral.run, Waiting(service_ids=ids), id=f"ref-{uuid4()}", task_queue=queue
            )
            for ids in ([GONE], [GONE, STAYS], [STAYS])
        ]
        await visible(client, GONE, 2)
        await visible(client, STAYS, 2)

        run = await client.start_workflow(
            DirectorySyncWorkflow.run,
            DirectorySyncInput(feed=SyncRequest(feed=str(feed), full=False)),
            id=f"directory-sync-{uuid4()}",
            task_queue=queue,
        )
        result: DirectorySyncResult = await run.result()

        withdrawn = ServiceWithdrawn(service_id=GONE, reason="inactive in the directory feed")
        assert result.withdrawn == [withdrawn]
        assert sorted(result.referrals[GONE]) == sorted(h.id for h in waiting[:2])
        assert result.coordinator_told
        assert result.sync is not None
        assert result.sync.updated == 1
        assert [await h.query(WaitingReferral.received) for h in waiting] == [
            [withdrawn],
            [withdrawn],
            [],
        ]
        [mail] = smtp_sink.to("coordinator@partnership.example")
        assert mail["Subject"] == "1 service(s) withdrawn from the directory"
        assert f"- {GONE}: inactive in the directory feed; 2 open referral(s) re-routed" in str(
            mail.get_content()
        )
        service = await get_service(sessions, GONE)
        assert service is not None
        assert service.status is ServiceStatus.INACTIVE

        # The same feed again changes nothing and signals nobody.
        again = await client.execute_workflow(
            DirectorySyncWorkflow.run,
            DirectorySyncInput(feed=SyncRequest(feed=str(feed), full=False)),
            id=f"directory-sync-{uuid4()}",
            task_queue=queue,
        )
        assert again.withdrawn == []
        assert again.referrals == {}

        # An import outside the workflow (CLI, API) hands its withdrawals over the same way.
        handed = await start_rerouting(
            client, queue, [ServiceWithdrawn(service_id=STAYS, reason="removed")]
        )
        told = await client.get_workflow_handle(handed, result_type=DirectorySyncResult).result()
        assert sorted(told.referrals[STAYS]) == sorted(h.id for h in waiting[1:])

        for h in waiting:
            await h.signal(WaitingReferral.finish)
        history = await run.fetch_history()

    await Replayer(
        workflows=[DirectorySyncWorkflow], data_converter=pydantic_data_converter
    ).replay_workflow(history)
    if not (HISTORIES / "directory_sync.json").exists():
        (HISTORIES / "directory_sync.json").write_text(history.to_json())
