"""How long a sign-in must wait after failures: by address and account together, never by
account alone.

Locking an account after N wrong passwords lets anyone who knows a staff member's user name
lock them out. Instead, failures slow down the one client address that made them: on that
account (after a few, each further failure doubles the wait) and, for an address failing
across many accounts, on every account. The right password from an address that has not
been failing signs in at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Failures of one address on one account allowed before the first wait (typos happen).
PAIR_FREE_FAILURES = 3
# Failures of one address over all accounts in ADDRESS_WINDOW before it waits on all.
ADDRESS_FREE_FAILURES = 10
FIRST_WAIT = timedelta(seconds=1)
MAX_WAIT = timedelta(minutes=15)
# Failures count for the pair until it signs in or this long has passed.
PAIR_WINDOW = timedelta(hours=24)
ADDRESS_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class FailureHistory:
    """Recent failed sign-ins that bear on one attempt."""

    pair_failures: int
    """Failures of this address on this account since its last success (in PAIR_WINDOW)."""
    pair_last_failure: datetime | None
    address_failures: int
    """Failures of this address on any account in ADDRESS_WINDOW."""
    address_last_failure: datetime | None


def wait_after(failures: int, free: int) -> timedelta:
    """The wait after ``failures`` in a row when ``free`` are allowed: doubling, capped."""
    if failures < free:
        return timedelta(0)
    doublings: int = min(failures - free, 20)
    wait: timedelta = FIRST_WAIT * (2**doublings)
    return min(wait, MAX_WAIT)


def wait_before_next(history: FailureHistory, now: datetime) -> timedelta:
    """How long this address must still wait before trying this account (zero: try now)."""
    until = now
    if history.pair_last_failure is not None:
        pair = history.pair_last_failure + wait_after(history.pair_failures, PAIR_FREE_FAILURES)
        until = max(until, pair)
    if history.address_last_failure is not None:
        wait = wait_after(history.address_failures, ADDRESS_FREE_FAILURES)
        until = max(until, history.address_last_failure + wait)
    return until - now
