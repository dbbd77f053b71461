"""When a partnership chases whom: every reminder, invitation and escalation, from state + now.

:func:`schedule` lists every reminder the partnership's state calls for (a reminder vanishes
when what it chases is done: a partner commits, a return arrives, an action is completed).
The workflow sends those that are due and not yet sent (:func:`due`), then sleeps until
:func:`next_due`. Deadlines count working days in England and Wales.

Cycle-scoped keys start with ``cycle{n}:``, so a new cycle can drop the old ones.

Longer than 400 lines on purpose: every reminder kind is derived from the same state and
clock in one pass, so they are kept side by side.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel, EmailStr, Field, TypeAdapter, ValidationError

from domain.calendar import LONDON, add_working_days, is_working_day
from domain.partner_link import PARTNER_LINK_LIFETIME, PartnerAsk
from domain.partnership import (
    AnnualReviewKind,
    PartnershipState,
    PlanAction,
    Stage,
    TimelineEvent,
    add_months,
)
from domain.partnership.taper import notice_due, step_downs

MEETING_START = time(10, 0)
MEETING_LENGTH = timedelta(hours=2)
NOTICE_AT = time(9, 0)


class ReminderKind(StrEnum):
    """What a reminder is about."""

    PARTNER_INVITATION = "partner_invitation"
    COMMITMENT_REMINDER = "commitment_reminder"
    COMMITMENT_ESCALATION = "commitment_escalation"
    MEETING_INVITATION = "meeting_invitation"
    RETURN_REQUEST = "return_request"
    RETURN_REMINDER = "return_reminder"
    RETURN_ESCALATION = "return_escalation"
    ACTION_DUE_SOON = "action_due_soon"
    ACTION_OVERDUE = "action_overdue"
    ACTION_ESCALATION = "action_escalation"
    PROJECT_SLIPPED = "project_slipped"
    FUNDING_STEP_DOWN = "funding_step_down"
    REVIEW_DUE = "review_due"
    DECISION_DUE = "decision_due"
    DEPARTMENTAL_REVIEW = "departmental_review"
    MEMBER_SCRUTINY = "member_scrutiny"


class MeetingSlot(BaseModel):
    """A stakeholder meeting to invite partners to."""

    number: int
    starts_at: datetime
    ends_at: datetime


class Reminder(BaseModel):
    """One message the partnership sends when it falls due."""

    key: str
    kind: ReminderKind
    due_at: datetime
    to: list[str] = Field(min_length=1)
    subject: str
    text: str
    webhook_urls: list[str] = Field(default_factory=list)
    meeting: MeetingSlot | None = None
    overdue: bool = Field(
        default=False, description="Once due, the partnership counts as overdue until resolved."
    )
    ask: PartnerAsk | None = Field(
        default=None,
        description="What it asks a partner to do: the email carries a link to that one form.",
    )


_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)


def addressable(addresses: list[str]) -> list[str]:
    """The addresses an email can be sent to (others are skipped, not retried for ever)."""
    good: list[str] = []
    for address in addresses:
        try:
            good.append(_EMAIL.validate_python(address))
        except ValidationError:
            continue
    return good


def on_working_day(day: date, at: time = NOTICE_AT) -> datetime:
    """``at`` London time on ``day``, or on the next working day if ``day`` is not one."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, at, tzinfo=LONDON)


def working_days_before(moment: datetime, days: int) -> datetime:
    """The moment ``days`` working days before ``moment`` (same local time)."""
    local = moment.astimezone(LONDON)
    day = local.date()
    while days > 0:
        day -= timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=LONDON)


def meeting_slots(state: PartnershipState) -> list[MeetingSlot]:
    """The plan's stakeholder meetings: every ``meeting_interval_months`` on a working day."""
    if state.plan_start is None or state.plan_end is None:
        return []
    slots: list[MeetingSlot] = []
    k = 1
    while (day := add_months(state.plan_start, state.policy.meeting_interval_months * k)) < (
        state.plan_end
    ):
        start = on_working_day(day, MEETING_START)
        slots.append(MeetingSlot(number=k, starts_at=start, ends_at=start + MEETING_LENGTH))
        k += 1
    return slots


