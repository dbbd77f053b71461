"""The retention run: anonymise, batch by batch, every referral closed longer than the period."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.retention import (
        ANONYMISE_ACTIVITY,
        RETENTION_WORKFLOW,
        RetentionBatch,
        RetentionInput,
        RetentionReport,
        RetentionResult,
        retention_cutoff,
    )

# Enough for a day's closures many times over; beyond it the next scheduled run carries on.
MAX_BATCHES_PER_RUN = 50


@workflow.defn(name=RETENTION_WORKFLOW)
class RetentionWorkflow:
    """Run by the daily ``retention`` Schedule."""

    @workflow.run
    async def run(self, params: RetentionInput) -> RetentionReport:
        """Erase batches until none is left (or the run's share is done)."""
        report = RetentionReport(
            closed_before=retention_cutoff(workflow.now(), params.retention_days)
        )
        for _ in range(MAX_BATCHES_PER_RUN):
            result = await workflow.execute_activity(
                ANONYMISE_ACTIVITY,
                RetentionBatch(
                    closed_before=report.closed_before,
                    limit=params.batch_size,
                    run_id=workflow.info().run_id,
                ),
                result_type=RetentionResult,
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
            )
            report.anonymised += len(result.anonymised)
            if len(result.anonymised) < params.batch_size:
                return report
        report.continued = True
        return report
