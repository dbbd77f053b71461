"""The partnership workflow on the time-skipping server, with real SMTP and database."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain.partnership import CompleteNegotiation, Stage
from store.db import Sessions
from tests import partnership_scenario as sc
from tests.sinks import SmtpSink
from tests.workflow.partnership_support import act, partnership_worker, start
from workflows.partnership import PartnershipWorkflow


async def test_refused_gate_leaves_state_unchanged(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    env = time_skipping_env
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await start(env, worker)
        await act(handle, sc.invitations())
        await act(handle, [sc.commitment(a) for a in sc.PARTNERS])
        before = await act(handle, sc.negotiation_rest())
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await handle.execute_update(
                PartnershipWorkflow.complete_negotiation, CompleteNegotiation()
            )
        assert "member approval is required because it is a strategic partnership" in str(
            err.value.cause
        )
        after = await handle.query(PartnershipWorkflow.state)
        assert after == before
        assert after.stage is Stage.NEGOTIATE
        await handle.terminate()
