"""A small borough for referral workflow tests: a directory, real sinks, a worker's parts."""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import string
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.notify import Notifier, NotifierConfig
from activities.referral_notices import NoticeConfig
from clients.temporal import start_referral
from domain.directory import Directory, Organisation, Service
from domain.referral import (
    ACCEPT_UPDATE,
    RECORD_FOLLOW_UP_UPDATE,
    RECORD_OUTCOME_UPDATE,
    STATE_QUERY,
    WITHDRAW_UPDATE,
    AgencyAction,
    Consent,
    ConsentMethod,
    FollowUp,
    Need,
    Outcome,
    OutcomeCode,
    RecordOutcome,
    ReferralInput,
    ReferralPolicy,
    ReferralSource,
    ReferralStatus,
    ReferralSubmission,
    ReferralView,
    Referrer,
    Resident,
    Withdrawal,
    referral_input,
)
from domain.signed_link import LinkKeys
from store.db import Sessions
from store.directory import save_directory
from store.referrals import next_referral_number, save_referral
from tests.helpers.sinks import WEBHOOK_SECRET, SmtpSink, WebhookSink
from workers.worker import INTERCEPTORS, referral_activities
from workflows.referral import ReferralWorkflow
from workflows.referral_leg import ReferralLegWorkflow

COORDINATOR = "coordinator@partnership.example"
REFERRER = "outreach@tendring.example"
RESIDENT_NAME = "Edna Quillfeather"

# Made for each run: no secret is written in the code. The API the tests open checks
# notices' links with the same keys.
LINK_KEYS = LinkKeys.from_secrets([secrets.token_urlsafe(32)])


_QUERY_ATTEMPTS = 3
# How long a test waits for a workflow to reach a state: generous, since on a loaded machine a
# step that takes a second alone can take many (a wait only ends early, never makes it pass).
WAIT = 45.0


def directory(webhook_url: str) -> Directory:
    """CAB and an advice charity for debt (CAB first), council housing, and the police."""
    return Directory(
        organisations=[
            Organisation(id="cab", name="Citizens Advice"),
            Organisation(id="charity", name="Money Advice Charity"),
            Organisation(id="council", name="Council Housing"),
            Organisation(id="police", name="Essex Police"),
        ],
        services=[
            Service(
                id="cab-debt",
                organisation_id="cab",
                name="CAB debt advice",
                categories=["benefits_debt"],
                email="intake@cab.example",
                webhook_url=webhook_url,  # type: ignore[arg-type]
            ),
            Service(
                id="charity-debt",
                organisation_id="charity",
                name="Charity money advice",
                categories=["benefits_debt"],
                capacity="limited",
                email="help@charity.example",
            ),
            Service(
                id="council-housing",
                organisation_id="council",
                name="Housing options",
                categories=["housing"],
                areas=["pier"],
                email="housing@council.example",
            ),
            Service(
                id="police-safety",
                organisation_id="police",
                name="Neighbourhood policing",
                categories=["community_safety"],
                email="safer@police.example",
                phone="101",
                address="Clacton police station",
            ),
        ],
    )


def submission(
    *needs: Need, consent: Sequence[str] = ("cab", "charity", "council")
) -> ReferralSubmission:
    """A Reach Out referral for one resident of Pier ward, made even when one is open."""
    return ReferralSubmission(
        source=ReferralSource.REACH_OUT,
        ward="pier",
        resident=Resident(
            name=RESIDENT_NAME,
            date_of_birth=date(1951, 3, 14),
            address="12 Marine Parade, Clacton",
            postcode="CO15 1AA",
            phone="01255 000000",
        ),
        needs=list(needs) or [Need(category="benefits_debt", notes="Rent arrears since May")],
        consent=Consent(
            agency_ids=list(consent),
            given_at=datetime(2026, 11, 2, 10, tzinfo=UTC),
            method=ConsentMethod.VERBAL,
        ),
        referrer=Referrer(name="Reach Out worker", email=REFERRER),
        # Tests make several referrals for this one resident; the same-resident tests do not.
        confirm_new=True,
    )


