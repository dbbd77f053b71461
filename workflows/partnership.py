"""One long-lived workflow per partnership: gates, reminders, meetings, review, next cycle.

Every stage action is an Update whose validator runs the domain rule on the current state,
so a refused action is rejected with its reason and leaves the workflow untouched. Between
actions the workflow sleeps until the next reminder of :mod:`domain.partnership_schedule`
falls due, sends it through the notifier, and keeps the read model and the search
attributes current. It continues as new at each new cycle and whenever its history grows.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    # pydantic's EmailStr and HttpUrl import these lazily; load them outside the sandbox.
    import email_validator  # noqa: F401
    import idna  # noqa: F401

    from domain.indicators import IndicatorStatus, status
    from domain.invitation import meeting_ics
    from domain.notification import (
        Attachment,
        Delivery,
        EmailMessage,
        WebhookMessage,
        idempotency_key,
    )
    from domain.partnership import (
        AddAction,
        AddActionGroup,
        AddFundedProject,
        AddOutcome,
        AgreeElement,
        AnswerKeyQuestions,
        AppointCoordinator,
        ApproveByMembers,
        ApprovePlan,
        AssessResources,
        Command,
        CommitPartner,
        CompleteAction,
        CompleteEstablishment,
        CompleteNegotiation,
        Decide,
        InvitePartner,
        PartnershipState,
        RecordAnnualReview,
        RecordBaseline,
        RecordBenefit,
        RecordConsultation,
        RecordIndicatorActual,
        RecordMeeting,
        RecordReferralOutcome,
        Refusal,
        Stage,
        StartReview,
        SubmitQuarterlyReturn,
        TimelineEvent,
        apply,
        begin_review_if_due,
    )
    from domain.partnership_schedule import (
        MeetingSlot,
        PartnershipSummary,
        Reminder,
        UpcomingReminders,
        addressable,
        due,
        mark_sent,
        meetings_due,
        next_due,
        summarise,
        upcoming,
    )
    from domain.review import ReviewReport, build_report
    from workflows import search_attributes as sa

    # icalendar loads most of itself on first use: make that use here, outside the sandbox,
    # so the sandbox finds every part already passed through.
    _at = datetime(2026, 1, 5, 10, tzinfo=UTC)
    meeting_ics(
        uid="warm-up",
        slot=MeetingSlot(number=1, starts_at=_at, ends_at=_at),
        title="-",
        description="-",
        organiser="a@b.example",
        attendees=["c@d.example"],
        stamp=_at,
    )


class PartnershipInput(BaseModel):
    """The state to run from: a new partnership's, or the last run's when continuing."""

    state: PartnershipState


class ActionResult(BaseModel):
    """What an accepted action did: kept small, as every result is stored in the history."""

    partnership_id: str
    stage: Stage
    cycle: int
    event: TimelineEvent


class Timeline(BaseModel):
    """What happened to the partnership, oldest first."""

    events: list[TimelineEvent]


class IndicatorReport(BaseModel):
    """The partnership's indicators with their RAG status."""

    cycle: int
    indicators: list[IndicatorStatus]


NOTIFY_TIMEOUT = timedelta(seconds=60)
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), maximum_interval=timedelta(hours=1)
)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5)
)
MIN_SLEEP = timedelta(seconds=1)