def meetings_due(state: PartnershipState, now: datetime) -> int:
    """How many stakeholder meetings should have been held by ``now``."""
    return sum(s.starts_at <= now for s in meeting_slots(state))


def quarter_ends(state: PartnershipState, deadline: date) -> list[date]:
    """Ends of the plan quarters a project reports on: those starting before its deadline."""
    if state.plan_start is None or state.plan_end is None:
        return []
    last = min(deadline, state.plan_end)
    ends: list[date] = []
    q = 1
    while add_months(state.plan_start, 3 * (q - 1)) < last:
        ends.append(add_months(state.plan_start, 3 * q))
        q += 1
    return ends


def schedule(state: PartnershipState, now: datetime) -> list[Reminder]:
    """Every reminder the state calls for, sent or not, in due order."""
    if state.stage is Stage.CLOSED:
        return []
    items = _negotiation(state) + _annual(state, now)
    if state.stage in (Stage.IMPLEMENT, Stage.REVIEW):
        items += _meetings(state) + _returns(state) + _actions(state, now) + _review(state)
        items += _step_downs(state, now)
    return sorted(items, key=lambda r: (r.due_at, r.key))


def due(state: PartnershipState, now: datetime) -> list[Reminder]:
    """Reminders due by ``now`` and not yet sent."""
    sent = set(state.sent)
    return [r for r in schedule(state, now) if r.due_at <= now and r.key not in sent]


def next_due(state: PartnershipState, now: datetime) -> datetime | None:
    """When the next unsent reminder falls due (none: nothing to wait for)."""
    sent = set(state.sent)
    pending = [r.due_at for r in schedule(state, now) if r.key not in sent]
    return min(pending) if pending else None


def upcoming(state: PartnershipState, now: datetime, limit: int = 20) -> list[Reminder]:
    """The next unsent reminders, soonest first."""
    sent = set(state.sent)
    return [r for r in schedule(state, now) if r.key not in sent][:limit]


def overdue_items(state: PartnershipState, now: datetime) -> list[Reminder]:
    """What the partnership waits on past its deadline: the reminders that made it overdue."""
    return [r for r in schedule(state, now) if r.overdue and r.due_at <= now]


def is_overdue(state: PartnershipState, now: datetime) -> bool:
    """Whether something the partnership waits on is past its deadline."""
    return bool(overdue_items(state, now))


def mark_sent(state: PartnershipState, reminder: Reminder, now: datetime) -> PartnershipState:
    """The state after ``reminder`` went out."""
    new = state.model_copy(deep=True)
    if reminder.key not in new.sent:
        new.sent.append(reminder.key)
    new.timeline.append(
        TimelineEvent(at=now, cycle=new.cycle, kind=reminder.kind.value, detail=reminder.subject)
    )
    return new


def _ask(
    s: PartnershipState, partner: str, update: str, sent_at: datetime, **answers: str
) -> PartnerAsk:
    """What a reminder asks agency ``partner`` to do; its link works for a while after."""
    return PartnerAsk(
        partnership_id=s.id,
        agency_id=partner,
        update=update,
        answers=answers,
        expires_at=sent_at + PARTNER_LINK_LIFETIME,
    )


