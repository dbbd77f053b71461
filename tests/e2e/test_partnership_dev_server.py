"""The partnership workflow on the real dev server: search attributes and suggested continue-as-new.

The dev server here suggests continuing as new after 50 events, so a run of Updates proves
the workflow hands its state to a fresh run when Temporal asks, and stays findable by its
search attributes.
"""

from __future__ import annotations

import asyncio

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.partnership import AnswerKeyQuestions, KeyAnswer
from store.db import Sessions
from tests.helpers import partnership_scenario as sc
from tests.helpers.partnership_support import act, partnership_worker, start
from tests.helpers.sinks import SmtpSink
from workflows.partnership import PartnershipWorkflow

pytestmark = pytest.mark.e2e


async def test_continues_as_new_when_the_server_suggests_it(
    dev_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    env = dev_env
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await start(env, worker)
        latest = env.client.get_workflow_handle_for(PartnershipWorkflow.run, handle.id)  # type: ignore[arg-type]
        await act(handle, sc.invitations())
        for n in range(1, 16):
            answer = AnswerKeyQuestions(answers=[KeyAnswer(number=3, answer=f"answer {n}")])
            await act(latest, [answer])  # type: ignore[arg-type]
        state = await latest.query(PartnershipWorkflow.state)
        assert state.key_answers[3] == "answer 15"
        assert len(state.partners) == len(sc.PARTNERS)
        assert (await latest.describe()).run_id != handle.result_run_id
        found: list[str] = []
        for _ in range(100):
            query = (
                f"PfKind = 'partnership' AND PfStage = 'negotiate' AND WorkflowId = '{handle.id}'"
            )
            found = [w.id async for w in env.client.list_workflows(query)]
            if handle.id in found:
                break
            await asyncio.sleep(0.1)
        assert handle.id in found
        await latest.terminate()
