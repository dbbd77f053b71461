"""Short steps against partnerflow's own store (record a referral or leg, route a need), run
by referral workflows as local activities.

A local activity runs in the worker inside the workflow task that asks for it: no activity
task goes through the server and no further workflow task is needed for its result. A
referral records itself about ten times on its way to an outcome, so this halves the work it
asks of Temporal. Notices stay ordinary activities: they talk to partner agencies, may take
long and retry for hours, and their failures must show on the server while they do.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow

# Workflows started before this patch ran these steps as ordinary activities and replay so.
LOCAL_STORE_STEPS = "store-steps-local"
STORE_STEP_TIMEOUT = timedelta(seconds=60)

ResultT = TypeVar("ResultT")


async def run_store_step(activity: str, arg: Any, result_type: type[ResultT]) -> ResultT:
    """Run the store activity ``activity`` with ``arg``: locally since the patch, else as an
    ordinary activity (the first call in a run decides for the whole run)."""
    result: ResultT
    if workflow.patched(LOCAL_STORE_STEPS):
        result = await workflow.execute_local_activity(
            activity, arg, start_to_close_timeout=STORE_STEP_TIMEOUT, result_type=result_type
        )
    else:
        result = await workflow.execute_activity(
            activity, arg, start_to_close_timeout=STORE_STEP_TIMEOUT, result_type=result_type
        )
    return result
