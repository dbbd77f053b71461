"""An ORUK import withdraws a service that real referrals wait on (real dev server): each
open leg on it, accepted, just sent or still starting, is re-routed to the next suitable
service, whose agency is told; legs elsewhere are untouched; the co-ordinator is told once;
the same feed again, or the same withdrawal told twice, re-routes nothing more; and the
service gets no new referrals."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.directory_sync import DirectorySync
from activities.notify import Notifier, NotifierConfig
from api.app import create_app
from clients.temporal import signal_waiting_referrals, waiting_on_query
from domain.access import Role
from domain.directory import (
    SERVICE_WITHDRAWN_SIGNAL,
    Directory,
    Service,
    ServiceStatus,
    ServiceWithdrawn,
)
from domain.oruk.export import service_record
from domain.oruk.importing import oruk_id
from domain.oruk.sync import DirectorySyncInput, DirectorySyncResult, SyncRequest
from domain.referral import (
    ACCEPT_UPDATE,
    START_UPDATE,
    AgencyAction,
    LegState,
    Need,
    ReferralView,
)
from store.db import Sessions
from store.directory import get_service
from store.oruk import shipped_mapping
from store.referrals import StoredReferral, get_referral
from store.tokens import issue_token
from tests.conftest import StaticTemporal
from tests.helpers.referral_world import COORDINATOR, World, directory, run_world, submission
from tests.helpers.sinks import SmtpSink, WebhookSink
from workflows.directory_sync import DirectorySyncWorkflow
from workflows.referral import ReferralWorkflow
from workflows.referral_leg import ReferralLegWorkflow

pytestmark = pytest.mark.e2e

HISTORIES = Path(__file__).resolve().parents[1] / "workflow" / "histories"
# Set to rewrite the committed histories from this run (after a deliberate, patched change).
WRITE = os.environ.get("PARTNERFLOW_WRITE_HISTORIES") == "1"

DEBT = Need(category="benefits_debt", notes="Rent arrears since May")
HOUSING = Need(category="housing", notes="Damp flat")
INACTIVE = ServiceWithdrawn(service_id="cab-debt", reason="inactive in the directory feed")
REMOVED = ServiceWithdrawn(service_id="charity-debt", reason="removed from the directory feed")


def borough(webhook_url: str) -> Directory:
    """The small borough with a third debt service, the council's, after CAB and the charity."""
    base = directory(webhook_url)
    welfare = Service(
        id="council-welfare",
        organisation_id="council",
        name="Welfare rights",
        categories=["benefits_debt"],  # type: ignore[list-item]
        capacity="limited",  # type: ignore[arg-type]
        email="welfare@council.example",  # type: ignore[arg-type]
        webhook_url=webhook_url,  # type: ignore[arg-type]
    )
    return base.model_copy(update={"services": [*base.services, welfare]})


def feed(world: World, *, inactive: set[str], without: set[str] = frozenset()) -> list[Any]:
    """The borough as its ORUK feed publishes it."""
    full = borough(world.webhooks.url)
    orgs = {o.id: o for o in full.organisations}
    records = []
    for svc in full.services:
        if svc.id in without:
            continue
        record = service_record(svc, orgs[svc.organisation_id], shipped_mapping())
        assert record["id"] == oruk_id(svc.id)
        if svc.id in inactive:
            record["status"] = "inactive"
        records.append(record)
    return records


def ours(world: World, ids: list[str]) -> list[str]:
    """This test's referrals among ``ids``: the sync signals every referral on the server
    waiting on the service, other tests' included."""
    return sorted(i for i in ids if i.startswith(world.prefix))


async def visible(world: World, service_id: str, ids: set[str], within: float = 20) -> None:
    """Wait until visibility lists exactly ``ids`` of this test's referrals as waiting on
    ``service_id`` (other tests on the same server may have their own there)."""
    async with asyncio.timeout(within):
        while True:
            found = {
                w.id
                async for w in world.client.list_workflows(waiting_on_query(service_id))
                if w.id.startswith(world.prefix)
            }
            if found == ids:
                return
            await asyncio.sleep(0.1)


