"""One agency's part of a referral: send, wait for a response on an SLA ladder, follow through.

The leg's workflow id is its leg id. Agency users act on it through Updates whose validators
apply the leg state machine, so a refused action changes nothing. Every change is recorded in
the store and reported to the parent referral, which re-routes the need when the leg ends
declined, expired or withdrawn for re-routing.

Longer than 400 lines on purpose: one workflow class, whose Updates, their validators and the
SLA ladder share the leg's state; splitting the class would scatter one state machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    # pydantic imports it lazily to validate EmailStr; load it once outside the sandbox.
    import email_validator  # noqa: F401

    from domain.calendar import add_working_days
    from domain.declines import REROUTING_DECLINES, DeclineReason
    from domain.notification import idempotency_key
    from domain.offers import OFFER_ACCEPTED_SIGNAL, OfferAcceptance
    from domain.referral import (
        ACCEPT_UPDATE,
        CLOSE_UPDATE,
        DECLINE_UPDATE,
        FINAL_LEG_STATES,
        LEG_CHANGED_SIGNAL,
        LEG_WORKFLOW,
        RECORD_OUTCOME_UPDATE,
        START_UPDATE,
        STATE_QUERY,
        STOP_SIGNAL,
        AgencyAction,
        Decline,
        LegInput,
        LegState,
        LegStop,
        LegView,
        RecordOutcome,
        check_transition,
        response_deadline,
    )
    from domain.referral_records import (
        FEED_PARTNERSHIPS,
        MARK_SERVICE_FULL,
        NOTIFY_REFERRAL,
        RECORD_LEG,
        LegRecord,
        NoticeResult,
        NoticeStep,
        OutcomeFeed,
        OutcomeFeedResult,
        ReferralEvent,
        ReferralNotice,
        ServiceFull,
    )
    from workflows import search_attributes as sa
    from workflows.store_steps import run_store_step

ACTIVITY_TIMEOUT = timedelta(seconds=60)
SYSTEM = "system"
# Legs started before this change retry agency notices forever; later ones give up after the
# policy's limit and escalate to the co-ordinator instead.
AGENCY_NOTICE_GIVES_UP = "agency-notice-gives-up"
# Legs started before this change wait for an outcome without a deadline; later ones have
# one, counted in working days from acceptance, reminded then escalated when it passes.
OUTCOME_DEADLINE = "outcome-deadline"
_WORKING = frozenset({LegState.ACCEPTED, LegState.IN_PROGRESS})
# Legs started before this change record outcomes only; later ones also offer each outcome
# to the partnerships whose indicators are bound to referral outcomes.
OUTCOME_FEEDS_PARTNERSHIPS = "outcome-feeds-partnerships"
FEED_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5)
)
_AGENCY_STEPS = frozenset({NoticeStep.LEG_SENT, NoticeStep.LEG_REMINDER, NoticeStep.LEG_STOPPED})


@workflow.defn(name=LEG_WORKFLOW)
class ReferralLegWorkflow:
    """A leg: the need sent to one service, from sending to closing."""

    @workflow.init
    def __init__(self, leg: LegInput) -> None:
        now = workflow.now()
        self._input = leg
        self._view = LegView(
            leg_id=leg.leg_id,
            number=leg.number,
            need_id=leg.need.need_id,
            category=leg.need.category,
            urgency=leg.need.urgency,
            service_id=leg.service_id,
            agency_id=leg.agency_id,
            route_reason=leg.route_reason,
            sent_at=now,
            deadline=response_deadline(now, leg.need.urgency, leg.response_days),
            offered=leg.offered,
            updated_at=now,
        )
        self._events: list[ReferralEvent] = []
        self._stop: LegStop | None = None
        self._publishing = asyncio.Lock()
        self._feeds: list[workflow.ActivityHandle[OutcomeFeedResult]] = []

    @workflow.run
    async def run(self, leg: LegInput) -> LegView:
        """Send the referral, climb the SLA ladder while the agency is silent, then follow
        the agency's actions until the leg ends."""
        self._event("sent", SYSTEM, leg.route_reason)
        await self._notify(NoticeStep.LEG_SENT)
        await self._publish()
        if not await self._responded_by(self._view.deadline):
            self._view.breached = True
            self._view.reminded_at = workflow.now()
            self._event("reminded", SYSTEM, "no response by the deadline")
            escalate_at = add_working_days(self._view.deadline, leg.policy.escalate_after_days)
            self._view.escalate_at = escalate_at
            workflow.logger.info("leg %s breached its deadline; agency reminded", leg.leg_id)
            await self._notify(NoticeStep.LEG_REMINDER)
            await self._publish()
            if not await self._responded_by(escalate_at):
                self._move(LegState.EXPIRED)
                self._view.escalated_at = workflow.now()
                self._view.reroute = True
                self._event("escalated", SYSTEM, "no response after the reminder")
                workflow.logger.info("leg %s expired; escalated to the co-ordinator", leg.leg_id)
                await self._notify(NoticeStep.LEG_ESCALATED, "no response after the reminder")
                # The agency holds the resident's details: tell it the referral went elsewhere.
                await self._notify(NoticeStep.LEG_STOPPED, "no response: referred elsewhere")
                await self._publish()
        if self._view.state in _WORKING and workflow.patched(OUTCOME_DEADLINE):
            await self._await_outcome()
        await workflow.wait_condition(lambda: self._ended() or self._stop is not None)
        if not self._ended() and self._stop is not None:
            await self._apply_stop(self._stop)
        await workflow.wait_condition(workflow.all_handlers_finished)
        for feed in self._feeds:
            try:
                await feed
            except ActivityError:
                workflow.logger.warning("leg %s: its outcome could not be fed", leg.leg_id)
        return self._view

    @workflow.query(name=STATE_QUERY)
    def state(self) -> LegView:
        """The leg as it is now."""
        return self._view

    @workflow.signal(name=STOP_SIGNAL)
    def stop(self, stop: LegStop) -> None:
        """The referral stops this leg (withdrawn, service gone) or closes it after follow-up."""
        if self._stop is None:
            self._stop = stop

    # --- Agency actions ---------------------------------------------------------------------

    @workflow.update(name=ACCEPT_UPDATE)
    async def accept(self, action: AgencyAction) -> LegView:
        """The agency takes the referral on."""
        self._move(LegState.ACCEPTED)
        self._view.accepted_at = workflow.now()
        self._event("accepted", action.actor)
        await self._publish()
        return self._view

    @accept.validator
    def _validate_accept(self, action: AgencyAction) -> None:
        if self._input.offered:
            raise ValueError(
                "this leg is one of several offers: it is accepted through its referral, which "
                "decides which accept comes first"
            )
        self._check(action, LegState.ACCEPTED)

    @workflow.signal(name=OFFER_ACCEPTED_SIGNAL)
    async def offer_accepted(self, acceptance: OfferAcceptance) -> None:
        """The referral decided this offer's accept came first: the agency takes the need."""
        if self._view.state is not LegState.SENT or self._stop is not None:
            # Declined or stopped meanwhile: the referral sees it in the leg's next report.
            await self._publish()
            return
        self._move(LegState.ACCEPTED)
        self._view.accepted_at = workflow.now()
        self._event("accepted", acceptance.actor, "first of the offered services to accept")
        await self._publish()

    @workflow.update(name=START_UPDATE)
    async def start(self, action: AgencyAction) -> LegView:
        """The agency starts working with the resident."""
        self._move(LegState.IN_PROGRESS)
        self._event("started", action.actor)
        await self._publish()
        return self._view

    @start.validator
    def _validate_start(self, action: AgencyAction) -> None:
        self._check(action, LegState.IN_PROGRESS)

    @workflow.update(name=DECLINE_UPDATE)
    async def decline(self, decline: Decline) -> LegView:
        """The agency declines; the referral routes the need to the next service."""
        self._move(LegState.DECLINED)
        self._view.decline_reason = decline.reason
        self._view.decline_why = decline.why
        self._view.better_service_id = decline.service_id
        # The referral decides the next step from the reason; only these route again.
        self._view.reroute = decline.why in REROUTING_DECLINES
        self._event("declined", decline.actor, decline.words)
        if decline.why is DeclineReason.NO_CAPACITY:
            until = add_working_days(workflow.now(), self._input.policy.full_after_no_capacity_days)
            await workflow.execute_activity(
                MARK_SERVICE_FULL,
                ServiceFull(service_id=self._view.service_id, until=until),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
            )
        await self._publish()
        return self._view

    @decline.validator
    def _validate_decline(self, decline: Decline) -> None:
        self._check(decline, LegState.DECLINED)
        if not decline.words.strip():
            raise ValueError("a reason is required to decline")

    @workflow.update(name=RECORD_OUTCOME_UPDATE)
    async def record_outcome(self, record: RecordOutcome) -> LegView:
        """The agency records what happened for the resident."""
        self._move(LegState.OUTCOME_RECORDED)
        self._view.outcome_overdue = False
        self._view.outcome = record.outcome
        self._view.outcome_at = workflow.now()
        value = "" if record.outcome.value is None else f" {record.outcome.value:g}"
        unit = f" {record.outcome.unit}" if record.outcome.unit else ""
        self._event("outcome_recorded", record.actor, f"{record.outcome.code.value}{value}{unit}")
        await self._publish()
        if workflow.patched(OUTCOME_FEEDS_PARTNERSHIPS):
            # Not awaited here: the agency's answer does not wait on the partnerships.
            self._feeds.append(
                workflow.start_activity(
                    FEED_PARTNERSHIPS,
                    OutcomeFeed(leg_id=self._view.leg_id),
                    result_type=OutcomeFeedResult,
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=FEED_RETRY,
                )
            )
        return self._view

    @record_outcome.validator
    def _validate_record_outcome(self, record: RecordOutcome) -> None:
        self._check(record, LegState.OUTCOME_RECORDED)

    @workflow.update(name=CLOSE_UPDATE)
    async def close(self, action: AgencyAction) -> LegView:
        """The agency closes the leg once its outcome is recorded."""
        self._move(LegState.CLOSED)
        self._event("closed", action.actor)
        await self._publish()
        return self._view

    @close.validator
    def _validate_close(self, action: AgencyAction) -> None:
        self._check(action, LegState.CLOSED)

    # --- Internals ---------------------------------------------------------------------------

    def _check(self, action: AgencyAction, target: LegState) -> None:
        # Validators only read: a refused update must leave no trace in the leg.
        if action.agency_id != self._view.agency_id:
            raise ValueError(f"this leg was sent to {self._view.agency_id}, not {action.agency_id}")
        if self._stop is not None:
            raise ValueError(f"the leg is being stopped: {self._stop.reason}")
        check_transition(self._view.state, target)

    def _move(self, target: LegState) -> None:
        check_transition(self._view.state, target)
        self._view.state = target
        self._view.updated_at = workflow.now()

    def _ended(self) -> bool:
        return self._view.state in FINAL_LEG_STATES

    async def _responded_by(self, moment: datetime) -> bool:
        """Wait until the agency acts, the leg is stopped, or ``moment`` passes."""

        def responded() -> bool:
            return self._view.state is not LegState.SENT or self._stop is not None

        remaining = moment - workflow.now()
        if remaining <= timedelta(0):
            return responded()
        try:
            await workflow.wait_condition(responded, timeout=remaining)
        except TimeoutError:
            return False
        return True

    async def _await_outcome(self) -> None:
        """The outcome deadline: agreed working days from acceptance (starting work keeps the
        clock); past it the agency is reminded, and after the escalation days the co-ordinator
        is told. The leg shows as overdue until its outcome is recorded."""
        accepted_at = self._view.accepted_at or self._view.updated_at
        days = self._input.outcome_days or self._input.policy.outcome_days
        due = add_working_days(accepted_at, days)
        self._view.outcome_due_at = due
        await self._publish()

        def working() -> bool:
            return self._view.state in _WORKING and self._stop is None

        if not await self._while_until(working, due):
            return
        self._view.outcome_overdue = True
        self._event("outcome_overdue", SYSTEM, f"no outcome {days} working days after acceptance")
        await self._notify(NoticeStep.LEG_OUTCOME_REMINDER, f"the outcome was due {due:%d %B %Y}")
        await self._publish()
        escalate_at = add_working_days(due, self._input.policy.escalate_after_days)
        if not await self._while_until(working, escalate_at):
            return
        self._event("outcome_escalated", SYSTEM, "still no outcome after the reminder")
        await self._notify(NoticeStep.LEG_OUTCOME_OVERDUE, f"the outcome was due {due:%d %B %Y}")
        await self._publish()

    @staticmethod
    async def _while_until(holds: Callable[[], bool], moment: datetime) -> bool:
        """Wait while ``holds`` until ``moment``; whether it still holds then."""
        remaining = moment - workflow.now()
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(lambda: not holds(), timeout=remaining)
            except TimeoutError:
                return True
        return holds()

    async def _apply_stop(self, stop: LegStop) -> None:
        if stop.close and self._view.state is LegState.OUTCOME_RECORDED:
            self._move(LegState.CLOSED)
            self._event("closed", SYSTEM, stop.reason)
            await self._publish()
            return
        self._move(LegState.WITHDRAWN)
        self._view.withdraw_reason = stop.reason
        self._view.reroute = stop.reroute
        self._view.offer_lost = stop.offer_lost
        self._event("withdrawn", SYSTEM, stop.reason)
        await self._notify(
            NoticeStep.LEG_STOPPED,
            stop.reason,
            consent_withdrawn=stop.consent_withdrawn,
            offer_lost=stop.offer_lost,
        )
        await self._publish()

    def _event(self, kind: str, actor: str, detail: str = "") -> None:
        self._events.append(
            ReferralEvent(
                event_id=str(workflow.uuid4()),
                number=self._view.number,
                leg_id=self._view.leg_id,
                need_id=self._view.need_id,
                at=workflow.now(),
                kind=kind,
                actor=actor,
                detail=detail,
            )
        )

    async def _publish(self) -> None:
        """Record the leg and its new events, and tell the referral."""
        async with self._publishing:
            events, self._events = self._events, []
            view = self._view.model_copy(deep=True)
            self._upsert_search_attributes(view)
            await run_store_step(RECORD_LEG, LegRecord(view=view, events=events), type(None))
            parent = workflow.info().parent
            if parent is not None:
                await workflow.get_external_workflow_handle(parent.workflow_id).signal(
                    LEG_CHANGED_SIGNAL, view
                )

    @staticmethod
    def _upsert_search_attributes(view: LegView) -> None:
        # Legs are findable too: an agency's open work, breached or not, in the Temporal UI.
        # No PfWaitingOn: the directory sync signals referrals (which re-route), not legs.
        silent = view.state is LegState.SENT
        working = view.state in _WORKING and view.outcome_due_at is not None
        updates: list[SearchAttributeUpdate[Any]] = [
            sa.KIND.value_set("referral_leg"),
            # An offer not yet taken shows as such; the first accept settles it.
            sa.STATUS.value_set("offered" if view.offered and silent else view.state.value),
            sa.AGENCIES.value_set([view.agency_id]),
            sa.URGENCY.value_set(view.urgency.value),
            sa.BREACHED.value_set(view.breached),
            sa.NEXT_DEADLINE.value_set(view.escalate_at or view.deadline)
            if silent
            else sa.NEXT_DEADLINE.value_set(view.outcome_due_at)
            if working and view.outcome_due_at is not None
            else sa.NEXT_DEADLINE.value_unset(),
        ]
        if view.outcome_due_at is not None:
            # Legs with an outcome deadline (since the patch) say whether it has passed.
            updates.append(sa.OVERDUE.value_set(view.outcome_overdue))
        workflow.upsert_search_attributes(updates)

    async def _notify(
        self,
        step: NoticeStep,
        reason: str = "",
        *,
        consent_withdrawn: bool = False,
        offer_lost: bool = False,
    ) -> None:
        notice = ReferralNotice(
            key=idempotency_key(workflow.info().workflow_id, self._view.leg_id, step.value),
            step=step,
            number=self._view.number,
            leg_id=self._view.leg_id,
            need_id=self._view.need_id,
            service_id=self._view.service_id,
            reason=reason,
            deadline=self._view.deadline,
            consent_withdrawn=consent_withdrawn,
            offer_lost=offer_lost,
        )
        if step not in _AGENCY_STEPS or not workflow.patched(AGENCY_NOTICE_GIVES_UP):
            await workflow.execute_activity(
                NOTIFY_REFERRAL,
                notice,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                result_type=NoticeResult,
            )
            return
        policy = self._input.policy
        try:
            await workflow.execute_activity(
                NOTIFY_REFERRAL,
                notice,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    maximum_interval=policy.agency_notice_max_backoff,
                    maximum_attempts=policy.agency_notice_attempts,
                ),
                result_type=NoticeResult,
            )
        except ActivityError as error:
            await self._agency_unreachable(step, _failure_text(error))

    async def _agency_unreachable(self, step: NoticeStep, error: str) -> None:
        """The agency could not be told: the co-ordinator is, and a leg still waiting for its
        response ends so the need goes to the next service now, not after the SLA ladder."""
        self._event("agency_unreachable", SYSTEM, f"{step.value}: {error}")
        await self._notify(NoticeStep.AGENCY_UNREACHABLE, f"{step.value} failed: {error}")
        if self._view.state is LegState.SENT:
            self._move(LegState.EXPIRED)
            self._view.escalated_at = workflow.now()
            self._view.reroute = True
        await self._publish()


def _failure_text(error: BaseException) -> str:
    """The messages of a failure and its causes, e.g. timeout: webhook failed: HTTP 500."""
    parts: list[str] = []
    cause: BaseException | None = error.__cause__
    while cause is not None and len(parts) < 4:
        message = str(cause).strip()
        if message and message not in parts:
            parts.append(message)
        cause = cause.__cause__
    return ": ".join(parts)[:500] or "unknown failure"
