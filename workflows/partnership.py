"""One long-lived workflow per partnership: gates, reminders, meetings, review, next cycle.

Every stage action declared in :mod:`domain.partnership.actions` is an Update whose validator
runs the domain rule on the current state, so a refused action is rejected with its reason
and leaves the workflow untouched. Between
actions the workflow sleeps until the next reminder of :mod:`domain.partnership_schedule`
falls due, sends it through the notifier, and keeps the read model and the search
attributes current. It continues as new at each new cycle and whenever its history grows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
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
    from domain.partner_link import SEND_PARTNER_REQUEST, PartnerRequest
    from domain.partnership import (
        ACTIONS,
        Command,
        PartnershipAction,
        PartnershipState,
        Refusal,
        Stage,
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
    from domain.webhook_events import PartnershipReminderEvent, partnership_event_name
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
PARTNER_LINKS = "partner-action-links"
"""Patch: emails asking a partner to act carry a signed link (sent by their own activity)."""


@workflow.defn
class PartnershipWorkflow:
    """A partnership through its cycles, from invitation to exit."""

    @workflow.init
    def __init__(self, inp: PartnershipInput) -> None:
        self._state = inp.state
        self._run_cycle = inp.state.cycle
        self._changed = False
        self._published: PartnershipSummary | None = None
        # One Update per declared action, named as in every recorded history.
        for action in ACTIONS:
            workflow.set_update_handler(
                action.update, self._handler(action), validator=self._validator(action)
            )

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

    def _handler(self, action: PartnershipAction) -> Callable[[Command], ActionResult]:
        def handler(command: Command) -> ActionResult:
            return self._do(command)

        # Temporal decodes the argument by the handler's annotation: the action's own command.
        handler.__annotations__ = {"command": action.command, "return": ActionResult}
        handler.__doc__ = action.summary
        return handler

    def _validator(self, action: PartnershipAction) -> Callable[[Command], None]:
        def validator(command: Command) -> None:
            self._check(command)

        validator.__annotations__ = {"command": action.command, "return": None}
        return validator

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
            if reminder.ask is not None and workflow.patched(PARTNER_LINKS):
                # The activity signs the link: its secret never enters the history.
                await self._notify(
                    SEND_PARTNER_REQUEST, PartnerRequest(email=email, ask=reminder.ask)
                )
            else:
                await self._notify("send_email", email)
        if len(to) < len(reminder.to):
            skipped = len(reminder.to) - len(to)
            self._note("notification_failed", f"{skipped} undeliverable address(es) skipped")
        for url in reminder.webhook_urls:
            hook = WebhookMessage.model_validate(
                {
                    "idempotency_key": idempotency_key(wid, reminder.key, "webhook", url),
                    "url": url,
                    "event": partnership_event_name(reminder.kind),
                    "payload": PartnershipReminderEvent(
                        partnership=self._state.id,
                        cycle=self._state.cycle,
                        subject=reminder.subject,
                        due_at=reminder.due_at,
                        meeting_starts_at=reminder.meeting.starts_at if reminder.meeting else None,
                    ).model_dump(mode="json"),
                    "subject_ref": self._state.id,
                }
            )
            await self._notify("send_webhook", hook)

    async def _notify(
        self, activity: str, message: EmailMessage | WebhookMessage | PartnerRequest
    ) -> None:
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
