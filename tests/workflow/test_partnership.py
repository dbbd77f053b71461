"""The partnership workflow on the time-skipping server, with real SMTP and database."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from domain.indicators import Rag
from domain.partnership import (
    ActionSpec,
    AddAction,
    AnswerKeyQuestions,
    ApprovePlan,
    CompleteAction,
    CompleteNegotiation,
    ConsultationEvent,
    Decide,
    DecisionKind,
    ExitOption,
    KeyAnswer,
    Policy,
    RecordBenefit,
    RecordConsultation,
    RecordIndicatorActual,
    RecordMeeting,
    Stage,
    StartReview,
    SubmitQuarterlyReturn,
    action_for,
)
from store.db import Sessions
from store.partnerships import list_partnerships
from tests.conftest import TEST_SERVER
from tests.helpers import partnership_scenario as sc
from tests.helpers.partnership_support import act, partnership_worker, start
from tests.helpers.sinks import SmtpSink
from workflows import search_attributes as sa
from workflows.partnership import PartnershipWorkflow

HISTORY = Path(__file__).parent / "histories" / "partnership_two_year_cycle.json"


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


async def test_refused_gate_leaves_state_unchanged(
    own_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    env = own_env
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await start(env, worker)
        await act(handle, sc.invitations())
        await act(handle, [sc.commitment(a) for a in sc.PARTNERS])
        before = await act(handle, sc.negotiation_rest())
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await handle.execute_update(
                action_for(CompleteNegotiation).update, CompleteNegotiation()
            )
        assert "member approval is required because it is a strategic partnership" in str(
            err.value.cause
        )
        after = await handle.query(PartnershipWorkflow.state)
        assert after == before
        assert after.stage is Stage.NEGOTIATE
        await handle.terminate()


def calendar_parts(message: EmailMessage) -> list[str]:
    return [
        part.get_content() if isinstance(part.get_content(), str) else part.get_content().decode()
        for part in message.walk()
        if part.get_content_type() == "text/calendar"
    ]


async def test_two_year_cycle_then_second_cycle_then_exit(
    own_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    env = own_env
    coordinator = sc.COORDINATOR.email
    silent = sc.PARTNERS["ne-essex-pct"][1]
    police = sc.PARTNERS["essex-police"][1]
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await start(env, worker)
        latest = env.client.get_workflow_handle_for(PartnershipWorkflow.run, handle.id)  # type: ignore[arg-type]
        first_run = handle.result_run_id
        # Negotiate: one partner stays silent; it is chased twice, then the co-ordinator is told.
        await act(handle, sc.invitations())
        await act(handle, [sc.commitment(a) for a in sc.PARTNERS if a != "ne-essex-pct"])
        await env.sleep(timedelta(days=25))
        asked = [m["Subject"] for m in smtp_sink.to(silent)]
        assert asked[0] == "Interaction Partnership invites NE Essex PCT to join"
        assert [s.startswith("Reminder") for s in asked[1:]] == [True, True]
        escalations = [m for m in smtp_sink.to(coordinator) if "has not committed" in m["Subject"]]
        assert len(escalations) == 1
        described = await handle.describe()
        assert described.typed_search_attributes.get(sa.OVERDUE) is True
        assert described.typed_search_attributes.get(sa.STAGE) == "negotiate"
        await act(
            handle,
            [
                sc.commitment("ne-essex-pct"),
                *sc.negotiation_rest(),
                sc.member_approval(),
                CompleteNegotiation(),
            ],
        )
        await act(handle, sc.establishment())
        today = (await env.get_current_time()).date()
        plan_start = today + timedelta(days=1)
        state = await act(handle, [*sc.planning(plan_start), ApprovePlan(start=plan_start)])
        assert state.stage is Stage.IMPLEMENT
        await act(handle, [CompleteAction(action_id="reach-out", done_on=today)])

        # Implement: a quarter passes; the first return is requested and submitted.
        await env.sleep(timedelta(days=95))
        requests = [
            m for m in smtp_sink.to("advice@cab.example") if "quarterly return 1" in m["Subject"]
        ]
        assert requests
        await act(
            handle,
            [
                SubmitQuarterlyReturn(
                    project_id="vsdp",
                    quarter=1,
                    spend_gbp=9_000,
                    progress="2 groups",
                    on_target=True,
                ),
                RecordMeeting(minutes="First stakeholder meeting", attendees=list(sc.PARTNERS)),
                *[
                    RecordIndicatorActual(indicator_id=i, value=v[0], source="monitoring")
                    for i, v in sc.ACTUALS.items()
                ],
            ],
        )
        # A year on: the patrols action is overdue and escalated, returns are chased.
        await env.sleep(timedelta(days=300))
        assert any("action overdue" in m["Subject"] for m in smtp_sink.to(police))
        assert any("action still overdue" in m["Subject"] for m in smtp_sink.to(coordinator))
        assert any(
            "has not sent quarterly return 2" in m["Subject"] for m in smtp_sink.to(coordinator)
        )
        annual = [
            m["Subject"] for m in smtp_sink.to(coordinator) if "annual review" in m["Subject"]
        ]
        assert len(annual) == 2  # departmental, and members scrutinise a strategic partnership
        invitations = [m for m in smtp_sink.to(police) if "stakeholder meeting" in m["Subject"]]
        assert len(invitations) >= 5
        ics = calendar_parts(invitations[0])
        assert len(ics) == 1
        assert "METHOD:REQUEST" in ics[0]
        assert "mailto:tendring@police.example" in ics[0]
        # Each partner's invitation, and the reminder before its action falls due, carries
        # its own link to answer; the co-ordinator's copy of the invitation needs none.
        link = "Answer here, without signing in: http://dashboard.test/partner/"
        assert link in _text(invitations[0])
        assert "whether your organisation will attend" in _text(invitations[0])
        copies = [m for m in smtp_sink.to(coordinator) if "stakeholder meeting" in m["Subject"]]
        assert copies
        assert link not in _text(copies[0])
        (soon,) = [m for m in smtp_sink.to(police) if "action due on" in m["Subject"]]
        assert soon["Subject"].endswith(": Joint fly-tipping patrols")
        assert link in _text(soon)

        await act(
            handle,
            [
                *[
                    RecordIndicatorActual(indicator_id=i, value=v[-1], source="monitoring")
                    for i, v in sc.ACTUALS.items()
                ],
                RecordBenefit(
                    description="ECC Economic Development Programme", amount_gbp=sc.LEVERED_IN
                ),
            ],
        )
        # The plan ends after two years: the review starts by itself and the co-ordinator is told.
        await env.sleep(timedelta(days=380))
        state = await handle.query(PartnershipWorkflow.state)
        assert state.stage is Stage.REVIEW
        assert any("review due" in m["Subject"] for m in smtp_sink.to(coordinator))
        assert len(invitations) < len(
            [m for m in smtp_sink.to(police) if "meeting" in m["Subject"]]
        )
        report = await handle.query(PartnershipWorkflow.review_report)
        rags = {i.id: i.rag for i in report.indicators}
        assert rags["benefit-awards"] is Rag.GREEN
        assert rags["neighbourhood"] is Rag.AMBER
        assert report.value_for_money.benefits_gbp == 285_360 + sc.LEVERED_IN
        assert report.actions.overdue == ["fly-tipping-patrols"]

        # Continue: the next cycle starts at Plan in a fresh run carrying the state.
        state = await act(handle, [Decide(kind=DecisionKind.CONTINUE, reason="Targets exceeded")])
        assert (state.cycle, state.stage) == (2, Stage.PLAN)
        second = await _next_run(latest, first_run)
        carried = await latest.query(PartnershipWorkflow.state)
        assert carried.cycle == 2
        assert {i.id: i.baseline for i in carried.indicators}["fly-tipping"] == 91
        assert (await latest.describe()).typed_search_attributes.get(sa.CYCLE) == 2

        # Second cycle: a short plan, reviewed on demand, then exit with an options appraisal.
        start2 = (await env.get_current_time()).date() + timedelta(days=1)
        await act(
            latest,  # type: ignore[arg-type]
            [
                RecordConsultation(
                    event=ConsultationEvent(
                        kind="estate conference",
                        held_on=start2,
                        participants=40,
                        summary="Next steps",
                    )
                ),
                AddAction(
                    action=ActionSpec(
                        id="succession",
                        title="Agree the successor arrangements",
                        owner=sc.COORDINATOR,
                        due=start2 + timedelta(days=60),
                        resources="Board working group",
                        monitoring="Board minutes",
                    )
                ),
                ApprovePlan(start=start2),
                StartReview(),
            ],
        )
        options = [
            ExitOption(name="Retain the partnership", appraisal="Overlaps the Jaywick group"),
            ExitOption(name="Pier Ward only", appraisal="Too small to sustain"),
            ExitOption(name="Into the LSP theme group", appraisal="Most progressive", chosen=True),
        ]
        await act(
            latest,  # type: ignore[arg-type]
            [Decide(kind=DecisionKind.EXIT, reason="Funding ends in March", exit_options=options)],
        )
        final = await latest.result()
        assert final.stage is Stage.CLOSED
        assert [c.decision.kind for c in final.past_cycles] == [
            DecisionKind.CONTINUE,
            DecisionKind.EXIT,
        ]
        total, rows = await list_partnerships(sessions)
        assert total == 1
        assert (rows[0].stage, rows[0].cycle) == (Stage.CLOSED, 2)

    # Both runs replay against today's code.
    replayer = Replayer(workflows=[PartnershipWorkflow], data_converter=pydantic_data_converter)
    for run_id in (first_run, second):
        history = await env.client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        await replayer.replay_workflow(history)
    if os.environ.get("PARTNERFLOW_RECORD_HISTORIES"):
        first = await env.client.get_workflow_handle(handle.id, run_id=first_run).fetch_history()
        HISTORY.write_text(json.dumps(json.loads(first.to_json()), separators=(",", ":")))


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def _next_run(handle: WorkflowHandle[Any, Any], previous: str | None) -> str:
    for _ in range(300):
        run_id = (await handle.describe()).run_id
        if run_id != previous:
            return run_id
        await asyncio.sleep(0.1)
    raise AssertionError("the workflow did not continue as new")


async def test_recorded_history_replays() -> None:
    history = WorkflowHistory.from_json("partnership", HISTORY.read_text())
    replayer = Replayer(workflows=[PartnershipWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)


async def test_long_history_continues_as_new_with_its_state(
    own_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    env = own_env
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await start(env, worker, policy=Policy(max_history_events=100))
        latest = env.client.get_workflow_handle_for(PartnershipWorkflow.run, handle.id)  # type: ignore[arg-type]
        for n in range(1, 41):
            await act(
                latest,  # type: ignore[arg-type]
                [AnswerKeyQuestions(answers=[KeyAnswer(number=3, answer=f"answer {n}")])],
            )
        state = await latest.query(PartnershipWorkflow.state)
        assert state.key_answers[3] == "answer 40"
        assert (await latest.describe()).run_id != handle.result_run_id, "a fresh run took over"
        history = await latest.fetch_history()
        await Replayer(
            workflows=[PartnershipWorkflow], data_converter=pydantic_data_converter
        ).replay_workflow(history)
        await latest.terminate()
