"""Tapered funding on the time-skipping server: the co-ordinator and the project's agency are
emailed (real SMTP sink) before each step down, the agency with a signed link to its plan for
after the funding, and nothing more once the project has ended."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import pytest_asyncio
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from domain.partner_link import PARTNER_ACTION_PURPOSE, ask_from
from domain.partnership import (
    AddFundedProject,
    AfterFunding,
    AfterFundingRoute,
    Contact,
    PlanAfterFunding,
    Policy,
    ProjectSpec,
    TaperStep,
)
from domain.partnership.model import a_year_after
from domain.partnership.taper import notice_due
from domain.signed_link import verify_link_until
from store.db import Sessions
from tests.conftest import TEST_SERVER
from tests.helpers import partnership_scenario as sc
from tests.helpers.partnership_support import (
    LINK_KEYS,
    PARTNER_LINK_BASE,
    act,
    idle,
    partnership_worker,
    start,
    through_planning,
)
from tests.helpers.sinks import SmtpSink
from workflows.partnership import PartnershipWorkflow

AGENCY = "youth@police.example"
NOTICE = 10


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def own_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this module's own (see tests/workflow/test_partnership.py)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
    )
    yield env
    await env.shutdown()


def step_downs_to(smtp: SmtpSink, address: str) -> list[EmailMessage]:
    return [m for m in smtp.to(address) if "steps down to" in str(m["Subject"])]


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def sleep_until(env: WorkflowEnvironment, handle: object, moment: datetime) -> None:
    now = await env.get_current_time()
    await env.sleep(moment - now)
    await idle(handle)  # type: ignore[arg-type]


async def test_reminders_come_before_each_step_down_and_stop_when_the_project_ends(
    own_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    env = own_env
    coordinator = sc.COORDINATOR.email
    policy = Policy(plan_years=4, taper_notice_working_days=NOTICE)
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await start(env, worker, policy=policy)
        today = (await env.get_current_time()).date()
        plan_start = today + timedelta(days=1)
        await through_planning(handle, plan_start)
        years = [plan_start]
        for _ in range(2):
            years.append(a_year_after(years[-1]))
        deadline = years[-1] + timedelta(days=200)
        project = ProjectSpec(
            id="youth-diversion",
            name="Youth diversion",
            agency_id="essex-police",
            contact=Contact(name="Youth lead", email=AGENCY),
            funding_gbp=40_000,
            deadline=deadline,
            target="120 young people a year",
            funding_by_year=[
                TaperStep(year_starting=years[0], percent=100),
                TaperStep(year_starting=years[1], percent=75),
                TaperStep(year_starting=years[2], percent=50),
            ],
        )
        await act(handle, [AddFundedProject(project=project)])
        first_notice = notice_due(years[1], NOTICE).astimezone(UTC)

        # Nothing before the notice is due.
        await sleep_until(env, handle, first_notice - timedelta(days=2))
        assert step_downs_to(smtp_sink, AGENCY) == []
        assert step_downs_to(smtp_sink, coordinator) == []

        # Then both hear of the first step down before it happens.
        await sleep_until(env, handle, datetime.combine(years[1], datetime.min.time(), UTC))
        (agency_notice,) = step_downs_to(smtp_sink, AGENCY)
        (coordinator_notice,) = step_downs_to(smtp_sink, coordinator)
        day = f"{years[1]:%d %B %Y}"
        assert agency_notice["Subject"] == (
            f"Interaction Partnership: funding for Youth diversion steps down to 75 % on {day}"
        )
        text = body(agency_notice)
        assert "£30,000 for the year, down from £40,000 (100 %)" in text
        assert f"Please say by {day} how the project will carry on" in text
        assert "It has no plan yet for when the funding ends." in text
        assert "Youth lead (essex-police) has been asked" in body(coordinator_notice)
        assert PARTNER_LINK_BASE not in body(coordinator_notice)

        # The agency's email carries a signed link to its plan for after the funding.
        found = re.search(re.escape(PARTNER_LINK_BASE) + r"/partner/([A-Za-z0-9_.\-]+)", text)
        assert found is not None, text
        subject, expires = verify_link_until(
            LINK_KEYS, found.group(1), purpose=PARTNER_ACTION_PURPOSE, now=datetime.now(UTC)
        )
        ask = ask_from(subject, expires)
        assert (ask.agency_id, ask.update) == ("essex-police", "plan_after_funding")
        assert ask.answers == {"project_id": "youth-diversion"}

        # The agency answers; the next step down's emails carry its plan.
        plan = AfterFunding(route=AfterFundingRoute.MAINSTREAM, plan="Essex Police youth budget")
        await act(handle, [PlanAfterFunding(project_id="youth-diversion", after_funding=plan)])
        await sleep_until(env, handle, datetime.combine(years[2], datetime.min.time(), UTC))
        agency_notices = step_downs_to(smtp_sink, AGENCY)
        assert len(agency_notices) == 2
        assert "steps down to 50 %" in agency_notices[1]["Subject"]
        assert "(mainstream): Essex Police youth budget." in body(agency_notices[1])
        assert len(step_downs_to(smtp_sink, coordinator)) == 2

        # Past the project's end: no more step-down emails.
        await sleep_until(
            env, handle, datetime.combine(deadline, datetime.min.time(), UTC) + timedelta(days=90)
        )
        assert len(step_downs_to(smtp_sink, AGENCY)) == 2
        assert len(step_downs_to(smtp_sink, coordinator)) == 2
        state = await handle.query(PartnershipWorkflow.state)
        assert sum(e.kind == "funding_step_down" for e in state.timeline) == 4

        history = await handle.fetch_history()
        await handle.terminate()
    await Replayer(
        workflows=[PartnershipWorkflow], data_converter=pydantic_data_converter
    ).replay_workflow(history)


def test_the_steps_fall_on_the_plan_s_anniversaries() -> None:
    assert a_year_after(date(2028, 2, 29)) == date(2029, 2, 28)
