"""The one door to Temporal for the API, the dashboard, the CLI and activities.

Starting, updating and querying workflows goes through these small functions, named in the
product's words and typed by workflow method references. They raise three plain errors, which
:mod:`api.http.errors` maps to HTTP once: :class:`WorkflowRefused` (the workflow's rules said
no, with the reason), :class:`WorkflowGone` (no such workflow running) and
:class:`TemporalUnavailable` (Temporal or the worker could not answer; nothing was changed).
Every Update and query takes an optional ``wait``: how long the caller waits for the answer.

Longer than 400 lines on purpose: it is the whole door, and its error mapping is shared by
every call through it; split, each part would need the same mapping again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import structlog
from pydantic import BaseModel
from temporalio.client import (
    Client,
    Schedule,
    ScheduleAlreadyRunningError,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    Priority,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from domain.directory import ServiceWithdrawn
from domain.offers import OfferAcceptance
from domain.oruk.sync import DirectorySyncInput
from domain.partnership import PartnershipAction, PartnershipState, Stage
from domain.referral import LegView, ReferralInput, ReferralView, task_priority
from domain.resident_notice import ResidentNotice, resident_notice_id
from workflows import search_attributes as sa
from workflows.directory_sync import DirectorySyncWorkflow
from workflows.partnership import ActionResult, PartnershipInput, PartnershipWorkflow
from workflows.referral import ReferralWorkflow
from workflows.referral_leg import ReferralLegWorkflow
from workflows.resident_notice import ResidentNoticeWorkflow

log = structlog.get_logger(__name__)

T = TypeVar("T")
A = TypeVar("A", bound=BaseModel)

LegUpdate = UpdateMethodMultiParam[[ReferralLegWorkflow, Any], Awaitable[LegView]]
"""An Update of the leg workflow, e.g. ``ReferralLegWorkflow.accept``."""
ReferralUpdate = UpdateMethodMultiParam[[ReferralWorkflow, Any], Awaitable[ReferralView]]
"""An Update of the referral workflow, e.g. ``ReferralWorkflow.withdraw``."""
PartnershipQuery = Callable[[PartnershipWorkflow], T]
"""A query of the partnership workflow, e.g. ``PartnershipWorkflow.state``."""

# A start whose answer was lost may still have started; this much clock skew is allowed.
START_SKEW = timedelta(seconds=5)


class WorkflowRefused(Exception):
    """The workflow's rules refused the request; nothing changed. ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WorkflowGone(Exception):
    """No such workflow is running, so nothing can change it. ``missing`` when the thing it
    stands for answers as not found (a partnership); otherwise it has ended (a referral)."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing


class TemporalUnavailable(Exception):
    """Temporal, or the worker behind it, could not answer; try again later."""


class TemporalTimedOut(TemporalUnavailable):
    """No answer within the call deadline (no worker running, or one far behind). An Update
    may still be applied once a worker takes it: ``reason`` says so, for the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


CALL_DEADLINE = timedelta(seconds=10)
"""How long the API waits for an Update's or a query's answer unless configured otherwise."""
_deadline = CALL_DEADLINE


def set_call_deadline(deadline: timedelta) -> None:
    """Set how long every Update and query waits for its answer (``PARTNERFLOW_TEMPORAL_CALL_
    SECONDS``); past it the call raises :class:`TemporalTimedOut`."""
    global _deadline
    _deadline = deadline


def _wait(wait: timedelta | None) -> timedelta:
    return wait if wait is not None else _deadline


def _no_answer(*, query: bool = False) -> TemporalTimedOut:
    seconds = f"{_deadline.total_seconds():g}"
    if query:
        return TemporalTimedOut(f"no answer from the workflow within {seconds} s; nothing changed")
    return TemporalTimedOut(
        f"no answer from the workflow within {seconds} s (is a worker running?); the action may "
        "still be applied when a worker takes it: read its state before repeating it"
    )


class TemporalLink(Protocol):
    """How a process reaches Temporal: connects on first use, so it can start before Temporal."""

    async def client(self) -> Client:
        """The connected client; raises if Temporal cannot be reached."""
        ...


async def connect(link: TemporalLink) -> Client:
    """The link's client, or :class:`TemporalUnavailable`."""
    try:
        return await link.client()
    except Exception as exc:
        log.warning("temporal unreachable", error=repr(exc))
        raise TemporalUnavailable(str(exc)) from None


def _refusal(exc: WorkflowUpdateFailedError) -> WorkflowRefused:
    cause = exc.cause
    reason = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
    return WorkflowRefused(reason or "refused")


async def _update(
    client: Client, workflow_id: str, update: Any, arg: BaseModel, *, gone: WorkflowGone, **kw: Any
) -> Any:
    # With the request id bound by the API, this line ties a request to its workflow.
    log.info("update sent", workflow_id=workflow_id, update=getattr(update, "__name__", update))
    try:
        return await client.get_workflow_handle(workflow_id).execute_update(update, arg, **kw)
    except WorkflowUpdateFailedError as exc:
        raise _refusal(exc) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise _no_answer() from None
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise gone from None
        if exc.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            raise _no_answer() from None
        log.warning("update failed", workflow_id=workflow_id, error=repr(exc))
        raise TemporalUnavailable(exc.message) from None


