"""The sign-in wait rule: by address and account together, doubling, capped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.sign_in_throttle import (
    ADDRESS_FREE_FAILURES,
    MAX_WAIT,
    PAIR_FREE_FAILURES,
    FailureHistory,
    wait_after,
    wait_before_next,
)

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
S = timedelta(seconds=1)


def test_a_few_failures_cost_nothing_then_each_doubles_the_wait_up_to_the_cap() -> None:
    waits = [wait_after(n, PAIR_FREE_FAILURES) for n in range(PAIR_FREE_FAILURES + 12)]
    assert waits[:PAIR_FREE_FAILURES] == [timedelta(0)] * PAIR_FREE_FAILURES
    assert waits[PAIR_FREE_FAILURES : PAIR_FREE_FAILURES + 4] == [S, 2 * S, 4 * S, 8 * S]
    assert waits[-1] == MAX_WAIT
    assert wait_after(10_000, PAIR_FREE_FAILURES) == MAX_WAIT


def test_the_wait_runs_from_the_last_failure() -> None:
    history = FailureHistory(
        pair_failures=PAIR_FREE_FAILURES + 2,
        pair_last_failure=NOW - S,
        address_failures=PAIR_FREE_FAILURES + 2,
        address_last_failure=NOW - S,
    )
    assert wait_before_next(history, NOW) == 3 * S
    assert wait_before_next(history, NOW + 10 * S) <= timedelta(0)


def test_an_address_failing_on_many_accounts_waits_on_every_account() -> None:
    history = FailureHistory(
        pair_failures=0,
        pair_last_failure=None,
        address_failures=ADDRESS_FREE_FAILURES + 1,
        address_last_failure=NOW,
    )
    assert wait_before_next(history, NOW) == 2 * S


def test_no_failures_no_wait() -> None:
    history = FailureHistory(
        pair_failures=0, pair_last_failure=None, address_failures=0, address_last_failure=None
    )
    assert wait_before_next(history, NOW) == timedelta(0)
