"""How long the running activity attempt may still act before Temporal may start the next.

Temporal starts a retry once an attempt's start-to-close timeout has passed, whether or not
that attempt is still running: a slow attempt (a busy database, a starved CPU) would then send
the same message as its retry. An activity that sends therefore asks for its send window and
stops in time. The attempt is timed on the worker's own clock from the moment the worker began
it, so a server clock that differs from the worker's cannot shrink or stretch the window.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

# Kept back at the end of an attempt for writing the ledger after a send.
LEDGER_RESERVE = timedelta(seconds=15)

_began: ContextVar[float] = ContextVar("activity_attempt_began")


class AttemptClock(Interceptor):
    """Worker interceptor noting when each activity attempt began."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _AttemptBegins(next)


class _AttemptBegins(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        _began.set(time.monotonic())
        return await super().execute_activity(input)


def time_left() -> float | None:
    """Seconds before the current attempt's start-to-close deadline. None when nothing would
    retry the attempt behind its back: no such timeout, or not run by a worker (a test calling
    the activity directly)."""
    timeout = activity.info().start_to_close_timeout
    began = _began.get(None)
    if not timeout or began is None:
        return None
    return began + timeout.total_seconds() - time.monotonic()


def send_window(longest: float) -> float:
    """Seconds the current attempt may spend on one send: at most ``longest``, and never past
    its deadline less the ledger reserve (a quarter of the timeout when that is shorter)."""
    left = time_left()
    timeout = activity.info().start_to_close_timeout
    if left is None or timeout is None:
        return longest
    return min(longest, left - min(LEDGER_RESERVE, timeout / 4).total_seconds())