def legs_by_service(view: ReferralView) -> dict[str, list[LegState]]:
    found: dict[str, list[LegState]] = {}
    for leg in view.legs:
        found.setdefault(leg.service_id, []).append(leg.state)
    return found


async def stored(sessions: Sessions, number: str) -> StoredReferral:
    referral = await get_referral(sessions, number)
    assert referral is not None
    return referral


def subjects(smtp: SmtpSink, address: str) -> list[str]:
    return sorted(str(m["Subject"]) for m in smtp.to(address))


async def test_withdrawn_service_reroutes_real_referrals_once(
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
    tmp_path: Path,
) -> None:
    client = dev_env.client
    # The borough's feed: imported by an admin through the API, then synced on schedule.
    path = tmp_path / "borough-feed.json"
    sync = DirectorySync(sessions, COORDINATOR)
    notifier = Notifier(NotifierConfig(smtp_port=smtp_sink.port, sender="pf@test"), sessions)

    async def body(world: World) -> None:
        accepted = await world.submit(submission(DEBT))
        started = await world.submit(submission(DEBT))
        sent = await world.submit(submission(DEBT))
        two_needs = await world.submit(submission(DEBT, HOUSING))
        elsewhere = await world.submit(submission(HOUSING, consent=["council"]))
        on_cab = [accepted, started, sent, two_needs]
        for handle in [*on_cab, elsewhere]:
            await world.until(
                handle, lambda v: v.legs and all(leg.state is LegState.SENT for leg in v.legs)
            )
        cab = AgencyAction(agency_id="cab", actor="cab-adviser")
        for handle in (accepted, started):
            await client.get_workflow_handle(f"{handle.id}-L1").execute_update(ACCEPT_UPDATE, cab)
        await client.get_workflow_handle(f"{started.id}-L1").execute_update(START_UPDATE, cab)
        await world.until(started, lambda v: v.legs[0].state is LegState.IN_PROGRESS)
        # A leg still starting: CAB's system is down, so its first notice is being retried and
        # the leg has not reported yet; the referral must be findable all the same.
        # (Retried after 1, 2, 4 and 8 seconds, it reports some 15 seconds after starting:
        # time enough for the server's visibility to list it on a loaded machine.)
        webhook_sink.fail_next = 4
        starting = await world.submit(submission(DEBT))
        await world.until(starting, lambda v: bool(v.needs[0].leg_ids) and not v.legs)
        on_cab.append(starting)
        await visible(world, "cab-debt", {h.id for h in on_cab}, within=8)
        # Its two needs are routed at once, so either may have the first leg.
        assert legs_by_service(await world.state(two_needs))["council-housing"] == [LegState.SENT]

        app = create_app(
            sessions=sessions, temporal=StaticTemporal(client), task_queue=world.task_queue
        )
        _, token = await issue_token(sessions, subject="directory-admin", role=Role.ADMIN)
        admin = {"Authorization": f"Bearer {token}"}
        async with TestClient(TestServer(app)) as api:

            async def import_feed(records: list[Any]) -> dict[str, Any]:
                resp = await api.post(
                    "/api/directory/import",
                    json={"document": records, "source": str(path), "full": True},
                    headers=admin,
                )
                assert resp.status == 200, await resp.text()
                body: dict[str, Any] = await resp.json()
                problems = body["report"]["problems"]
                assert [p for p in problems if p["outcome"] != "noted"] == [], problems
                return body

            # The feed marks CAB's debt service inactive.
            done = await import_feed(feed(world, inactive={"cab-debt"}))
            assert done["report"]["withdrawn"] == [INACTIVE.model_dump()]
            rerouting = client.get_workflow_handle(
                done["rerouting_workflow_id"], result_type=DirectorySyncResult
            )
            result = await rerouting.result()
            assert ours(world, result.referrals["cab-debt"]) == sorted(h.id for h in on_cab)
            assert result.coordinator_told

            # The same withdrawal told again (a retried signal), before and after re-routing.
            await signal_waiting_referrals(client, [INACTIVE])
            for handle in on_cab:
                await handle.signal(SERVICE_WITHDRAWN_SIGNAL, INACTIVE)
            for handle in on_cab:
                view = await world.until(
                    handle, lambda v: legs_by_service(v).get("charity-debt") == [LegState.SENT]
                )
                assert legs_by_service(view)["cab-debt"] == [LegState.WITHDRAWN]
            for handle in on_cab:
                await handle.signal(SERVICE_WITHDRAWN_SIGNAL, INACTIVE)
            await visible(world, "cab-debt", set())
            await visible(world, "charity-debt", {h.id for h in on_cab})

            # The same feed again: nothing changes, nothing is re-routed.
            again = await import_feed(feed(world, inactive={"cab-debt"}))
            assert again["report"]["withdrawn"] == []
            assert again["rerouting_workflow_id"] is None

            # A new referral for debt no longer goes to CAB.
            later = await world.submit(submission(DEBT))
            view = await world.until(later, lambda v: bool(v.legs))
            assert [leg.service_id for leg in view.legs] == ["charity-debt"]
            await visible(world, "charity-debt", {h.id for h in [*on_cab, later]})

        # The scheduled sync reads the feed, now without the charity's service: its open legs
        # move on to the council.
        path.write_text(json.dumps(feed(world, inactive={"cab-debt"}, without={"charity-debt"})))

        async def scheduled_sync() -> tuple[DirectorySyncResult, WorkflowHistory]:
            run = await client.start_workflow(
                DirectorySyncWorkflow.run,
                DirectorySyncInput(feed=SyncRequest(feed=str(path), full=True)),
                id=f"directory-sync-{uuid.uuid4()}",
                task_queue=world.task_queue,
            )
            return await run.result(), await run.fetch_history()

        second, sync_history = await scheduled_sync()
        assert second.sync is not None
        assert second.sync.withdrawn == second.withdrawn == [REMOVED]
        moved = [*on_cab, later]
        assert ours(world, second.referrals["charity-debt"]) == sorted(h.id for h in moved)
        assert second.coordinator_told
        for handle in moved:
            await world.until(
                handle, lambda v: legs_by_service(v).get("council-welfare") == [LegState.SENT]
            )
        await visible(world, "charity-debt", set())

        # The same feed synced again changes nothing and signals nobody.
        third, _ = await scheduled_sync()
        assert third.sync is not None
        assert (third.sync.updated, third.withdrawn, third.referrals) == (0, [], {})

        # The directory: both services stay listed but take no referrals.
        for service_id in ("cab-debt", "charity-debt"):
            service = await get_service(sessions, service_id)
            assert service is not None
            assert service.status is ServiceStatus.INACTIVE

        # The read model: each debt need went cab → charity → council, housing legs stayed.
        for handle in on_cab:
            referral = await stored(sessions, handle.id)
            debt_legs = [leg for leg in referral.legs if leg.category == "benefits_debt"]
            assert [(leg.service_id, leg.state) for leg in debt_legs] == [
                ("cab-debt", "withdrawn"),
                ("charity-debt", "withdrawn"),
                ("council-welfare", "sent"),
            ]
            assert debt_legs[0].withdraw_reason == f"service withdrawn: {INACTIVE.reason}"
            assert debt_legs[1].withdraw_reason == f"service withdrawn: {REMOVED.reason}"
            [debt_need] = [n for n in referral.needs if n.category == "benefits_debt"]
            assert debt_need.tried_service_ids == ["cab-debt", "charity-debt", "council-welfare"]
            kinds = [e.kind for e in referral.events]
            assert kinds.count("service_withdrawn") == 2
        two = await stored(sessions, two_needs.id)
        assert [(leg.service_id, leg.state) for leg in two.legs if leg.category == "housing"] == [
            ("council-housing", "sent")
        ]
        untouched = await stored(sessions, elsewhere.id)
        assert [(leg.service_id, leg.state) for leg in untouched.legs] == [
            ("council-housing", "sent")
        ]
        assert "service_withdrawn" not in [e.kind for e in untouched.events]
        numbers = sorted(h.id for h in on_cab)
        assert [leg.service_id for leg in (await stored(sessions, later.id)).legs] == [
            "charity-debt",
            "council-welfare",
        ]

        # Each agency heard exactly once per leg; every key delivered once.
        assert subjects(smtp_sink, "intake@cab.example") == sorted(
            [f"New referral {n}" for n in numbers] + [f"Stop work on referral {n}" for n in numbers]
        )
        assert subjects(smtp_sink, "help@charity.example") == sorted(
            [f"New referral {n}" for n in [*numbers, later.id]]
            + [f"Stop work on referral {n}" for n in [*numbers, later.id]]
        )
        assert subjects(smtp_sink, "welfare@council.example") == sorted(
            f"New referral {n}" for n in [*numbers, later.id]
        )
        hooks = sorted(
            (e["event"], e["data"]["referral"], e["data"]["service_id"])
            for e in webhook_sink.events
        )
        cab_debt, welfare = "cab-debt", "council-welfare"
        assert hooks == sorted(
            [("referral.leg_sent", n, cab_debt) for n in numbers]
            + [("referral.leg_stopped", n, cab_debt) for n in numbers]
            + [("referral.leg_sent", n, welfare) for n in [*numbers, later.id]]
        )
        coordinator = subjects(smtp_sink, COORDINATOR)
        assert coordinator.count("1 service(s) withdrawn from the directory") == 2
        summaries = "".join(
            str(m.get_content())
            for m in smtp_sink.to(COORDINATOR)
            if m["Subject"] == "1 service(s) withdrawn from the directory"
        )
        # The summary counts every referral the sync signalled, other tests' ones included.
        on_cab_count = len(result.referrals["cab-debt"])
        on_charity_count = len(second.referrals["charity-debt"])
        assert on_cab_count >= 5
        assert on_charity_count >= 6
        assert f"- cab-debt: {INACTIVE.reason}; {on_cab_count} open referral(s) re-routed" in (
            summaries
        )
        assert (
            f"- charity-debt: {REMOVED.reason}; {on_charity_count} open referral(s) re-routed"
            in summaries
        )
        mine = {*numbers, later.id}
        withdrawn_notices = [
            s
            for s in coordinator
            if s.startswith("Service withdrawn") and s.rsplit("(", 1)[-1].rstrip(")") in mine
        ]
        assert sorted(withdrawn_notices) == sorted(
            [f"Service withdrawn: referrals re-routed ({n})" for n in numbers] * 2
            + [f"Service withdrawn: referrals re-routed ({later.id})"]
        )
        assert len(smtp_sink.keys()) == len(set(smtp_sink.keys()))
        assert len(webhook_sink.keys()) == len(set(webhook_sink.keys()))

        # Referrals told of withdrawals more than once still replay.
        replayer = Replayer(
            workflows=[ReferralWorkflow, ReferralLegWorkflow],
            data_converter=pydantic_data_converter,
        )
        for handle in on_cab:
            await replayer.replay_workflow(await handle.fetch_history())
        await Replayer(
            workflows=[DirectorySyncWorkflow], data_converter=pydantic_data_converter
        ).replay_workflow(sync_history)
        if WRITE:
            history = await accepted.fetch_history()
            (HISTORIES / "referral_service_withdrawn.json").write_text(history.to_json())
            (HISTORIES / "directory_sync.json").write_text(sync_history.to_json())

    await run_world(
        client,
        sessions,
        smtp_sink,
        webhook_sink,
        body,
        borough=borough(webhook_sink.url),
        workflows=[DirectorySyncWorkflow],
        activities=[sync.sync_directory_feed, sync.signal_withdrawn_services, notifier.send_email],
    )
