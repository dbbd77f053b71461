"""A stand-in for the referral workflow's side of the directory contract, for tests only.

It lists the services it waits on in ``PfWaitingOn`` and records every service-withdrawn
signal, which is all a directory sync relies on.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.directory import SERVICE_WITHDRAWN_SIGNAL, ServiceWithdrawn
    from workflows.search_attributes import WAITING_ON


class Waiting(BaseModel):
    service_ids: list[str]


@workflow.defn(name="TestWaitingReferral")
class WaitingReferral:
    def __init__(self) -> None:
        self._received: list[ServiceWithdrawn] = []
        self._waiting: list[str] = []
        self._done = False

    @workflow.run
    async def run(self, params: Waiting) -> list[ServiceWithdrawn]:
        self._waiting = list(params.service_ids)
        workflow.upsert_search_attributes([WAITING_ON.value_set(self._waiting)])
        await workflow.wait_condition(lambda: self._done)
        return self._received

    @workflow.signal(name=SERVICE_WITHDRAWN_SIGNAL)
    def service_withdrawn(self, item: ServiceWithdrawn) -> None:
        self._received.append(item)
        self._waiting = [s for s in self._waiting if s != item.service_id]
        workflow.upsert_search_attributes([WAITING_ON.value_set(self._waiting)])

    @workflow.signal
    def finish(self) -> None:
        self._done = True

    @workflow.query
    def received(self) -> list[ServiceWithdrawn]:
        return self._received
