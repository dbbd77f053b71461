"""The baseline for the referral benchmark: a workflow that runs one activity that does nothing."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def noop() -> None:
    """Nothing: the cost of one activity round trip."""


@workflow.defn
class BareWorkflow:
    """One no-op activity, then done."""

    @workflow.run
    async def run(self) -> None:
        """Run the no-op activity once."""
        await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=30))
