"""A tiny workflow carrying a resident's personal data, for the encryption tests.

Kept in its own module with few imports because the workflow sandbox re-imports it.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow


class Resident(BaseModel):
    name: str
    address: str
    postcode: str


@activity.defn
async def greet(resident: Resident) -> str:
    return f"Dear {resident.name}, of {resident.address}"


@workflow.defn
class ResidentLetter:
    @workflow.run
    async def run(self, resident: Resident) -> str:
        return await workflow.execute_activity(
            greet, resident, start_to_close_timeout=timedelta(seconds=10)
        )
