"""A partnership with something to show: through planning, with actuals that are green,
amber and red, for the dashboard's page and browser tests."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.partnership import CompleteNegotiation, RecordIndicatorActual
from tests.helpers import partnership_scenario as sc
from tests.helpers.partnership_support import Handle, act, start, through_planning

# Benefit awards far beyond their £100,000 target; quality of life 12 % short of 75 % but up
# from 61 %; neighbourhood satisfaction 50 % against 80 %, down from 58 %.
ACTUALS = {"benefit-awards": 285_360.0, "quality-of-life": 66.0, "neighbourhood": 50.0}
EXPECTED_RAG = {
    "New and backdated benefit claim awards": "green",
    "Satisfied with quality of life": "amber",
    "Satisfied with the neighbourhood": "red",
}


async def implementing(env: WorkflowEnvironment, worker: Worker) -> Handle:
    """A partnership in Implement whose indicators have one actual each of ``ACTUALS``."""
    handle = await start(env, worker)
    today = (await env.get_current_time()).date()
    await through_planning(handle, today + timedelta(days=1))
    await act(
        handle,
        [
            RecordIndicatorActual(indicator_id=i, value=v, source="monitoring")
            for i, v in ACTUALS.items()
        ],
    )
    return handle


async def planning(env: WorkflowEnvironment, worker: Worker) -> Handle:
    """A partnership negotiated and established, now in Plan with no outcomes yet."""
    handle = await start(env, worker)
    await act(handle, sc.invitations())
    await act(handle, [sc.commitment(a) for a in sc.PARTNERS])
    await act(handle, [*sc.negotiation_rest(), sc.member_approval(), CompleteNegotiation()])
    await act(handle, sc.establishment())
    return handle