def _negotiation(s: PartnershipState) -> list[Reminder]:
    if s.stage is not Stage.NEGOTIATE:
        return []
    items: list[Reminder] = []
    step = s.policy.response_working_days
    for p in s.partners:
        if p.commitment is not None:
            continue
        hooks = [str(p.webhook_url)] if p.webhook_url else []
        if s.invitation_emails:
            answer_by = add_working_days(p.invited_at, step)
            items.append(
                Reminder(
                    key=f"cycle{s.cycle}:commit:{p.agency_id}:invited",
                    kind=ReminderKind.PARTNER_INVITATION,
                    due_at=p.invited_at,
                    to=[p.contact.email],
                    subject=f"{s.name} invites {p.name} to join",
                    text=(
                        f"{s.name} invites {p.name} to join as a partner. Its aims: "
                        f"{'; '.join(s.aims)}. Please say by {answer_by:%d %B %Y} what your "
                        "organisation will contribute (money, staff time, equipment or "
                        "premises) and whether it agrees the aims, the targets and how the "
                        "partnership will be evaluated, so that the partnership can be agreed. "
                        f"Questions: {s.coordinator.name}, {s.coordinator.email}."
                    ),
                    webhook_urls=hooks,
                    ask=_ask(s, p.agency_id, "commit_partner", p.invited_at, agency_id=p.agency_id),
                )
            )
        for n in range(1, s.policy.partner_reminders + 1):
            items.append(
                Reminder(
                    key=f"cycle{s.cycle}:commit:{p.agency_id}:{n}",
                    kind=ReminderKind.COMMITMENT_REMINDER,
                    due_at=add_working_days(p.invited_at, n * step),
                    to=[p.contact.email],
                    subject=f"Reminder {n}: please commit to {s.name}",
                    text=(
                        f"{p.name} was invited to join {s.name} and has not yet committed. "
                        f"Aims: {'; '.join(s.aims)}. Please record your contribution and "
                        "agreement to the aims, targets and evaluation."
                    ),
                    webhook_urls=hooks,
                    ask=_ask(
                        s,
                        p.agency_id,
                        "commit_partner",
                        add_working_days(p.invited_at, n * step),
                        agency_id=p.agency_id,
                    ),
                )
            )
        items.append(
            Reminder(
                key=f"cycle{s.cycle}:commit:{p.agency_id}:escalated",
                kind=ReminderKind.COMMITMENT_ESCALATION,
                due_at=add_working_days(p.invited_at, (s.policy.partner_reminders + 1) * step),
                to=[s.coordinator.email],
                subject=f"{p.name} has not committed to {s.name}",
                text=(
                    f"{p.name} ({p.agency_id}) was invited on {p.invited_at:%d %B %Y} and has not "
                    f"answered {s.policy.partner_reminders} reminders. Please follow it up."
                ),
                overdue=True,
            )
        )
    return items


def _meetings(s: PartnershipState) -> list[Reminder]:
    partners = [p for p in s.partners if p.commitment is not None]
    if not partners:
        return []
    items: list[Reminder] = []
    for slot in meeting_slots(s):
        when = slot.starts_at.astimezone(LONDON)
        invited = working_days_before(slot.starts_at, s.policy.invite_working_days).replace(
            hour=NOTICE_AT.hour, minute=0
        )
        subject = f"{s.name}: stakeholder meeting {slot.number}, {when:%A %d %B %Y %H:%M}"
        key = f"cycle{s.cycle}:meeting:{slot.number}:invite"
        if not s.asks_each_partner:
            items.append(
                Reminder(
                    key=key,
                    kind=ReminderKind.MEETING_INVITATION,
                    due_at=invited,
                    to=[p.contact.email for p in partners] + [s.coordinator.email],
                    subject=subject,
                    text=(
                        f"You are invited to stakeholder meeting {slot.number} of {s.name} on "
                        f"{when:%A %d %B %Y at %H:%M} to monitor progress on the action plan. "
                        "The calendar invitation is attached."
                    ),
                    webhook_urls=[str(p.webhook_url) for p in partners if p.webhook_url],
                    meeting=slot,
                )
            )
            continue
        # Each partner its own invitation, so each carries that partner's link to answer it.
        answer_by = working_days_before(slot.starts_at, 1)
        items.append(
            Reminder(
                key=key,
                kind=ReminderKind.MEETING_INVITATION,
                due_at=invited,
                to=[s.coordinator.email],
                subject=subject,
                text=(
                    f"Stakeholder meeting {slot.number} of {s.name} is on "
                    f"{when:%A %d %B %Y at %H:%M}. Each partner has been invited and asked to "
                    "say whether it will attend; their answers and apologies are listed on "
                    "the partnership's page. The calendar invitation is attached."
                ),
                meeting=slot,
            )
        )
        for p in partners:
            items.append(
                Reminder(
                    key=f"{key}:{p.agency_id}",
                    kind=ReminderKind.MEETING_INVITATION,
                    due_at=invited,
                    to=[p.contact.email],
                    subject=subject,
                    text=(
                        f"{p.name} is invited to stakeholder meeting {slot.number} of {s.name} "
                        f"on {when:%A %d %B %Y at %H:%M}, for two hours. The partners meet "
                        "every "
                        f"{_months(s.policy.meeting_interval_months)} to monitor progress on the "
                        "action plan against its targets, agree what to do next and who does "
                        f"it. Please say by {answer_by:%A %d %B %Y} whether your organisation "
                        "will attend, or send its apologies, so that the co-ordinator knows "
                        "who will be there. The calendar invitation is attached. Questions: "
                        f"{s.coordinator.name}, {s.coordinator.email}."
                    ),
                    webhook_urls=[str(p.webhook_url)] if p.webhook_url else [],
                    meeting=slot,
                    ask=_ask(
                        s,
                        p.agency_id,
                        "reply_to_meeting",
                        invited,
                        agency_id=p.agency_id,
                        meeting=str(slot.number),
                    ),
                )
            )
    return items


