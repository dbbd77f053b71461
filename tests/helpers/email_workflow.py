"""A workflow that sends one email through the real `send_email` activity, as the
partnership and directory workflows do, with the attempt timeout and retries a test needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from domain.notification import Delivery, EmailMessage


@dataclass(frozen=True, kw_only=True)
class SendEmail:
    """The email, how long one attempt may run and how retries back off."""

    message: EmailMessage
    attempt: timedelta
    first_retry: timedelta
    longest_retry: timedelta | None = None
    attempts: int = 0  # 0: until it succeeds


@workflow.defn(sandboxed=False)
class SendOneEmail:
    @workflow.run
    async def run(self, send: SendEmail) -> Delivery:
        return await workflow.execute_activity(
            "send_email",
            send.message,
            result_type=Delivery,
            start_to_close_timeout=send.attempt,
            retry_policy=RetryPolicy(
                initial_interval=send.first_retry,
                maximum_interval=send.longest_retry,
                maximum_attempts=send.attempts,
            ),
        )