@dataclass
class World:
    """Everything a referral test needs, with a running worker."""

    client: Client
    sessions: Sessions
    smtp: SmtpSink
    webhooks: WebhookSink
    task_queue: str
    # Numbers restart in each test's fresh database; a prefix per world keeps ids unique.
    prefix: str = field(
        default_factory=lambda: "".join(random.choices(string.ascii_uppercase, k=6))
    )
    started: list[WorkflowHandle[Any, ReferralView]] = field(default_factory=list)

    async def submit(
        self, sub: ReferralSubmission, policy: ReferralPolicy | None = None
    ) -> WorkflowHandle[Any, ReferralView]:
        """Save the referral with its personal data, then start its workflow (as the API does)."""
        number = await next_referral_number(self.sessions, self.prefix, 2026)
        now = datetime.now(UTC)
        await save_referral(self.sessions, number, sub, submitted_by="reach-out-1", at=now)
        inp: ReferralInput = referral_input(
            number, sub, submitted_by="reach-out-1", today=now.date()
        )
        if policy is not None:
            inp = inp.model_copy(update={"policy": policy})
        handle = await start_referral(self.client, inp, task_queue=self.task_queue, since=now)
        self.started.append(handle)
        return handle

    async def state(self, handle: WorkflowHandle[Any, Any]) -> ReferralView:
        """The referral's state query.

        A query the worker could not answer within the SDK's 2 s deadlock limit (a starved
        CPU or a garbage collection pause, never a state of the referral) is asked again.
        """
        for attempt in range(_QUERY_ATTEMPTS):
            try:
                return await handle.query(STATE_QUERY, result_type=ReferralView)
            except WorkflowQueryFailedError as exc:
                if "[TMPRL1101]" not in str(exc) or attempt == _QUERY_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.5)
        raise AssertionError("unreachable")

    async def until(
        self,
        handle: WorkflowHandle[Any, Any],
        check: Callable[[ReferralView], bool],
        within: float = WAIT,
    ) -> ReferralView:
        """Query until ``check`` holds."""
        async with asyncio.timeout(within):
            while True:
                view = await self.state(handle)
                if check(view):
                    return view
                await asyncio.sleep(0.1)

    async def close_loop(
        self, handle: WorkflowHandle[Any, ReferralView], leg_id: str, within: float = WAIT
    ) -> ReferralView:
        """The CAB accepts the leg and records that the resident got help, the referrer records
        the follow-up: the referral's view once it has closed."""
        leg = self.client.get_workflow_handle(leg_id)
        await leg.execute_update(ACCEPT_UPDATE, AgencyAction(agency_id="cab", actor="cab-user"))
        await leg.execute_update(
            RECORD_OUTCOME_UPDATE,
            RecordOutcome(
                agency_id="cab", actor="cab-user", outcome=Outcome(code=OutcomeCode.GOT_HELP)
            ),
        )
        await self.until(handle, lambda v: v.status is ReferralStatus.FOLLOW_UP, within=within)
        await handle.execute_update(
            RECORD_FOLLOW_UP_UPDATE, FollowUp(actor="reach-out-1", made_difference=True)
        )
        return await handle.result()


async def eventually(check: Callable[[], bool], within: float = WAIT) -> None:
    """Wait until ``check`` holds (e.g. an email an activity sends has arrived)."""
    async with asyncio.timeout(within):
        while True:
            if check():
                return
            await asyncio.sleep(0.05)


def referral_activities_with(sessions: Sessions, notifier: Notifier) -> list[Callable[..., Any]]:
    """Every activity the referral workflows call, sending through ``notifier``."""
    return referral_activities(
        sessions, notifier, NoticeConfig(coordinator_email=COORDINATOR, link_keys=LINK_KEYS)
    )


@contextlib.asynccontextmanager
async def open_world(
    client: Client,
    sessions: Sessions,
    smtp: SmtpSink,
    webhooks: WebhookSink,
    *,
    max_cached_workflows: int = 1000,
    borough: Directory | None = None,
    workflows: Sequence[type] = (),
    activities: Sequence[Callable[..., Any]] = (),
) -> AsyncIterator[World]:
    """Load the directory (``borough``, or the small one above), run a worker with the referral
    workflows and activities (and any ``workflows``/``activities`` given), yield the world;
    referrals left open are withdrawn before the worker stops."""
    async with sessions.begin() as session:
        await save_directory(session, borough or directory(webhooks.url))
    notifier = Notifier(
        NotifierConfig(smtp_port=smtp.port, webhook_secrets=(WEBHOOK_SECRET,), sender="pf@test"),
        sessions,
    )
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[ReferralWorkflow, ReferralLegWorkflow, *workflows],
        activities=[*referral_activities_with(sessions, notifier), *activities],
        max_cached_workflows=max_cached_workflows,
        interceptors=INTERCEPTORS,
    ):
        world = World(client, sessions, smtp, webhooks, task_queue)
        try:
            yield world
        finally:
            await _end(world)


async def run_world(
    client: Client,
    sessions: Sessions,
    smtp: SmtpSink,
    webhooks: WebhookSink,
    body: Callable[[World], Awaitable[None]],
    *,
    max_cached_workflows: int = 1000,
    borough: Directory | None = None,
    workflows: Sequence[type] = (),
    activities: Sequence[Callable[..., Any]] = (),
) -> None:
    """Run ``body`` in a world opened as :func:`open_world` does."""
    async with open_world(
        client,
        sessions,
        smtp,
        webhooks,
        max_cached_workflows=max_cached_workflows,
        borough=borough,
        workflows=workflows,
        activities=activities,
    ) as world:
        await body(world)


async def _end(world: World) -> None:
    """Withdraw referrals a test left open and let them finish while the worker still runs:
    on the shared test server, open workflows of a departed worker would hold its clock."""
    for handle in world.started:
        with contextlib.suppress(RPCError, WorkflowUpdateFailedError):  # already finished
            await handle.execute_update(
                WITHDRAW_UPDATE, Withdrawal(actor="test", reason="test finished")
            )
        with contextlib.suppress(WorkflowFailureError, RPCError):
            async with asyncio.timeout(30):
                await handle.result()