def _months(n: int) -> str:
    return "month" if n == 1 else f"{n} months"


def _returns(s: PartnershipState) -> list[Reminder]:
    items: list[Reminder] = []
    for p in s.projects:
        got = {r.quarter for r in p.returns}
        for q, end in enumerate(quarter_ends(s, p.deadline), start=1):
            if q in got:
                continue
            asked = on_working_day(end)
            base = f"cycle{s.cycle}:return:{p.id}:{q}"
            answers = {"project_id": p.id, "quarter": str(q)}
            items += [
                Reminder(
                    key=f"{base}:request",
                    kind=ReminderKind.RETURN_REQUEST,
                    due_at=asked,
                    to=[p.contact.email],
                    subject=f"{s.name}: quarterly return {q} for {p.name}",
                    text=(
                        f"Please submit the quarterly return for quarter {q} (to {end}) of "
                        f"{p.name}: spend, progress, and whether it is on target ({p.target})."
                    ),
                    ask=_ask(s, p.agency_id, "submit_quarterly_return", asked, **answers),
                ),
                Reminder(
                    key=f"{base}:reminder",
                    kind=ReminderKind.RETURN_REMINDER,
                    due_at=add_working_days(asked, s.policy.response_working_days),
                    to=[p.contact.email],
                    subject=f"Reminder: quarterly return {q} for {p.name} is overdue",
                    text=f"The quarterly return for quarter {q} of {p.name} has not arrived.",
                    overdue=True,
                    ask=_ask(s, p.agency_id, "submit_quarterly_return", asked, **answers),
                ),
                Reminder(
                    key=f"{base}:escalated",
                    kind=ReminderKind.RETURN_ESCALATION,
                    due_at=add_working_days(asked, s.policy.grace_working_days),
                    to=[s.coordinator.email],
                    subject=f"{p.name} has not sent quarterly return {q}",
                    text=(
                        f"{p.name} ({p.agency_id}) has not sent its return for quarter {q} "
                        f"despite a reminder. Funded projects that miss returns are reviewed."
                    ),
                    overdue=True,
                ),
            ]
        last = max(p.returns, key=lambda r: r.quarter) if p.returns else None
        if last is not None and not last.on_target:
            items.append(
                Reminder(
                    key=f"cycle{s.cycle}:project:{p.id}:off-target:{last.quarter}",
                    kind=ReminderKind.PROJECT_SLIPPED,
                    due_at=last.submitted_at,
                    to=[s.coordinator.email],
                    subject=f"{p.name} is off target",
                    text=(
                        f"{p.name} reports being off target in quarter {last.quarter}: "
                        f"{last.progress}. Review whether the project should continue."
                    ),
                )
            )
        if last is None or not last.on_target:
            items.append(
                Reminder(
                    key=f"cycle{s.cycle}:project:{p.id}:missed-deadline",
                    kind=ReminderKind.PROJECT_SLIPPED,
                    due_at=on_working_day(p.deadline + timedelta(days=1)),
                    to=[s.coordinator.email],
                    subject=f"{p.name} passed its deadline without meeting its target",
                    text=f"{p.name} was due by {p.deadline} to achieve: {p.target}. Review it.",
                    overdue=True,
                )
            )
    return items


