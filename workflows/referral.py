"""A referral: route every need, follow each leg, follow up, and close the loop.

The workflow id is the referral number. Each need is routed on its own (several run in
parallel): to the best service among the agencies the resident consented to share details
with (a *leg*, a child workflow), else signposted to the best few suitable services of other
agencies, or left *unallocated* for the co-ordinator when no suitable service is left. A
declined, expired or withdrawn leg routes its need again by the same rule.
Nothing here holds personal data.

Longer than 400 lines on purpose: one workflow class, whose handlers and versioned branches
(``workflow.patched``) must be read together to reason about determinism.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import Priority, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    # pydantic imports it lazily to validate EmailStr; load it once outside the sandbox.
    import email_validator  # noqa: F401

    from domain.access import POSSIBLE_DUPLICATE_EVENT
    from domain.calendar import add_working_days
    from domain.declines import DECLINE_WORDS, DeclineReason
    from domain.directory import SERVICE_WITHDRAWN_SIGNAL, Capacity, Directory, ServiceWithdrawn
    from domain.notification import idempotency_key
    from domain.offers import (
        ACCEPT_OFFER_UPDATE,
        OFFER_ACCEPTED_SIGNAL,
        OFFER_ALREADY_ACCEPTED_REASON,
        OFFER_TAKEN_REASON,
        OfferAcceptance,
    )
    from domain.referral import (
        ADD_NEED_UPDATE,
        FINAL_LEG_STATES,
        FINAL_REFERRAL_STATUSES,
        LEG_CHANGED_SIGNAL,
        LEG_WORKFLOW,
        MAX_NEEDS,
        OPEN_LEG_STATES,
        RECORD_FOLLOW_UP_UPDATE,
        REFERRAL_WORKFLOW,
        SETTLED_NEED_STATES,
        STATE_QUERY,
        STOP_SIGNAL,
        WAITING_LEG_STATES,
        WITHDRAW_CONSENT_UPDATE,
        WITHDRAW_UPDATE,
        AddNeed,
        FollowUp,
        LegInput,
        LegState,
        LegStop,
        LegView,
        NeedRef,
        NeedState,
        NeedView,
        ReferralInput,
        ReferralStatus,
        ReferralView,
        Withdrawal,
        check_transition,
        highest_urgency,
        leg_id,
        task_priority,
    )
    from domain.referral_records import (
        ERASE_PERSONAL_DATA,
        LOAD_DIRECTORY,
        NOTIFY_REFERRAL,
        RECORD_REFERRAL,
        ROUTE_NEED,
        Erasure,
        ErasureResult,
        NoticeResult,
        NoticeStep,
        ReferralEvent,
        ReferralNotice,
        ReferralRecord,
        RouteRequest,
        RouteResult,
    )
    from domain.routing import RouteChoice, Routing, best_service
    from domain.unallocated import (
        ASSIGN_NEED_UPDATE,
        CLOSE_NEED_UPDATE,
        COORDINATOR,
        SIGNPOST_NEED_UPDATE,
        AssignNeed,
        CloseNeed,
        QueueAction,
        SignpostNeed,
    )
    from workflows import search_attributes as sa
    from workflows.store_steps import run_store_step

ACTIVITY_TIMEOUT = timedelta(seconds=60)
SYSTEM = "system"
ERASED_TEXT = "[erased]"
_LEG_DONE = frozenset({LegState.OUTCOME_RECORDED, LegState.CLOSED})
# Declines after which the need ends instead of being routed again.
_NEED_ENDING_DECLINES = frozenset({DeclineReason.RESIDENT_DECLINED, DeclineReason.CANNOT_CONTACT})
_TAKEN = frozenset({LegState.ACCEPTED, LegState.IN_PROGRESS, *_LEG_DONE})
# Before this patch a withdrawal signalled again before its legs reported stopped them and
# told the co-ordinator again, and legs still starting were missed; such histories replay
# without it.
_WITHDRAWAL_ONCE_PER_LEG = "withdrawal-once-per-leg"
# Before this patch PfWaitingOn named a leg's service only once the leg reported.
_WAITING_ON_STARTING_LEGS = "waiting-on-starting-legs"
# Before this patch the whole directory was loaded into the workflow (and its history) and
# each need routed there; such histories replay without it.
_ROUTING_IN_ACTIVITY = "routing-in-activity"
# Before this patch a need went to the best service of any agency and was signposted there
# when the resident had not consented to that agency; since, it goes to the best service
# among the consented agencies and is signposted (to several services) only when none is left.
_CONSENT_FIRST_ROUTING = "consent-first-routing"
# Before this patch an unallocated need ended there (the referral closed as unallocated);
# since, it waits in the co-ordinator's queue for an assignment, a signpost or a close.
_UNALLOCATED_QUEUE = "unallocated-queue"
# Offers to several services at once (first accept wins) came in with this patch.
_OFFERS = "offers-first-accept"


@workflow.defn(name=REFERRAL_WORKFLOW)
class ReferralWorkflow:
    """One resident's referral, from submission to a closed loop for every need."""

    @workflow.init
    def __init__(self, referral: ReferralInput) -> None:
        now = workflow.now()
        self._input = referral
        self._view = ReferralView(
            number=referral.number,
            source=referral.source,
            ward=referral.ward,
            urgency=highest_urgency([n.urgency for n in referral.needs]),
            needs=[
                NeedView(need_id=n.need_id, category=n.category, urgency=n.urgency)
                for n in referral.needs
            ],
            consent_agency_ids=list(referral.consent_agency_ids),
            created_at=now,
            updated_at=now,
        )
        self._legs: dict[str, LegView] = {}
        self._children: dict[str, ChildWorkflowHandle[Any, LegView]] = {}
        self._directory: Directory | None = None
        self._withdrawn_services: set[str] = set()
        self._leg_services: dict[str, str] = {}
        self._stopped_for_withdrawal: set[str] = set()
        self._waiting_on_starting_legs = False
        self._consent_first = False
        self._consent = list(referral.consent_agency_ids)
        self._queue_enabled = False
        self._queued: set[str] = set()
        self._queue_actions: dict[str, QueueAction] = {}
        self._pending_offers: dict[str, list[RouteChoice]] = {}
        self._offer_legs: dict[str, list[str]] = {}
        self._offer_winners: dict[str, str | None] = {}
        self._stopping: Withdrawal | None = None
        self._leg_stop: LegStop | None = None
        self._leg_count = 0
        # Needs the referrer added while the referral ran, each followed like the first ones.
        self._added_needs: list[asyncio.Task[None]] = []
        self._needs_settled = False
        self._events: list[ReferralEvent] = []
        self._recording = asyncio.Lock()

    @workflow.run
    async def run(self, referral: ReferralInput) -> ReferralView:
        """Route every need in parallel; follow up after outcomes; close."""
        self._event("submitted", referral.submitted_by, f"source {referral.source.value}")
        if referral.possible_duplicates:
            self._event(POSSIBLE_DUPLICATE_EVENT, SYSTEM, ", ".join(referral.possible_duplicates))
        await self._record()
        if not workflow.patched(_ROUTING_IN_ACTIVITY):
            self._directory = await self._load_directory()
        await asyncio.gather(*(self._follow_need(need) for need in referral.needs))
        # Costs no command when nothing was added, so older histories replay unchanged.
        await workflow.wait_condition(lambda: all(t.done() for t in self._added_needs))
        self._needs_settled = True
        if self._stopping is None and any(
            n.state is NeedState.OUTCOME_RECORDED for n in self._view.needs
        ):
            await self._follow_up()
        if self._stopping is None:
            await self._close()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._snapshot()

    @workflow.query(name=STATE_QUERY)
    def state(self) -> ReferralView:
        """The referral as it is now, with every leg."""
        return self._snapshot()

    # --- Messages ----------------------------------------------------------------------------

    @workflow.signal(name=LEG_CHANGED_SIGNAL)
    async def leg_changed(self, leg: LegView) -> None:
        """A leg reports its new state."""
        known = self._legs.get(leg.leg_id)
        if known is not None and known.updated_at > leg.updated_at:
            return
        self._legs[leg.leg_id] = leg
        await self._record()

    @workflow.signal(name=SERVICE_WITHDRAWN_SIGNAL)
    async def service_withdrawn(self, withdrawn: ServiceWithdrawn) -> None:
        """A service left the directory: re-route every open leg on it; tell the co-ordinator."""
        self._withdrawn_services.add(withdrawn.service_id)
        legs = [
            leg.leg_id
            for leg in self._legs.values()
            if leg.service_id == withdrawn.service_id and leg.state in WAITING_LEG_STATES
        ]
        # Legs started on the service that have not reported yet, and legs already told.
        unreported = [
            leg_id_
            for leg_id_, service_id in self._leg_services.items()
            if service_id == withdrawn.service_id
            and leg_id_ in self._children
            and leg_id_ not in self._legs
        ]
        told = self._stopped_for_withdrawal.intersection(legs)
        if (unreported or told) and workflow.patched(_WITHDRAWAL_ONCE_PER_LEG):
            legs = [i for i in legs + unreported if i not in self._stopped_for_withdrawal]
        if not legs or self._stopping is not None:
            return
        self._event("service_withdrawn", SYSTEM, f"{withdrawn.service_id}: {withdrawn.reason}")
        for leg_id_ in legs:
            self._stopped_for_withdrawal.add(leg_id_)
            await self._children[leg_id_].signal(STOP_SIGNAL, _withdrawal_stop(withdrawn.reason))
        await self._notify(
            NoticeStep.SERVICE_WITHDRAWN,
            subject=withdrawn.service_id,
            service_id=withdrawn.service_id,
            reason=withdrawn.reason,
        )
        await self._record()

    @workflow.update(name=WITHDRAW_UPDATE)
    async def withdraw(self, withdrawal: Withdrawal) -> ReferralView:
        """The referrer withdraws the referral: every open leg stops and its agency is told."""
        await self._stop_all(withdrawal, ReferralStatus.WITHDRAWN)
        self._event("withdrawn", withdrawal.actor, withdrawal.reason)
        await self._record()
        return self._snapshot()

    @withdraw.validator
    def _validate_withdraw(self, withdrawal: Withdrawal) -> None:
        self._check_open()

    @workflow.update(name=WITHDRAW_CONSENT_UPDATE)
    async def withdraw_consent(self, withdrawal: Withdrawal) -> ReferralView:
        """The resident withdraws consent: stop every leg, tell the agencies, erase their data."""
        await self._stop_all(withdrawal, ReferralStatus.CONSENT_WITHDRAWN, consent=True)
        await workflow.execute_activity(
            ERASE_PERSONAL_DATA,
            Erasure(number=self._view.number),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            result_type=ErasureResult,
        )
        self._view.personal_data_erased = True
        self._view.consent_agency_ids = []
        # The agencies' and referrer's free text about the resident goes with their details.
        self._view.status_reason = ERASED_TEXT
        for leg_id_, leg in self._legs.items():
            self._legs[leg_id_] = leg.model_copy(
                update={
                    "decline_reason": ERASED_TEXT if leg.decline_reason else None,
                    "withdraw_reason": ERASED_TEXT if leg.withdraw_reason else None,
                    "outcome": leg.outcome.note_replaced_by(ERASED_TEXT) if leg.outcome else None,
                }
            )
        self._event("consent_withdrawn", withdrawal.actor, "personal data erased")
        await self._record()
        return self._snapshot()

    @withdraw_consent.validator
    def _validate_withdraw_consent(self, withdrawal: Withdrawal) -> None:
        if self._view.personal_data_erased:
            raise ValueError("consent was already withdrawn")
        if self._stopping is not None and self._view.status is ReferralStatus.CONSENT_WITHDRAWN:
            raise ValueError("consent is being withdrawn")

    @workflow.update(name=RECORD_FOLLOW_UP_UPDATE)
    async def record_follow_up(self, follow_up: FollowUp) -> ReferralView:
        """The referrer records whether the help made a difference."""
        self._view.follow_up = follow_up
        self._event(
            "follow_up_recorded", follow_up.actor, f"made_difference={follow_up.made_difference}"
        )
        await self._record()
        return self._snapshot()

    @record_follow_up.validator
    def _validate_follow_up(self, follow_up: FollowUp) -> None:
        if self._view.status is not ReferralStatus.FOLLOW_UP:
            raise ValueError(f"the referral is {self._view.status.value}, not awaiting follow-up")
        if self._view.follow_up is not None:
            raise ValueError("the follow-up is already recorded")

    @workflow.update(name=ADD_NEED_UPDATE)
    async def add_need(self, added: AddNeed) -> ReferralView:
        """The referrer adds a need for the same resident: routed like the first needs."""
        ref = added.need
        # All before the first await: the run waits for every added need from here on.
        self._view.needs.append(
            NeedView(need_id=ref.need_id, category=ref.category, urgency=ref.urgency)
        )
        self._view.urgency = highest_urgency([n.urgency for n in self._view.needs])
        self._added_needs.append(asyncio.create_task(self._follow_need(ref)))
        self._event(
            "need_added",
            added.actor,
            f"{ref.category.value}, {ref.urgency.value}",
            need_id=ref.need_id,
        )
        await self._record()
        return self._snapshot()

    @add_need.validator
    def _validate_add_need(self, added: AddNeed) -> None:
        self._check_open()
        if self._needs_settled or self._view.status is not ReferralStatus.OPEN:
            raise ValueError(
                "the referral's needs are settled and it is closing: make a new referral"
            )
        if any(n.need_id == added.need.need_id for n in self._view.needs):
            raise ValueError(f"the referral already has a need {added.need.need_id}")
        if len(self._view.needs) >= MAX_NEEDS:
            raise ValueError(f"a referral carries at most {MAX_NEEDS} needs")

    @workflow.update(name=ASSIGN_NEED_UPDATE)
    async def assign_need(self, action: AssignNeed) -> ReferralView:
        """The co-ordinator sends an unallocated need to a named service."""
        if action.consent is not None and action.agency_id not in self._consent:
            self._consent.append(action.agency_id)
            self._view.consent_agency_ids = list(self._consent)
            self._event(
                "consent_recorded",
                action.actor,
                f"{action.agency_id} by {action.consent.method.value} on "
                f"{action.consent.given_at:%Y-%m-%d}"
                + (f": {action.consent.note}" if action.consent.note else ""),
                need_id=action.need_id,
            )
        self._event("need_assigned", action.actor, action.service_id, need_id=action.need_id)
        return await self._queue_action(action)

    @assign_need.validator
    def _validate_assign_need(self, action: AssignNeed) -> None:
        self._check_queued(action)
        if not action.agency_id:
            raise ValueError("the service's agency is not known")
        if action.agency_id not in self._consent and action.consent is None:
            raise ValueError(
                f"the resident has not consented to {action.agency_id}: record the new consent "
                "and how it was obtained"
            )

    @workflow.update(name=SIGNPOST_NEED_UPDATE)
    async def signpost_need(self, action: SignpostNeed) -> ReferralView:
        """The co-ordinator signposts the resident (else the referrer) to chosen services."""
        self._event(
            "need_signposted", action.actor, ", ".join(action.service_ids), need_id=action.need_id
        )
        return await self._queue_action(action)

    @signpost_need.validator
    def _validate_signpost_need(self, action: SignpostNeed) -> None:
        self._check_queued(action)

    @workflow.update(name=CLOSE_NEED_UPDATE)
    async def close_need(self, action: CloseNeed) -> ReferralView:
        """The co-ordinator closes an unallocated need, with a reason."""
        self._event("need_closed", action.actor, action.reason, need_id=action.need_id)
        return await self._queue_action(action)

    @close_need.validator
    def _validate_close_need(self, action: CloseNeed) -> None:
        self._check_queued(action)

    async def _queue_action(self, action: QueueAction) -> ReferralView:
        need = self._need(action.need_id)
        self._queue_actions[action.need_id] = action
        await workflow.wait_condition(
            lambda: (
                action.need_id not in self._queue_actions
                and (need.state is not NeedState.UNALLOCATED or need.need_id in self._queued)
            )
        )
        await self._record()
        return self._snapshot()

    def _check_queued(self, action: QueueAction) -> None:
        self._check_open()
        if not any(n.need_id == action.need_id for n in self._view.needs):
            raise ValueError(f"the referral has no need {action.need_id}")
        need = self._need(action.need_id)
        if need.need_id not in self._queued or need.state is not NeedState.UNALLOCATED:
            raise ValueError(f"need {action.need_id} is {need.state.value}, not unallocated")
        if action.need_id in self._queue_actions:
            raise ValueError(f"need {action.need_id} is already being acted on")

    @workflow.update(name=ACCEPT_OFFER_UPDATE)
    async def accept_offer(self, acceptance: OfferAcceptance) -> LegView:
        """An agency accepts one of several offers of a need. Updates run one at a time here,
        so of two accepts arriving together exactly one is first; the other is refused."""
        need_id = self._offer_need(acceptance.leg_id)
        winner = self._offer_winners.get(need_id)
        if winner is not None:
            # Validated together with the first, handled after it: refused, nothing changed.
            raise ApplicationError(self._offer_refusal(acceptance, winner))
        self._offer_winners[need_id] = acceptance.leg_id
        await self._children[acceptance.leg_id].signal(OFFER_ACCEPTED_SIGNAL, acceptance)
        await workflow.wait_condition(
            lambda: (
                self._leg_state(acceptance.leg_id) is not LegState.SENT
                or self._children[acceptance.leg_id].done()
            )
        )
        leg = self._legs[acceptance.leg_id]
        if leg.state is not LegState.ACCEPTED:
            self._offer_winners[need_id] = None
            raise ApplicationError(f"the offer ended before it was accepted: {leg.state.value}")
        return leg

    def _offer_refusal(self, acceptance: OfferAcceptance, winner: str) -> str:
        """Why an accept of an offer that already has a winner is refused: the winner's own
        agency accepting again is told so, not that "another" service (its own) took it."""
        leg = self._legs.get(winner)
        own = leg is not None and leg.agency_id == acceptance.agency_id
        if winner == acceptance.leg_id and own:
            return OFFER_ALREADY_ACCEPTED_REASON
        return f"{OFFER_TAKEN_REASON} ({self._leg_services[winner]})"

    @accept_offer.validator
    def _validate_accept_offer(self, acceptance: OfferAcceptance) -> None:
        self._check_open()
        need_id = self._offer_need(acceptance.leg_id)
        if not need_id:
            raise ValueError(f"{acceptance.leg_id} is not an open offer of this referral")
        winner = self._offer_winners.get(need_id)
        if winner is not None:
            raise ValueError(self._offer_refusal(acceptance, winner))
        leg = self._legs.get(acceptance.leg_id)
        if leg is None:
            raise ValueError("the offer is still being sent; try again in a moment")
        if leg.agency_id != acceptance.agency_id:
            raise ValueError(f"this leg was sent to {leg.agency_id}, not {acceptance.agency_id}")
        check_transition(leg.state, LegState.ACCEPTED)

    def _offer_need(self, leg_id_: str) -> str:
        """The need an offered leg belongs to ('' when it is not an offered leg)."""
        return next((n for n, legs in self._offer_legs.items() if leg_id_ in legs), "")

    # --- Routing each need -------------------------------------------------------------------

    async def _follow_need(self, ref: NeedRef) -> None:
        need = self._need(ref.need_id)
        assigned: AssignNeed | None = None
        # Set by a decline: the service the agency named, or straight to the co-ordinator.
        named: RouteChoice | None = None
        to_queue = False
        signposts: list[RouteChoice]
        while self._stopping is None:
            if assigned is not None:
                choice, signposts = await self._assigned_service(need, assigned), []
            elif named is not None:
                choice, signposts, named = named, [], None
            elif to_queue:
                choice, signposts, to_queue = None, [], False
            else:
                choice, signposts = await self._route(ref, need)
            if self._stopping is not None:
                break
            if choice is None and not signposts:
                if assigned is None:
                    workflow.logger.info("need %s unallocated", need.need_id)
                    need.state = NeedState.UNALLOCATED
                    if not self._consent_first:
                        need.reason = "no suitable service left"
                    self._event("unallocated", SYSTEM, need.reason, need_id=need.need_id)
                    await self._notify(NoticeStep.NEED_UNALLOCATED, subject=need.need_id, need=need)
                    await self._record()
                    if not workflow.patched(_UNALLOCATED_QUEUE):
                        return
                action = await self._wait_in_queue(need)
                assigned = None
                if action is None:
                    break
                if isinstance(action, AssignNeed):
                    assigned = action
                    need.unallocated_at, need.queue_overdue = None, False
                    continue
                if isinstance(action, CloseNeed):
                    need.state = NeedState.CLOSED
                    await self._record()
                    return
                assert isinstance(action, SignpostNeed)
                choice, signposts = None, await self._signposted_services(action)
                if not signposts:
                    continue
            if choice is None:
                need.state = NeedState.SIGNPOSTED
                need.signposted_service_id = signposts[0].service.id
                need.signposted_service_ids = [c.service.id for c in signposts]
                self._event("signposted", SYSTEM, need.reason, need_id=need.need_id)
                await self._notify(
                    NoticeStep.SIGNPOST,
                    subject=need.need_id,
                    need=need,
                    service_id=signposts[0].service.id,
                    service_ids=need.signposted_service_ids if self._consent_first else [],
                )
                await self._record()
                return
            offers = self._pending_offers.pop(need.need_id, [])
            if offers:
                leg = await self._offer(ref, need, offers)
            else:
                leg = await self._send_leg(ref, need, choice)
            if leg.state in _LEG_DONE:
                need.state = NeedState.OUTCOME_RECORDED
                await self._record()
                return
            if leg.state is LegState.DECLINED and leg.decline_why in _NEED_ENDING_DECLINES:
                await self._end_declined_need(need, leg)
                return
            if leg.state is LegState.DECLINED and leg.better_service_id is not None:
                named = await self._better_served(need, leg.better_service_id)
                to_queue = named is None
            if not leg.reroute:
                break
            self._event("rerouted", SYSTEM, f"{leg.leg_id} {leg.state.value}", need_id=need.need_id)
        need.state = NeedState.WITHDRAWN
        await self._record()

    async def _wait_in_queue(self, need: NeedView) -> QueueAction | None:
        """Wait in the co-ordinator's queue for an action on the need (None: the referral
        stopped). Past the queue's SLA the co-ordinator is reminded and the wait is a breach."""
        self._queue_enabled = True
        if need.unallocated_at is None:
            need.unallocated_at = workflow.now()
        self._queued.add(need.need_id)
        await self._record()

        def acted() -> bool:
            return self._stopping is not None or need.need_id in self._queue_actions

        remind_at = add_working_days(
            need.unallocated_at, self._input.policy.unallocated_remind_after_days
        )
        if not need.queue_overdue and not await self._until(acted, remind_at):
            need.queue_overdue = True
            self._event("queue_overdue", SYSTEM, "still unallocated", need_id=need.need_id)
            await self._notify(
                NoticeStep.QUEUE_REMINDER, subject=f"{need.need_id}-queue", need=need
            )
            await self._record()
        await workflow.wait_condition(acted)
        self._queued.discard(need.need_id)
        return None if self._stopping is not None else self._queue_actions.pop(need.need_id)

    async def _assigned_service(self, need: NeedView, action: AssignNeed) -> RouteChoice | None:
        """The service the co-ordinator named, if it still takes referrals."""
        routed = await run_store_step(
            ROUTE_NEED,
            RouteRequest(
                at=workflow.now(),
                category=need.category,
                ward=self._input.ward,
                service_id=action.service_id,
            ),
            RouteResult,
        )
        if routed.choice is None or routed.choice.service.id in self._withdrawn_services:
            self._event(
                "assign_failed",
                SYSTEM,
                f"{action.service_id} no longer takes referrals",
                need_id=need.need_id,
            )
            return None
        need.tried_service_ids.append(routed.choice.service.id)
        need.reason = f"assigned by the co-ordinator to {routed.choice.service.name}"
        return routed.choice

    async def _end_declined_need(self, need: NeedView, leg: LegView) -> None:
        """The resident declined the service, or could not be contacted: the need ends
        there; in the second case it goes back to the referrer, who is told."""
        assert leg.decline_why is not None
        need.state = NeedState.CLOSED
        need.reason = DECLINE_WORDS[leg.decline_why]
        self._event("need_closed", SYSTEM, need.reason, need_id=need.need_id)
        if leg.decline_why is DeclineReason.CANNOT_CONTACT:
            await self._notify(
                NoticeStep.NEED_RETURNED,
                subject=need.need_id,
                need=need,
                service_id=leg.service_id,
            )
        await self._record()

    async def _better_served(self, need: NeedView, service_id: str) -> RouteChoice | None:
        """The service a declining agency named, if it still takes referrals, has not been
        tried and the resident agreed to share with its agency; else None, and the need goes
        to the co-ordinator's queue with the reason."""
        routed = await run_store_step(
            ROUTE_NEED,
            RouteRequest(
                at=workflow.now(),
                category=need.category,
                ward=self._input.ward,
                service_id=service_id,
            ),
            RouteResult,
        )
        choice = routed.choice
        if (
            choice is None
            or choice.service.id in set(need.tried_service_ids)
            or choice.service.capacity is Capacity.FULL
        ):
            need.reason = f"the agency suggested {service_id}, which cannot take it now"
            return None
        if choice.service.agency_id not in self._consent:
            need.reason = (
                f"the agency suggested {choice.service.name}; the resident has not agreed to "
                "share their details with it"
            )
            return None
        need.tried_service_ids.append(choice.service.id)
        need.reason = f"suggested by the declining agency: {choice.service.name}"
        return RouteChoice(service=choice.service, reason=need.reason)

    async def _signposted_services(self, action: SignpostNeed) -> list[RouteChoice]:
        """The services the co-ordinator chose to signpost the resident to (those still listed)."""
        chosen: list[RouteChoice] = []
        for service_id in action.service_ids:
            routed = await run_store_step(
                ROUTE_NEED,
                RouteRequest(
                    at=workflow.now(),
                    category=self._need(action.need_id).category,
                    ward=self._input.ward,
                    service_id=service_id,
                ),
                RouteResult,
            )
            if routed.choice is not None:
                chosen.append(routed.choice)
        self._need(action.need_id).reason = "signposted by the co-ordinator"
        return chosen

    async def _route(
        self, ref: NeedRef, need: NeedView
    ) -> tuple[RouteChoice | None, list[RouteChoice]]:
        """The service to send the need to, else the services to signpost the resident to
        (neither: no suitable service is left); the need's reason says why."""
        if self._directory is None and workflow.patched(_CONSENT_FIRST_ROUTING):
            self._consent_first = True
            routing = await self._route_consented(ref, need)
            need.reason = routing.explanation()
            if len(routing.chosen) > 1 and workflow.patched(_OFFERS):
                need.tried_service_ids.extend(c.service.id for c in routing.chosen)
                self._pending_offers[need.need_id] = list(routing.chosen)
                return routing.chosen[0], []
            if routing.chosen:
                need.tried_service_ids.append(routing.chosen[0].service.id)
                return routing.chosen[0], []
            return None, list(routing.signposts)
        # Referrals started before consent-first routing: the best service of any agency,
        # signposted when its agency is not in the consent.
        choice = await self._best_service(ref, need)
        if choice is None:
            return None, []
        need.tried_service_ids.append(choice.service.id)
        need.reason = choice.reason
        if choice.service.agency_id not in self._consent:
            return None, [choice]
        return choice, []

    async def _route_consented(self, ref: NeedRef, need: NeedView) -> Routing:
        """Route among the consented agencies, passing over tried and withdrawn services."""
        while True:
            routed = await run_store_step(
                ROUTE_NEED,
                RouteRequest(
                    at=workflow.now(),
                    category=ref.category,
                    ward=self._input.ward,
                    age=self._input.age,
                    exclude=sorted(set(need.tried_service_ids) | self._withdrawn_services),
                    consent_agency_ids=sorted(self._consent),
                    limit=ref.offer_max or self._input.policy.offer_defaults.get(ref.category) or 1,
                ),
                RouteResult,
            )
            routing = routed.routing or Routing()
            # A service withdrawn while the activity ran is passed over like the others.
            if not {c.service.id for c in routing.chosen} & self._withdrawn_services:
                return routing

    async def _best_service(self, ref: NeedRef, need: NeedView) -> RouteChoice | None:
        """The best service for the need, among those not tried and not withdrawn."""
        if self._directory is not None:
            # A referral started before routing moved into an activity.
            if need.tried_service_ids:
                self._directory = await self._load_directory()
            return best_service(
                self._directory,
                category=ref.category,
                ward=self._input.ward,
                age=self._input.age,
                exclude=set(need.tried_service_ids) | self._withdrawn_services,
            )
        while True:
            routed = await run_store_step(
                ROUTE_NEED,
                RouteRequest(
                    at=workflow.now(),
                    category=ref.category,
                    ward=self._input.ward,
                    age=self._input.age,
                    exclude=sorted(set(need.tried_service_ids) | self._withdrawn_services),
                ),
                RouteResult,
            )
            choice = routed.choice
            # A service withdrawn while the activity ran is passed over like the others.
            if choice is None or choice.service.id not in self._withdrawn_services:
                return choice

    async def _send_leg(self, ref: NeedRef, need: NeedView, choice: RouteChoice) -> LegView:
        """Start a leg and wait until it records an outcome or ends."""
        return await self._await_leg(await self._start_leg(ref, need, choice))

    async def _offer(self, ref: NeedRef, need: NeedView, choices: list[RouteChoice]) -> LegView:
        """Offer the need to several services at once and wait for the first accept: the other
        offers are withdrawn at once (their agencies told to delete the resident's details)
        and the winner's leg is followed like any other. When every offer ends unaccepted,
        the last of them is returned, to re-route unless one was stopped."""
        offered: list[str] = []
        # Known as offers from the first start on: an accept may arrive before the last starts.
        self._offer_winners[need.need_id] = None
        self._offer_legs[need.need_id] = offered
        for choice in choices:
            offered.append(await self._start_leg(ref, need, choice, offered=True))
        self._event(
            "offered", SYSTEM, ", ".join(c.service.id for c in choices), need_id=need.need_id
        )
        await self._record()

        def ended(leg: str) -> bool:
            return self._children[leg].done() or self._leg_state(leg) in FINAL_LEG_STATES

        def settled() -> bool:
            winner = self._offer_winners[need.need_id]
            if winner is not None:
                return self._leg_state(winner) in _TAKEN
            return all(ended(leg) for leg in offered)

        await workflow.wait_condition(settled)
        winner = self._offer_winners[need.need_id]
        if winner is None:
            views = [self._legs[leg] for leg in offered if leg in self._legs]
            reroute = all(v.reroute for v in views)
            return views[-1].model_copy(update={"reroute": reroute})
        stop = LegStop(reason=OFFER_TAKEN_REASON, offer_lost=True)
        for leg in offered:
            if leg != winner and not ended(leg):
                await self._children[leg].signal(STOP_SIGNAL, stop)
        self._event("offer_taken", SYSTEM, self._leg_services[winner], need_id=need.need_id)
        return await self._await_leg(winner)

    async def _start_leg(
        self, ref: NeedRef, need: NeedView, choice: RouteChoice, *, offered: bool = False
    ) -> str:
        """Start a leg on ``choice``'s service; its id."""
        # Counted before the first await: needs routed in parallel must not share an id.
        self._leg_count += 1
        new_leg = leg_id(self._view.number, self._leg_count)
        need.state = NeedState.REFERRED
        need.leg_ids.append(new_leg)
        self._leg_services[new_leg] = choice.service.id
        if workflow.patched(_WAITING_ON_STARTING_LEGS):
            # Findable by a directory sync at once: the leg reports only after its first notice.
            self._waiting_on_starting_legs = True
            self._upsert_search_attributes(self._snapshot())
        handle = await workflow.start_child_workflow(
            LEG_WORKFLOW,
            LegInput(
                number=self._view.number,
                leg_id=new_leg,
                need=ref,
                ward=self._input.ward,
                service_id=choice.service.id,
                agency_id=choice.service.agency_id,
                route_reason=choice.reason,
                response_days=dict(choice.service.response_days),
                outcome_days=choice.service.outcome_days,
                offered=offered,
                policy=self._input.policy,
            ),
            id=new_leg,
            # A leg's own need sets its place in a backlog, not the referral's most urgent one.
            priority=Priority(priority_key=task_priority([need.urgency])),
            result_type=LegView,
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
        )
        self._children[new_leg] = handle
        if self._leg_stop is not None:
            # The referral was stopped while this leg was starting.
            await handle.signal(STOP_SIGNAL, self._leg_stop)
        elif (
            choice.service.id in self._withdrawn_services
            and new_leg not in self._stopped_for_withdrawal
            and workflow.patched(_WITHDRAWAL_ONCE_PER_LEG)
        ):
            # The service was withdrawn while this leg was starting.
            self._stopped_for_withdrawal.add(new_leg)
            await handle.signal(
                STOP_SIGNAL, LegStop(reason="service withdrawn as the leg started", reroute=True)
            )
        return new_leg

    async def _await_leg(self, new_leg: str) -> LegView:
        """Wait until the leg records an outcome or ends."""
        handle = self._children[new_leg]
        await workflow.wait_condition(
            lambda: handle.done() or self._leg_state(new_leg) in _LEG_DONE
        )
        if handle.done():
            self._legs[new_leg] = await handle
        return self._legs[new_leg]

    # --- Follow-up and closing ---------------------------------------------------------------

    async def _follow_up(self) -> None:
        last = max(leg.outcome_at for leg in self._legs.values() if leg.outcome_at is not None)
        due = add_working_days(last, self._input.policy.follow_up_after_days)
        self._view.status, self._view.follow_up_due_at = ReferralStatus.FOLLOW_UP, due
        await self._record()

        def answered() -> bool:
            return self._stopping is not None or self._view.follow_up is not None

        if await self._until(answered, due):
            return
        self._event("follow_up_due", SYSTEM)
        await self._notify(NoticeStep.FOLLOW_UP_DUE, subject="referral")
        await self._record()
        give_up = add_working_days(due, self._input.policy.follow_up_wait_days)
        await self._until(answered, give_up)

    async def _close(self) -> None:
        for leg_id_, leg in self._legs.items():
            if leg.state is LegState.OUTCOME_RECORDED:
                await self._children[leg_id_].signal(
                    STOP_SIGNAL, LegStop(reason="referral closed", close=True)
                )
        await workflow.wait_condition(lambda: all(h.done() for h in self._children.values()))
        for leg_id_, handle in self._children.items():
            self._legs[leg_id_] = await handle
        settled = {n.state for n in self._view.needs}
        if settled & {NeedState.OUTCOME_RECORDED, NeedState.SIGNPOSTED, NeedState.CLOSED}:
            self._view.status = ReferralStatus.CLOSED
        else:
            self._view.status = ReferralStatus.UNALLOCATED
        self._event(self._view.status.value, SYSTEM)
        await self._record()

    async def _stop_all(
        self, withdrawal: Withdrawal, status: ReferralStatus, *, consent: bool = False
    ) -> None:
        self._stopping = withdrawal
        self._leg_stop = LegStop(reason=withdrawal.reason, consent_withdrawn=consent)
        self._view.status, self._view.status_reason = status, withdrawal.reason
        for leg_id_, handle in list(self._children.items()):
            if self._leg_state(leg_id_) in OPEN_LEG_STATES and not handle.done():
                await handle.signal(STOP_SIGNAL, self._leg_stop)
        await workflow.wait_condition(lambda: all(h.done() for h in self._children.values()))
        for leg_id_, handle in self._children.items():
            self._legs[leg_id_] = await handle
        for need in self._view.needs:
            if need.state not in SETTLED_NEED_STATES:
                need.state = NeedState.WITHDRAWN

    # --- Internals ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._view.status in FINAL_REFERRAL_STATUSES or self._stopping is not None:
            raise ValueError(f"the referral is already {self._view.status.value}")

    def _need(self, need_id: str) -> NeedView:
        return next(n for n in self._view.needs if n.need_id == need_id)

    def _leg_state(self, leg_id_: str) -> LegState:
        leg = self._legs.get(leg_id_)
        return leg.state if leg is not None else LegState.SENT

    async def _until(self, condition: Callable[[], bool], moment: datetime) -> bool:
        """Wait until ``condition`` holds or ``moment`` passes; whether it holds."""
        remaining = moment - workflow.now()
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(condition, timeout=remaining)
            except TimeoutError:
                return False
        return bool(condition())

    async def _load_directory(self) -> Directory:
        directory: Directory = await workflow.execute_activity(
            LOAD_DIRECTORY, start_to_close_timeout=ACTIVITY_TIMEOUT, result_type=Directory
        )
        return directory

    def _snapshot(self) -> ReferralView:
        view = self._view.model_copy(deep=True)
        view.legs = [self._legs[k].model_copy() for k in sorted(self._legs, key=_leg_order)]
        open_legs = [leg for leg in view.legs if leg.state in OPEN_LEG_STATES]
        view.breached = any(leg.breached for leg in view.legs)
        view.outcome_overdue = any(
            leg.outcome_overdue for leg in view.legs if leg.state in OPEN_LEG_STATES
        )
        waiting = [
            leg.escalate_at or leg.deadline for leg in open_legs if leg.state is LegState.SENT
        ]
        view.next_deadline = min(waiting) if waiting else None
        return view

    def _event(
        self, kind: str, actor: str, detail: str = "", *, need_id: str | None = None
    ) -> None:
        self._events.append(
            ReferralEvent(
                event_id=str(workflow.uuid4()),
                number=self._view.number,
                need_id=need_id,
                at=workflow.now(),
                kind=kind,
                actor=actor,
                detail=detail,
            )
        )

    async def _record(self) -> None:
        """Write the referral's state and new events, and refresh its search attributes."""
        async with self._recording:
            self._view.updated_at = workflow.now()
            view = self._snapshot()
            self._upsert_search_attributes(view)
            events, self._events = self._events, []
            await run_store_step(
                RECORD_REFERRAL,
                ReferralRecord(view=view.model_copy(update={"legs": []}), events=events),
                type(None),
            )

    def _upsert_search_attributes(self, view: ReferralView) -> None:
        waiting = {leg.service_id for leg in view.legs if leg.state in WAITING_LEG_STATES}
        if self._waiting_on_starting_legs:
            waiting |= {s for i, s in self._leg_services.items() if i not in self._legs}
        if self._queued:
            # Unallocated needs wait on the co-ordinator (since unallocated-queue).
            waiting.add(COORDINATOR)
        updates: list[SearchAttributeUpdate[Any]] = [
            sa.KIND.value_set("referral"),
            sa.STATUS.value_set(view.status.value),
            sa.AGENCIES.value_set(sorted({leg.agency_id for leg in view.legs})),
            sa.WARD.value_set(view.ward),
            sa.URGENCY.value_set(view.urgency.value),
            sa.BREACHED.value_set(view.breached or any(n.queue_overdue for n in view.needs)),
            sa.WAITING_ON.value_set(sorted(waiting)),
            sa.NEXT_DEADLINE.value_set(view.next_deadline)
            if view.next_deadline is not None
            else sa.NEXT_DEADLINE.value_unset(),
        ]
        if any(leg.outcome_due_at is not None for leg in view.legs):
            # Legs with an outcome deadline (since outcome-deadline): is one overdue?
            updates.append(sa.OVERDUE.value_set(view.outcome_overdue))
        workflow.upsert_search_attributes(updates)

    async def _notify(
        self,
        step: NoticeStep,
        *,
        subject: str,
        need: NeedView | None = None,
        service_id: str | None = None,
        service_ids: list[str] | None = None,
        reason: str = "",
    ) -> None:
        await workflow.execute_activity(
            NOTIFY_REFERRAL,
            ReferralNotice(
                key=idempotency_key(workflow.info().workflow_id, subject, step.value),
                step=step,
                number=self._view.number,
                need_id=need.need_id if need is not None else None,
                service_id=service_id,
                service_ids=list(service_ids or []),
                reason=reason or (need.reason if need is not None else ""),
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            result_type=NoticeResult,
        )


def _withdrawal_stop(reason: str) -> LegStop:
    return LegStop(reason=f"service withdrawn: {reason}", reroute=True)


def _leg_order(leg_id_: str) -> int:
    return int(leg_id_.rsplit("-L", 1)[1])