@workflow.defn
class PartnershipWorkflow:
    """A partnership through its cycles, from invitation to exit."""

    @workflow.init
    def __init__(self, inp: PartnershipInput) -> None:
        self._state = inp.state
        self._run_cycle = inp.state.cycle
        self._changed = False
        self._published: PartnershipSummary | None = None

    @workflow.run
    async def run(self, inp: PartnershipInput) -> PartnershipState:
        """Send what falls due, sleep until the next deadline or action, repeat."""
        while True:
            # Cleared before the work, so an Update arriving during it wakes the next sleep.
            self._changed = False
            await self._send_due()
            await self._publish()
            closed = self._state.stage is Stage.CLOSED
            if closed or self._state.cycle != self._run_cycle or self._history_is_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._publish()  # what Updates changed while the last one was written
                if closed:
                    return self._state
                workflow.continue_as_new(PartnershipInput(state=self._state))
            await self._sleep()

    # Stage actions. Each validator refuses by raising; each handler applies.

    def _check(self, command: Command) -> None:
        apply(self._state, command, workflow.now())

    def _do(self, command: Command) -> ActionResult:
        try:
            self._state = apply(self._state, command, workflow.now())
        except Refusal as exc:  # only if the state moved since validation
            raise ApplicationError(str(exc), type="Refusal", non_retryable=True) from exc
        self._changed = True
        return ActionResult(
            partnership_id=self._state.id,
            stage=self._state.stage,
            cycle=self._state.cycle,
            event=self._state.timeline[-1],
        )

    @workflow.update
    def invite_partner(self, command: InvitePartner) -> ActionResult:
        """Invite an organisation to commit to the partnership."""
        return self._do(command)

    @invite_partner.validator
    def _v_invite_partner(self, command: InvitePartner) -> None:
        self._check(command)

    @workflow.update
    def commit_partner(self, command: CommitPartner) -> ActionResult:
        """A partner commits: its contributions and agreement to aims, targets, evaluation."""
        return self._do(command)

    @commit_partner.validator
    def _v_commit_partner(self, command: CommitPartner) -> None:
        self._check(command)

    @workflow.update
    def assess_resources(self, command: AssessResources) -> ActionResult:
        """Record the direct, indirect and opportunity costs."""
        return self._do(command)

    @assess_resources.validator
    def _v_assess_resources(self, command: AssessResources) -> None:
        self._check(command)

    @workflow.update
    def answer_key_questions(self, command: AnswerKeyQuestions) -> ActionResult:
        """Answer key questions of the partnership strategy."""
        return self._do(command)

    @answer_key_questions.validator
    def _v_answer_key_questions(self, command: AnswerKeyQuestions) -> None:
        self._check(command)

    @workflow.update
    def approve_by_members(self, command: ApproveByMembers) -> ActionResult:
        """Record elected members' approval."""
        return self._do(command)

    @approve_by_members.validator
    def _v_approve_by_members(self, command: ApproveByMembers) -> None:
        self._check(command)

    @workflow.update
    def complete_negotiation(self, command: CompleteNegotiation) -> ActionResult:
        """Leave Negotiate for Establish."""
        return self._do(command)

    @complete_negotiation.validator
    def _v_complete_negotiation(self, command: CompleteNegotiation) -> None:
        self._check(command)

    @workflow.update
    def agree_element(self, command: AgreeElement) -> ActionResult:
        """Agree one of the eight support elements."""
        return self._do(command)

    @agree_element.validator
    def _v_agree_element(self, command: AgreeElement) -> None:
        self._check(command)

    @workflow.update
    def appoint_coordinator(self, command: AppointCoordinator) -> ActionResult:
        """Appoint the co-ordinator."""
        return self._do(command)

    @appoint_coordinator.validator
    def _v_appoint_coordinator(self, command: AppointCoordinator) -> None:
        self._check(command)

    @workflow.update
    def complete_establishment(self, command: CompleteEstablishment) -> ActionResult:
        """Leave Establish for Plan."""
        return self._do(command)

    @complete_establishment.validator
    def _v_complete_establishment(self, command: CompleteEstablishment) -> None:
        self._check(command)

    @workflow.update
    def record_baseline(self, command: RecordBaseline) -> ActionResult:
        """Add baseline data."""
        return self._do(command)

    @record_baseline.validator
    def _v_record_baseline(self, command: RecordBaseline) -> None:
        self._check(command)

    @workflow.update
    def record_consultation(self, command: RecordConsultation) -> ActionResult:
        """Record a consultation event."""
        return self._do(command)

    @record_consultation.validator
    def _v_record_consultation(self, command: RecordConsultation) -> None:
        self._check(command)

    @workflow.update
    def add_action_group(self, command: AddActionGroup) -> ActionResult:
        """Set up an issue-based action group."""
        return self._do(command)

    @add_action_group.validator
    def _v_add_action_group(self, command: AddActionGroup) -> None:
        self._check(command)

    @workflow.update
    def add_action(self, command: AddAction) -> ActionResult:
        """Add an action to the action plan."""
        return self._do(command)

    @add_action.validator
    def _v_add_action(self, command: AddAction) -> None:
        self._check(command)

    @workflow.update
    def add_outcome(self, command: AddOutcome) -> ActionResult:
        """Add a SMART outcome with its indicators."""
        return self._do(command)

    @add_outcome.validator
    def _v_add_outcome(self, command: AddOutcome) -> None:
        self._check(command)

    @workflow.update
    def add_funded_project(self, command: AddFundedProject) -> ActionResult:
        """Fund a project with a deadline and a target."""
        return self._do(command)

    @add_funded_project.validator
    def _v_add_funded_project(self, command: AddFundedProject) -> None:
        self._check(command)

    @workflow.update
    def approve_plan(self, command: ApprovePlan) -> ActionResult:
        """Approve the action plan and start implementing it."""
        return self._do(command)

    @approve_plan.validator
    def _v_approve_plan(self, command: ApprovePlan) -> None:
        self._check(command)

    @workflow.update
    def record_meeting(self, command: RecordMeeting) -> ActionResult:
        """Record a stakeholder meeting's minutes and progress."""
        return self._do(command)

    @record_meeting.validator
    def _v_record_meeting(self, command: RecordMeeting) -> None:
        self._check(command)

    @workflow.update
    def submit_quarterly_return(self, command: SubmitQuarterlyReturn) -> ActionResult:
        """A funded project's quarterly return."""
        return self._do(command)

    @submit_quarterly_return.validator
    def _v_submit_quarterly_return(self, command: SubmitQuarterlyReturn) -> None:
        self._check(command)

    @workflow.update
    def complete_action(self, command: CompleteAction) -> ActionResult:
        """Mark an action done."""
        return self._do(command)

    @complete_action.validator
    def _v_complete_action(self, command: CompleteAction) -> None:
        self._check(command)

    @workflow.update
    def record_indicator_actual(self, command: RecordIndicatorActual) -> ActionResult:
        """Record an indicator's actual; other services feed it with their own source tag."""
        return self._do(command)

    @record_indicator_actual.validator
    def _v_record_indicator_actual(self, command: RecordIndicatorActual) -> None:
        self._check(command)

    @workflow.update
    def record_referral_outcome(self, command: RecordReferralOutcome) -> ActionResult:
        """Count a referral outcome in the indicators bound to it (refused, leaving no trace
        in the history, when none counts it or it was counted already)."""
        return self._do(command)

    @record_referral_outcome.validator
    def _v_record_referral_outcome(self, command: RecordReferralOutcome) -> None:
        self._check(command)

    @workflow.update
    def record_benefit(self, command: RecordBenefit) -> ActionResult:
        """Record a monetised benefit."""
        return self._do(command)

    @record_benefit.validator
    def _v_record_benefit(self, command: RecordBenefit) -> None:
        self._check(command)

    @workflow.update
    def start_review(self, command: StartReview) -> ActionResult:
        """Start the review before the plan ends."""
        return self._do(command)

    @start_review.validator
    def _v_start_review(self, command: StartReview) -> None:
        self._check(command)

    @workflow.update
    def record_annual_review(self, command: RecordAnnualReview) -> ActionResult:
        """Record an annual departmental review or member scrutiny."""
        return self._do(command)

    @record_annual_review.validator
    def _v_record_annual_review(self, command: RecordAnnualReview) -> None:
        self._check(command)

    @workflow.update
    def decide(self, command: Decide) -> ActionResult:
        """The review's decision: continue, rationalise or exit."""
        return self._do(command)

    @decide.validator
    def _v_decide(self, command: Decide) -> None:
        self._check(command)

    # Reads.

    @workflow.query
    def state(self) -> PartnershipState:
        """The whole state."""
        return self._state

    @workflow.query
    def timeline(self) -> Timeline:
        """What happened, oldest first."""
        return Timeline(events=self._state.timeline)

    @workflow.query
    def indicators(self) -> IndicatorReport:
        """Indicators with RAG status."""
        return IndicatorReport(
            cycle=self._state.cycle, indicators=[status(i) for i in self._state.indicators]
        )

    @workflow.query
    def upcoming(self) -> UpcomingReminders:
        """The next reminders, soonest first."""
        now = workflow.now()
        return UpcomingReminders(as_of=now, reminders=upcoming(self._state, now))

    @workflow.query
    def review_report(self) -> ReviewReport:
        """The review report as of now."""
        now = workflow.now()
        return build_report(self._state, now, meetings_due(self._state, now))

    # The loop's steps.

    async def _sleep(self) -> None:
        now = workflow.now()
        wake = next_due(self._state, now)
        timeout = None if wake is None else max(wake - now, MIN_SLEEP)
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._changed or self._history_is_long(), timeout=timeout
            )

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self._state.policy.max_history_events
        )

    async def _send_due(self) -> None:
        self._state = begin_review_if_due(self._state, workflow.now())
        for reminder in due(self._state, workflow.now()):
            await self._send(reminder)
            self._state = mark_sent(self._state, reminder, workflow.now())

    async def _send(self, reminder: Reminder) -> None:
        wid = workflow.info().workflow_id
        attachments: list[Attachment] = []
        if reminder.meeting is not None:
            # icalendar looks up time zone files on disk; the event only uses UTC times and
            # the text depends on the inputs alone, so it is deterministic outside the sandbox.
            with workflow.unsafe.sandbox_unrestricted():
                ics = meeting_ics(
                    uid=f"{idempotency_key(wid, reminder.key)}@partnerflow",
                    slot=reminder.meeting,
                    title=f"{self._state.name}: stakeholder meeting {reminder.meeting.number}",
                    description=reminder.text,
                    organiser=self._state.coordinator.email,
                    attendees=reminder.to,
                    stamp=reminder.due_at,
                )
            attachments.append(
                Attachment(
                    filename=f"meeting-{reminder.meeting.number}.ics",
                    content_type="text/calendar",
                    content=ics,
                )
            )
        to = addressable(reminder.to)
        if to:
            email = EmailMessage(
                idempotency_key=idempotency_key(wid, reminder.key, "email"),
                to=to,
                subject=reminder.subject,
                text=reminder.text,
                attachments=attachments,
                subject_ref=self._state.id,
            )
            await self._notify("send_email", email)
        if len(to) < len(reminder.to):
            skipped = len(reminder.to) - len(to)
            self._note("notification_failed", f"{skipped} undeliverable address(es) skipped")
        for url in reminder.webhook_urls:
            hook = WebhookMessage.model_validate(
                {
                    "idempotency_key": idempotency_key(wid, reminder.key, "webhook", url),
                    "url": url,
                    "event": f"partnership.{reminder.kind.value}",
                    "payload": {
                        "partnership": self._state.id,
                        "cycle": self._state.cycle,
                        "subject": reminder.subject,
                        "due_at": reminder.due_at.isoformat(),
                        "meeting_starts_at": (
                            reminder.meeting.starts_at.isoformat() if reminder.meeting else None
                        ),
                    },
                    "subject_ref": self._state.id,
                }
            )
            await self._notify("send_webhook", hook)

    async def _notify(self, activity: str, message: EmailMessage | WebhookMessage) -> None:
        try:
            await workflow.execute_activity(
                activity,
                message,
                result_type=Delivery,
                start_to_close_timeout=NOTIFY_TIMEOUT,
                retry_policy=NOTIFY_RETRY,
            )
        except ActivityError as exc:
            # A partner's endpoint refusing for good must not stop the partnership.
            workflow.logger.warning("notification failed: %s", exc.cause or exc)
            self._note("notification_failed", f"{activity} {message.idempotency_key} failed")

    def _note(self, kind: str, detail: str) -> None:
        self._state = self._state.model_copy(deep=True)
        self._state.timeline.append(
            TimelineEvent(at=workflow.now(), cycle=self._state.cycle, kind=kind, detail=detail)
        )

    async def _publish(self) -> None:
        summary = summarise(self._state, workflow.now())
        if summary == self._published:
            return
        workflow.upsert_search_attributes(
            [
                sa.KIND.value_set("partnership"),
                sa.STAGE.value_set(summary.stage.value),
                sa.CYCLE.value_set(summary.cycle),
                sa.OVERDUE.value_set(summary.overdue),
                sa.NEXT_DEADLINE.value_set(summary.next_deadline)
                if summary.next_deadline
                else sa.NEXT_DEADLINE.value_unset(),
            ]
        )
        await workflow.execute_activity(
            "record_partnership",
            summary,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RECORD_RETRY,
        )
        self._published = summary
