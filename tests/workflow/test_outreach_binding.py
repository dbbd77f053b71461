"""Reach Out sessions feed a partnership's indicator bound to one of their figures, on the
time-skipping server: the pilot's six weeks of door knocking (114 residents helped on the spot)
against a target of 100 give an actual of 114 and green; a session offered again, or in a ward
the binding does not cover, changes nothing; the history replays."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from temporalio.client import WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.notify import Notifier, NotifierConfig
from activities.partnerships import PartnershipRecords
from api.app import create_app
from domain.access import Role
from domain.indicators import Rag
from domain.outcome_binding import BoundMeasure, OutcomeBinding, describe
from domain.outreach import OutreachFigure, OutreachLog, OutreachSessionFact
from domain.partnership import (
    AddOutcome,
    ApprovePlan,
    Command,
    CompleteNegotiation,
    IndicatorDefinition,
    RecordOutreachSession,
    action_for,
    new_partnership,
)
from store.db import Sessions
from store.outreach import outreach_sessions_of
from store.tokens import issue_token
from tests.conftest import StaticTemporal
from tests.helpers import partnership_scenario as sc
from tests.helpers.partnership_support import (
    Handle,
    act,
    idle,
    partner_requests,
    register_search_attributes,
)
from tests.helpers.referral_world import World, run_world
from tests.helpers.sinks import WEBHOOK_SECRET, SmtpSink, WebhookSink
from workflows.partnership import ActionResult, PartnershipInput, PartnershipWorkflow

HELPED = OutcomeBinding(
    measure=BoundMeasure.OUTREACH_FIGURE,
    figure=OutreachFigure.RESIDENTS_HELPED,
    wards=["pier", "frinton"],
)
SUPPORT = IndicatorDefinition(
    id="practical-support",
    name="Residents given practical support",
    unit="residents",
    baseline=0,
    target=100,
    binding=HELPED,
)
# Six weekly sessions in the pilot's two wards: 114 residents helped on the spot.
WEEKS = [
    ("pier", 21),
    ("frinton", 17),
    ("pier", 22),
    ("frinton", 18),
    ("pier", 19),
    ("frinton", 17),
]


def planning(start: date) -> list[Command]:
    """The scenario's plan with one more indicator, fed by the Reach Out sessions."""
    commands = sc.planning(start)
    first = next(i for i, c in enumerate(commands) if isinstance(c, AddOutcome))
    outcome = commands[first]
    assert isinstance(outcome, AddOutcome)
    commands[first] = outcome.model_copy(update={"indicators": [*outcome.indicators, SUPPORT]})
    return commands


def session(n: int, ward: str, helped: int, held_on: date) -> OutreachSessionFact:
    return OutreachSessionFact(
        session_id=f"outreach-{n}",
        logged_at=datetime.now(UTC),
        **OutreachLog(
            held_on=held_on,
            ward=ward,
            area="Marine Parade, Pier Avenue",
            doors_knocked=helped * 4,
            conversations=helped * 2,
            residents_helped=helped,
            referrals_made=helped // 3,
        ).model_dump(),
    )


async def _offer(handle: Handle, fact: OutreachSessionFact) -> ActionResult:
    command = RecordOutreachSession(session=fact)
    return await handle.execute_update(
        action_for(command).update, command, result_type=ActionResult
    )


async def _support(handle: Handle) -> tuple[float | None, Rag | None, int]:
    report = await handle.query(PartnershipWorkflow.indicators)
    found = next(i for i in report.indicators if i.id == "practical-support")
    return found.latest, found.rag, found.measurements


async def test_the_pilots_114_residents_helped_against_100_is_green(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    env = time_skipping_env
    notifier = Notifier(
        NotifierConfig(smtp_port=smtp_sink.port, webhook_secrets=(WEBHOOK_SECRET,), sender="pf@t"),
        sessions,
    )

    async def body(world: World) -> None:
        await register_search_attributes(env)
        pid = f"ro-{uuid.uuid4().hex[:8]}"
        now = await env.get_current_time()
        handle: Handle = await env.client.start_workflow(
            PartnershipWorkflow.run,
            PartnershipInput(state=new_partnership(sc.new_partnership(pid), now)),
            id=f"partnership-{pid}",
            task_queue=world.task_queue,
        )
        start = now.date() + timedelta(days=1)
        await act(handle, sc.invitations())
        await act(handle, [sc.commitment(a) for a in sc.PARTNERS])
        await act(handle, [*sc.negotiation_rest(), sc.member_approval(), CompleteNegotiation()])
        await act(handle, sc.establishment())
        await act(handle, [*planning(start), ApprovePlan(start=start)])
        await env.sleep(timedelta(days=2))  # into the plan's period

        # Each week's session logged through the API, as the referrer's app logs it.
        app = create_app(
            sessions=world.sessions, temporal=StaticTemporal(env.client), task_queue="unused"
        )
        _, token = await issue_token(world.sessions, subject="sam", role=Role.REFERRER)
        bearer = {"Authorization": f"Bearer {token}"}
        async with TestClient(TestServer(app)) as http:
            for n, (ward, helped) in enumerate(WEEKS):
                entry = session(n, ward, helped, start + timedelta(days=7 * n))
                body = entry.model_dump(mode="json", exclude={"session_id", "logged_at"})
                resp = await http.post("/api/outreach-sessions", json=body, headers=bearer)
                assert resp.status == 201, await resp.text()
                assert (await resp.json())["counted_by"] == [pid]
            resp = await http.post(
                "/api/outreach-sessions", json={**body, "ward": "atlantis"}, headers=bearer
            )
            assert resp.status == 422
            assert (await resp.json())["detail"][0]["field"] == "ward"
        await idle(handle)
        assert await _support(handle) == (114.0, Rag.GREEN, 6)
        kept = await outreach_sessions_of(world.sessions, "sam")
        assert sum(k.residents_helped for k in kept) == 114

        # Offered again (a retried feed), or from a ward the binding leaves out: refused.
        with pytest.raises(WorkflowUpdateFailedError):
            await _offer(handle, kept[0])
        with pytest.raises(WorkflowUpdateFailedError):
            await _offer(handle, session(7, "walton", 30, start + timedelta(days=42)))
        await idle(handle)
        assert await _support(handle) == (114.0, Rag.GREEN, 6)

        replayer = Replayer(workflows=[PartnershipWorkflow], data_converter=pydantic_data_converter)
        await replayer.replay_workflow(await handle.fetch_history())
        await handle.terminate()

    await run_world(
        env.client,
        sessions,
        smtp_sink,
        webhook_sink,
        body,
        workflows=[PartnershipWorkflow],
        activities=[
            notifier.send_email,
            notifier.send_webhook,
            PartnershipRecords(sessions).record_partnership,
            partner_requests(notifier),
        ],
    )


def test_the_binding_in_words_and_its_rules() -> None:
    names = {"pier": "Pier", "frinton": "Frinton"}
    assert describe(HELPED, names.__getitem__) == (
        "Reach Out sessions' residents helped on the spot, from Pier, Frinton"
    )
    with pytest.raises(ValueError, match="figure"):
        OutcomeBinding(measure=BoundMeasure.OUTREACH_FIGURE)
    with pytest.raises(ValueError, match="more residents helped than conversations"):
        OutreachLog(
            held_on=date(2027, 1, 4),
            ward="pier",
            area="Pier Avenue",
            doors_knocked=10,
            conversations=5,
            residents_helped=6,
            referrals_made=1,
        )
