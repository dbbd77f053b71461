"""`make bench`: run every benchmark in turn; figures first, ratios last in each section."""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Callable
from typing import Any

from bench import (
    api_load,
    data_keys,
    find,
    open_workflows,
    operations,
    oruk,
    priority,
    referrals,
    routing,
    scale_out,
    volume,
)
from bench.common import machine

BENCHES: list[Callable[[], Any]] = [
    routing.main,
    referrals.main,
    data_keys.main,
    scale_out.main,
    open_workflows.main,
    api_load.main,
    volume.main,
    operations.main,
    find.main,
    oruk.main,
    priority.main,
]


def run() -> int:
    """Run the benchmarks; exit status 1 when a target ratio was not met."""
    print(f"# partnerflow benchmarks · {machine()}")
    results = []
    for bench in BENCHES:
        outcome = bench()
        if inspect.isawaitable(outcome):
            outcome = asyncio.run(outcome)  # type: ignore[arg-type]
        results.append(bool(outcome))
    print(f"\n{sum(results)} of {len(results)} benchmarks met their targets")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(run())