def _step_downs(s: PartnershipState, now: datetime) -> list[Reminder]:
    # Only tapered projects have step downs, so partnerships without one keep their schedule.
    today = now.astimezone(LONDON).date()
    items: list[Reminder] = []
    for p in s.projects:
        for step in step_downs(p):
            if step.year_starting <= today:
                continue  # the money has already fallen: too late to warn of it
            at = notice_due(step.year_starting, s.policy.taper_notice_working_days)
            day = f"{step.year_starting:%d %B %Y}"
            change = (
                f"From {day} {s.name} funds {p.name} at {step.to_percent} % of its full yearly "
                f"funding: £{step.to_gbp:,.0f} for the year, down from £{step.from_gbp:,.0f} "
                f"({step.from_percent} %)."
            )
            after = p.after_funding
            plan = (
                f"Its plan for when the funding ends ({after.route.value}): "
                f"{after.plan.rstrip('. ')}."
                if after
                else "It has no plan yet for when the funding ends."
            )
            base = f"cycle{s.cycle}:taper:{p.id}:{step.year_starting.isoformat()}"
            items += [
                Reminder(
                    key=f"{base}:agency",
                    kind=ReminderKind.FUNDING_STEP_DOWN,
                    due_at=at,
                    to=[p.contact.email],
                    subject=f"{s.name}: funding for {p.name} steps down to "
                    f"{step.to_percent} % on {day}",
                    text=(
                        f"{change} {plan} Please say by {day} how the project will carry on: "
                        "mainstreamed into a partner's own budget, or an exit that hands its "
                        "users on, so that nobody is left without the service when the money "
                        f"falls. Questions: {s.coordinator.name}, {s.coordinator.email}."
                    ),
                    ask=_ask(s, p.agency_id, "plan_after_funding", at, project_id=p.id),
                ),
                Reminder(
                    key=f"{base}:coordinator",
                    kind=ReminderKind.FUNDING_STEP_DOWN,
                    due_at=at,
                    to=[s.coordinator.email],
                    subject=f"{p.name}: funding steps down to {step.to_percent} % on {day}",
                    text=(
                        f"{change} {plan} {p.contact.name} ({p.agency_id}) has been asked to "
                        f"confirm how the project carries on by {day}."
                    ),
                ),
            ]
    return items


def _actions(s: PartnershipState, now: datetime) -> list[Reminder]:
    items: list[Reminder] = []
    for a in s.actions:
        if a.done_on is not None:
            continue
        late = on_working_day(a.due + timedelta(days=1))
        if s.asks_each_partner and now < late:
            items.append(_falling_due(s, a))
        items += [
            Reminder(
                key=f"cycle{s.cycle}:action:{a.id}:overdue",
                kind=ReminderKind.ACTION_OVERDUE,
                due_at=late,
                to=[a.owner.email],
                subject=f"{s.name}: action overdue: {a.title}",
                text=(
                    f"The action {a.title!r} was due on {a.due:%d %B %Y} and is not recorded as "
                    f"done. Monitoring: {a.monitoring}. Please complete it or report progress."
                ),
                overdue=True,
                ask=(
                    _ask(s, a.owner_agency_id, "complete_action", late, action_id=a.id)
                    if a.owner_agency_id
                    else None
                ),
            ),
            Reminder(
                key=f"cycle{s.cycle}:action:{a.id}:escalated",
                kind=ReminderKind.ACTION_ESCALATION,
                due_at=add_working_days(late, s.policy.grace_working_days),
                to=[s.coordinator.email],
                subject=f"{s.name}: action still overdue: {a.title}",
                text=(
                    f"{a.owner.name} has not completed {a.title!r} (due {a.due:%d %B %Y}) "
                    "after a reminder."
                ),
                overdue=True,
            ),
        ]
    return items


