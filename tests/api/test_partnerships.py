"""The partnerships API against a real Temporal (time-skipping) server, worker and database."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.partnerships import ACTIONS
from domain.access import Role
from domain.partnership import (
    ApprovePlan,
    Command,
    CompleteNegotiation,
    Decide,
    DecisionKind,
    RecordBenefit,
    RecordIndicatorActual,
    StartReview,
)
from store.db import Sessions
from tests.conftest import TEST_SERVER, StaticTemporal
from tests.helpers import partnership_scenario as sc
from tests.helpers.partnership_support import partnership_worker, register_search_attributes
from tests.helpers.sinks import SmtpSink

PATHS = {a.command: a.path for a in ACTIONS}
Bearer = Callable[..., Awaitable[dict[str, str]]]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def own_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this module's own.

    A query that reaches the test server while a workflow task or activity is in flight can
    leave its clock unable to skip; a server per module keeps other tests clear of that.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture
async def live(
    own_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> AsyncIterator[TestClient[Any, Any]]:
    """The API wired to the time-skipping server, with a worker running the partnerships."""
    env = own_env
    await register_search_attributes(env)
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        app = create_app(
            sessions=sessions, temporal=StaticTemporal(env.client), task_queue=worker.task_queue
        )
        async with TestClient(TestServer(app)) as client:
            yield client


async def post(
    client: TestClient[Any, Any], pid: str, command: Command, auth: dict[str, str]
) -> Any:
    resp = await client.post(
        f"/api/partnerships/{pid}/{PATHS[type(command)]}",
        data=command.model_dump_json(),
        headers={**auth, "Content-Type": "application/json"},
    )
    return resp.status, await resp.json()


async def test_a_coordinator_runs_a_partnership_through_the_api(
    live: TestClient[Any, Any], bearer: Bearer, own_env: WorkflowEnvironment
) -> None:
    pid = f"interaction-{uuid.uuid4().hex[:8]}"
    try:
        await _run_the_cycle(live, bearer, own_env, pid)
    finally:
        # A partnership left running would hold the time-skipping server's clock for others.
        handle = own_env.client.get_workflow_handle(f"partnership-{pid}")
        with contextlib.suppress(RPCError):
            await handle.terminate()


async def _run_the_cycle(
    live: TestClient[Any, Any], bearer: Bearer, own_env: WorkflowEnvironment, pid: str
) -> None:
    coord = await bearer(Role.COORDINATOR)
    cab = await bearer(Role.AGENCY, "tendring-cab")
    body = sc.new_partnership(pid).model_dump_json()
    resp = await live.post("/api/partnerships", data=body, headers=coord)
    assert resp.status == 201, await resp.text()
    assert (await live.post("/api/partnerships", data=body, headers=coord)).status == 409
    assert (await live.post("/api/partnerships", data=body, headers=cab)).status == 403

    for command in sc.invitations():
        assert (await post(live, pid, command, coord))[0] == 200
    # A partner agency commits for itself, and for nobody else.
    assert (await post(live, pid, sc.commitment("essex-police"), cab))[0] == 403
    status, result = await post(live, pid, sc.commitment("tendring-cab"), cab)
    assert (status, result["stage"]) == (200, "negotiate")
    for agency in sc.PARTNERS:
        if agency != "tendring-cab":
            assert (await post(live, pid, sc.commitment(agency), coord))[0] == 200
    for command in sc.negotiation_rest():
        assert (await post(live, pid, command, coord))[0] == 200

    before = await (await live.get(f"/api/partnerships/{pid}", headers=coord)).json()
    status, problem = await post(live, pid, CompleteNegotiation(), coord)
    assert status == 409
    assert "member approval is required" in problem["error"]
    after = await (await live.get(f"/api/partnerships/{pid}", headers=coord)).json()
    assert after == before

    for command in [sc.member_approval(), CompleteNegotiation(), *sc.establishment()]:
        assert (await post(live, pid, command, coord))[0] == 200, command
    start = (await own_env.get_current_time()).date() + timedelta(days=1)
    for command in [*sc.planning(start), ApprovePlan(start=start)]:
        assert (await post(live, pid, command, coord))[0] == 200, command
    for indicator_id, values in sc.ACTUALS.items():
        for value in values:
            command = RecordIndicatorActual(indicator_id=indicator_id, value=value, source="survey")
            assert (await post(live, pid, command, coord))[0] == 200
    for command in [
        RecordBenefit(description="ECC funding", amount_gbp=sc.LEVERED_IN),
        StartReview(),
    ]:
        assert (await post(live, pid, command, coord))[0] == 200

    indicators = await (await live.get(f"/api/partnerships/{pid}/indicators", headers=coord)).json()
    rags = {i["id"]: i["rag"] for i in indicators["indicators"]}
    assert rags["benefit-awards"] == "green"
    assert rags["fly-tipping"] == "green"
    assert rags["neighbourhood"] == "amber"
    review = await (await live.get(f"/api/partnerships/{pid}/review", headers=coord)).json()
    assert review["value_for_money"]["benefits_gbp"] == 565_360
    assert review["rag_counts"] == {"green": 6, "amber": 1, "red": 0, "not_measured": 0}
    html = await live.get(f"/api/partnerships/{pid}/review.html", headers=coord)
    page = await html.text()
    assert html.content_type == "text/html"
    assert "New and backdated benefit claim awards" in page
    assert "£565,360" in page
    # Its inline style runs under the strict CSP only by the response's own nonce.
    nonce = re.search(r'<style nonce="([^"]+)">', page)
    assert nonce is not None
    assert f"style-src 'self' 'nonce-{nonce[1]}'" in html.headers["Content-Security-Policy"]
    xlsx = await live.get(f"/api/partnerships/{pid}/review.xlsx", headers=coord)
    book = load_workbook(io.BytesIO(await xlsx.read()))
    rows = list(book["Indicators"].iter_rows(values_only=True))
    assert rows[1][:2] == ("New and backdated benefit claim awards", "GBP")
    assert rows[1][5:] == (285_360, "green")
    timeline = await (await live.get(f"/api/partnerships/{pid}/timeline", headers=coord)).json()
    assert timeline["events"][0]["kind"] == "created"
    reminders = await (await live.get(f"/api/partnerships/{pid}/reminders", headers=coord)).json()
    due = [r["due_at"] for r in reminders["reminders"]]
    assert due == sorted(due)
    assert reminders["reminders"][0]["kind"] == "meeting_invitation"

    decision = Decide(kind=DecisionKind.CONTINUE, reason="Targets exceeded")
    status, result = await post(live, pid, decision, coord)
    assert (status, result["cycle"], result["stage"]) == (200, 2, "plan")
    listed: dict[str, Any] = {}
    for _ in range(300):
        listed = await (await live.get("/api/partnerships", headers=coord)).json()
        if listed["items"] and listed["items"][0]["cycle"] == 2:
            break
        await asyncio.sleep(0.1)
    assert listed["total"] == 1
    assert (listed["items"][0]["id"], listed["items"][0]["stage"]) == (pid, "plan")


async def test_unknown_partnership_and_bad_input_are_4xx(
    live: TestClient[Any, Any], bearer: Bearer
) -> None:
    coord = await bearer(Role.COORDINATOR)
    assert (await live.get("/api/partnerships/nobody", headers=coord)).status == 404
    assert (await live.get("/api/partnerships/NOT%20AN%20ID/review", headers=coord)).status == 404
    status, _ = await post(live, "nobody", StartReview(), coord)
    assert status == 404
    resp = await live.post(
        "/api/partnerships/nobody/decision", data='{"kind": "maybe"}', headers=coord
    )
    assert resp.status == 422
    # An indicator bound to referral outcomes must say which unit a sum adds up.
    unbound_sum = {
        "id": "awards",
        "statement": "More benefit awarded",
        "indicators": [
            {
                "id": "benefit-awards",
                "name": "Awards",
                "unit": "GBP",
                "baseline": 0,
                "target": 100000,
                "binding": {"measure": "sum_of_values"},
            }
        ],
    }
    resp = await live.post("/api/partnerships/nobody/outcomes", json=unbound_sum, headers=coord)
    assert resp.status == 422
    assert "unit" in await resp.text()
    agency = await bearer(Role.AGENCY, "tendring-cab")
    assert (await live.get("/api/partnerships", headers=agency)).status == 403