# Referrals and their legs.


async def start_referral(
    client: Client, referral: ReferralInput, *, task_queue: str, since: datetime
) -> WorkflowHandle[ReferralWorkflow, ReferralView]:
    """Start the referral's workflow (its id is the number, never reused); its handle. A start
    whose answer was lost but that did start counts as started; otherwise
    :class:`TemporalUnavailable`."""
    try:
        return await client.start_workflow(
            ReferralWorkflow.run,
            referral,
            id=referral.number,
            task_queue=task_queue,
            # Urgent referrals' tasks go first when the workers are behind; legs and activities
            # inherit it unless they say otherwise.
            priority=Priority(priority_key=task_priority([n.urgency for n in referral.needs])),
            # A number names one referral for ever: never a second run under it.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except Exception as exc:
        lost_answer = not isinstance(exc, WorkflowAlreadyStartedError)
        if not (lost_answer and await _started_since(client, referral.number, since)):
            log.warning("referral not started", referral=referral.number, error=repr(exc))
            raise TemporalUnavailable("Temporal did not take the referral") from None
        return client.get_workflow_handle_for(ReferralWorkflow.run, referral.number)


async def start_resident_notice(client: Client, notice: ResidentNotice, *, task_queue: str) -> None:
    """Start the workflow that sends one email to a resident (once per notice: a second start
    of the same notice is already done); otherwise :class:`TemporalUnavailable`."""
    try:
        await client.start_workflow(
            ResidentNoticeWorkflow.run,
            notice,
            id=resident_notice_id(notice),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return
    except Exception as exc:
        log.warning("resident notice not started", kind=notice.kind.value, error=repr(exc))
        raise TemporalUnavailable("Temporal did not take the email") from None


async def _started_since(client: Client, workflow_id: str, since: datetime) -> bool:
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except Exception:
        return False
    return described.start_time >= since - START_SKEW


async def update_leg(
    client: Client,
    leg_id: str,
    update: LegUpdate,
    arg: BaseModel,
    *,
    gone: str,
    wait: timedelta | None = None,
) -> LegView:
    """Run one of the leg's Updates; ``gone`` is the reason given if the leg has ended."""
    view: LegView = await _update(
        client,
        leg_id,
        update,
        arg,
        gone=WorkflowGone(gone),
        result_type=LegView,
        rpc_timeout=_wait(wait),
    )
    return view


async def update_referral(
    client: Client,
    number: str,
    update: ReferralUpdate,
    arg: BaseModel,
    *,
    wait: timedelta | None = None,
) -> ReferralView:
    """Run one of the referral's Updates (withdraw, withdraw consent, follow-up)."""
    view: ReferralView = await _update(
        client,
        number,
        update,
        arg,
        gone=WorkflowGone("the referral is no longer running"),
        result_type=ReferralView,
        rpc_timeout=_wait(wait),
    )
    return view


async def accept_offer(
    client: Client, number: str, acceptance: OfferAcceptance, *, wait: timedelta | None = None
) -> LegView:
    """Accept an offered leg through its referral, which lets exactly one accept be first;
    a later one is :class:`WorkflowRefused` with the reason."""
    view: LegView = await _update(
        client,
        number,
        ReferralWorkflow.accept_offer,
        acceptance,
        gone=WorkflowGone("the referral is no longer running"),
        result_type=LegView,
        rpc_timeout=_wait(wait),
    )
    return view


async def query_referral(
    client: Client, number: str, *, wait: timedelta | None = None
) -> ReferralView:
    """The referral's state as its workflow sees it now, or :class:`TemporalUnavailable`."""
    try:
        handle = client.get_workflow_handle_for(ReferralWorkflow.run, number)
        return await handle.query(ReferralWorkflow.state, rpc_timeout=_wait(wait))
    except RPCError as exc:
        log.info("referral state not queried", referral=number, error=repr(exc))
        if exc.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            raise _no_answer(query=True) from None
        raise TemporalUnavailable(str(exc)) from None
    except Exception as exc:
        log.info("referral state not queried", referral=number, error=repr(exc))
        raise TemporalUnavailable(str(exc)) from None


async def query_leg(
    client: Client, leg_id: str, *, wait: timedelta | None = None
) -> LegView | None:
    """The leg as its workflow sees it now (before the read model has it, say); ``None`` when
    there is no such leg; :class:`TemporalUnavailable` when Temporal cannot answer."""
    try:
        handle = client.get_workflow_handle_for(ReferralLegWorkflow.run, leg_id)
        return await handle.query(ReferralLegWorkflow.state, rpc_timeout=_wait(wait))
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return None
        log.info("leg state not queried", leg_id=leg_id, error=repr(exc))
        raise TemporalUnavailable(str(exc)) from None


# The directory: services withdrawn from it re-route the referrals waiting on them.


def waiting_on_query(service_id: str) -> str:
    """The visibility query for running referrals with an open leg on ``service_id``."""
    if "'" in service_id or "\\" in service_id:
        raise ValueError(f"unexpected characters in service id {service_id!r}")
    return f"{sa.WAITING_ON.name} = '{service_id}' AND ExecutionStatus = 'Running'"


async def signal_waiting_referrals(
    client: Client, withdrawn: list[ServiceWithdrawn]
) -> dict[str, list[str]]:
    """Signal every running referral waiting on a withdrawn service; ids signalled per service.

    A referral that finished in between is skipped; one signalled twice (a retry) re-routes
    only legs still open on the service, so repeating is harmless.
    """
    signalled: dict[str, list[str]] = {}
    for item in withdrawn:
        ids = signalled.setdefault(item.service_id, [])
        async for execution in client.list_workflows(waiting_on_query(item.service_id)):
            try:
                handle = client.get_workflow_handle_for(ReferralWorkflow.run, execution.id)
                await handle.signal(ReferralWorkflow.service_withdrawn, item)
            except RPCError as exc:
                if exc.status is not RPCStatusCode.NOT_FOUND:
                    raise
                continue
            ids.append(execution.id)
    return signalled


async def start_rerouting(
    client: Client, task_queue: str, withdrawn: list[ServiceWithdrawn]
) -> str:
    """Hand services an import withdrew to a directory sync run, which re-routes their open
    referrals and tells the co-ordinator; returns its workflow id."""
    digest = hashlib.sha256(
        json.dumps([w.model_dump() for w in withdrawn], sort_keys=True).encode()
    ).hexdigest()[:16]
    workflow_id = f"directory-withdrawals-{digest}"
    # The same withdrawals already being handled: nothing more to start.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            DirectorySyncWorkflow.run,
            DirectorySyncInput(withdrawn=withdrawn),
            id=workflow_id,
            task_queue=task_queue,
        )
    return workflow_id


# Partnerships.


def partnership_workflow_id(partnership_id: str) -> str:
    """The id of a partnership's workflow."""
    return f"partnership-{partnership_id}"


def _no_partnership() -> WorkflowGone:
    return WorkflowGone("no partnership with that id", missing=True)


def _partnership_rpc(exc: RPCError, *, query: bool = False) -> Exception:
    if exc.status is RPCStatusCode.NOT_FOUND:
        return _no_partnership()
    if exc.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
        return _no_answer(query=query)
    log.warning("temporal call failed", status=exc.status.name, error=exc.message)
    return TemporalUnavailable("Temporal could not answer")


async def start_partnership(client: Client, state: PartnershipState, *, task_queue: str) -> str:
    """Start the partnership's one long-lived workflow; its workflow id.
    :class:`WorkflowRefused` if one with that id exists."""
    try:
        handle = await client.start_workflow(
            PartnershipWorkflow.run,
            PartnershipInput(state=state),
            id=partnership_workflow_id(state.id),
            task_queue=task_queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.KIND, "partnership"),
                    SearchAttributePair(sa.STAGE, Stage.NEGOTIATE.value),
                    SearchAttributePair(sa.CYCLE, 1),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        raise WorkflowRefused(f"partnership {state.id} already exists") from None
    except RPCError as exc:
        if exc.status is RPCStatusCode.ALREADY_EXISTS:
            raise WorkflowRefused(f"partnership {state.id} already exists") from None
        raise _partnership_rpc(exc) from None
    return handle.id


async def update_partnership(
    client: Client,
    partnership_id: str,
    action: PartnershipAction,
    command: BaseModel,
    *,
    wait: timedelta | None = None,
    update_id: str | None = None,
) -> ActionResult:
    """Run the declared ``action``'s Update on the partnership; with ``update_id``, a repeat
    within the workflow's run is answered from the first."""
    handle = client.get_workflow_handle_for(
        PartnershipWorkflow.run, partnership_workflow_id(partnership_id)
    )
    try:
        result: ActionResult = await handle.execute_update(
            action.update, command, id=update_id, result_type=ActionResult, rpc_timeout=_wait(wait)
        )
    except WorkflowUpdateFailedError as exc:
        raise _refusal(exc) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise _no_answer() from None
    except RPCError as exc:
        raise _partnership_rpc(exc) from None
    return result


async def query_partnership(
    client: Client,
    partnership_id: str,
    query: PartnershipQuery[T],
    *,
    wait: timedelta | None = None,
) -> T:
    """Ask the partnership's workflow ``query`` (e.g. ``PartnershipWorkflow.state``)."""
    handle = client.get_workflow_handle_for(
        PartnershipWorkflow.run, partnership_workflow_id(partnership_id)
    )
    try:
        return await handle.query(query, rpc_timeout=_wait(wait))
    except RPCError as exc:
        raise _partnership_rpc(exc, query=True) from None
    except WorkflowQueryFailedError as exc:
        raise TemporalUnavailable(f"the partnership could not answer: {exc}") from None


# Schedules.


async def ensure_schedule(client: Client, schedule_id: str, schedule: Schedule) -> None:
    """Create the schedule ``schedule_id``, or replace the one running under that id."""
    try:
        await client.create_schedule(schedule_id, schedule)
        log.info("schedule created", schedule_id=schedule_id)
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(replace)
        log.info("schedule updated", schedule_id=schedule_id)