def _falling_due(s: PartnershipState, a: PlanAction) -> Reminder:
    """A few working days before an action is due: its owner is asked to record it done."""
    soon = working_days_before(on_working_day(a.due), s.policy.due_soon_working_days)
    arose = f", agreed at stakeholder meeting {a.meeting}," if a.meeting else ""
    return Reminder(
        key=f"cycle{s.cycle}:action:{a.id}:due-soon",
        kind=ReminderKind.ACTION_DUE_SOON,
        due_at=soon,
        to=[a.owner.email],
        subject=f"{s.name}: action due on {a.due:%d %B %Y}: {a.title}",
        text=(
            f"The action {a.title!r}{arose} of {s.name} falls due on {a.due:%A %d %B %Y}. "
            f"Monitoring: {a.monitoring}. Please record it as done once it is, so that the "
            "partnership's progress against its plan is up to date; if it will be late, tell "
            f"the co-ordinator, {s.coordinator.name} ({s.coordinator.email}), before then."
        ),
        ask=(
            _ask(s, a.owner_agency_id, "complete_action", soon, action_id=a.id)
            if a.owner_agency_id
            else None
        ),
    )


def _review(s: PartnershipState) -> list[Reminder]:
    if s.plan_end is None:
        return []
    review_at = on_working_day(s.plan_end)
    return [
        Reminder(
            key=f"cycle{s.cycle}:review-due",
            kind=ReminderKind.REVIEW_DUE,
            due_at=review_at,
            to=[s.coordinator.email],
            subject=f"{s.name}: the action plan has ended; review due",
            text=(
                f"The action plan of {s.name} (cycle {s.cycle}) ended on {s.plan_end}. The review "
                "report is ready: results against targets, value for money and partnership "
                "health. Please record the decision: continue, rationalise or exit."
            ),
        ),
        Reminder(
            key=f"cycle{s.cycle}:decision-due",
            kind=ReminderKind.DECISION_DUE,
            due_at=add_working_days(review_at, s.policy.grace_working_days),
            to=[s.coordinator.email],
            subject=f"{s.name}: review decision outstanding",
            text="The review of the partnership still awaits its decision.",
            overdue=True,
        ),
    ]


def _annual(s: PartnershipState, now: datetime) -> list[Reminder]:
    kinds = [AnnualReviewKind.DEPARTMENTAL]
    if s.strategic:
        kinds.append(AnnualReviewKind.MEMBER_SCRUTINY)
    created = s.created_at.astimezone(LONDON).date()
    items: list[Reminder] = []
    n = 1
    while True:
        anniversary = add_months(created, 12 * n)
        at = on_working_day(anniversary)
        for kind in kinds:
            held = [r.held_on for r in s.annual_reviews if r.kind is kind]
            # A review held in the run-up to the anniversary makes the reminder unnecessary.
            if any(add_months(anniversary, -2) <= h <= anniversary for h in held):
                continue
            who = "council departments" if kind is AnnualReviewKind.DEPARTMENTAL else "members"
            items.append(
                Reminder(
                    key=f"annual:{kind.value}:{n}",
                    kind=(
                        ReminderKind.DEPARTMENTAL_REVIEW
                        if kind is AnnualReviewKind.DEPARTMENTAL
                        else ReminderKind.MEMBER_SCRUTINY
                    ),
                    due_at=at,
                    to=[s.coordinator.email],
                    subject=f"{s.name}: annual review by {who} due",
                    text=(
                        f"{s.name} is due its annual review by the {who} (year {n}), guided by "
                        "the key questions of the partnership strategy."
                    ),
                )
            )
        if at > now:
            return items
        n += 1


class PartnershipSummary(BaseModel):
    """One line of the partnerships list: what the dashboard and search attributes show."""

    id: str
    name: str
    parent_id: str | None
    strategic: bool
    stage: Stage
    cycle: int
    next_deadline: datetime | None
    overdue: bool


def summarise(state: PartnershipState, now: datetime) -> PartnershipSummary:
    """The partnership's list line as of ``now``."""
    return PartnershipSummary(
        id=state.id,
        name=state.name,
        parent_id=state.parent_id,
        strategic=state.strategic,
        stage=state.stage,
        cycle=state.cycle,
        next_deadline=next_due(state, now),
        overdue=is_overdue(state, now),
    )


class UpcomingReminders(BaseModel):
    """The next reminders a partnership will send."""

    as_of: datetime
    reminders: list[Reminder]
