"""One email to a resident, retried by Temporal until the mail server takes it."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.resident_notice import (
        NOTIFY_RESIDENT,
        RESIDENT_NOTICE_WORKFLOW,
        ResidentNotice,
        ResidentNoticeResult,
    )

# A day of attempts with the backoff capped at ten minutes; after that the resident still
# has the confirmation page, and the failure is listed with the failing notifications.
_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=10), maximum_attempts=150)


@workflow.defn(name=RESIDENT_NOTICE_WORKFLOW)
class ResidentNoticeWorkflow:
    """Started by the public website for a confirmation or a shortlist email."""

    @workflow.run
    async def run(self, notice: ResidentNotice) -> ResidentNoticeResult:
        """Send the email once (the notifier's ledger drops repeats)."""
        result: ResidentNoticeResult = await workflow.execute_activity(
            NOTIFY_RESIDENT,
            notice,
            result_type=ResidentNoticeResult,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=_RETRY,
        )
        return result
