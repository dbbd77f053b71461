"""One directory sync run: import the configured ORUK feed, then re-route the open referrals of
every service that stopped taking referrals and tell the co-ordinator.

Started by the ``directory-sync`` Schedule, and by imports from the CLI or the API (which
pass the services they withdrew), so re-routing is durable whoever imported the feed.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    # pydantic validates EmailStr with email_validator, imported on first use: load it here
    # so the sandbox shares the module instead of re-importing it during a run.
    import email_validator  # noqa: F401

    from domain.notification import Delivery, EmailMessage, idempotency_key
    from domain.oruk.sync import (
        DirectorySyncInput,
        DirectorySyncResult,
        SyncReport,
        WithdrawalReport,
        Withdrawals,
        withdrawal_notice,
    )

WORKFLOW_NAME = "DirectorySync"


@workflow.defn(name=WORKFLOW_NAME)
class DirectorySyncWorkflow:
    """Import a feed (if given) and re-route referrals off withdrawn services."""

    @workflow.run
    async def run(self, params: DirectorySyncInput) -> DirectorySyncResult:
        """The run: import, signal the waiting referrals, email the co-ordinator."""
        result = DirectorySyncResult(withdrawn=list(params.withdrawn))
        if params.feed is not None:
            report = await workflow.execute_activity(
                "sync_directory_feed",
                params.feed,
                result_type=SyncReport,
                start_to_close_timeout=timedelta(minutes=15),
                retry_policy=RetryPolicy(maximum_attempts=5),
            )
            result.sync = report
            result.withdrawn += report.withdrawn
        if not result.withdrawn:
            return result
        told = await workflow.execute_activity(
            "signal_withdrawn_services",
            Withdrawals(services=result.withdrawn),
            result_type=WithdrawalReport,
            start_to_close_timeout=timedelta(minutes=10),
        )
        result.referrals = told.referrals
        if told.coordinator:
            info = workflow.info()
            count = len(result.withdrawn)
            await workflow.execute_activity(
                "send_email",
                EmailMessage(
                    idempotency_key=idempotency_key(info.workflow_id, info.run_id, "coordinator"),
                    to=[told.coordinator],
                    subject=f"{count} service(s) withdrawn from the directory",
                    text=withdrawal_notice(told, result.withdrawn),
                    subject_ref="directory",
                ),
                result_type=Delivery,
                start_to_close_timeout=timedelta(minutes=2),
            )
            result.coordinator_told = True
        return result
