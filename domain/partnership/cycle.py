"""The partnership's rules once its plan runs: meetings, returns, actuals, review, decision.

Like :mod:`domain.partnership.rules`, each rule changes the (copied) state it is given or
raises :class:`Refusal` with the reason.
"""

from __future__ import annotations

from datetime import datetime

from domain.indicators import (
    Actual,
)
from domain.labels import money
from domain.outcome_binding import (
    bound_total,
    contribution,
    counted_key,
    outreach_contribution,
    outreach_key,
)
from domain.partnership.commands import (
    AddAction,
    CompleteAction,
    Decide,
    RecordAnnualReview,
    RecordBenefit,
    RecordIndicatorActual,
    RecordMeeting,
    RecordOutreachSession,
    RecordReferralOutcome,
    ReplyToMeeting,
    StartReview,
    SubmitQuarterlyReturn,
)
from domain.partnership.model import (
    ActionSpec,
    AnnualReview,
    AnnualReviewKind,
    BaselineItem,
    Benefit,
    CycleSummary,
    Decision,
    DecisionKind,
    Meeting,
    MeetingReply,
    PartnershipState,
    QuarterlyReturn,
    Refusal,
    Stage,
)

# Stage gates.
from domain.partnership.rules import add_action, add_event, add_months, require


def record_meeting(s: PartnershipState, c: RecordMeeting, now: datetime) -> str:
    """The rule of RecordMeeting: the meeting, with the apologies its invitation brought, and
    each action arising added to the plan as AddAction adds one (so it is chased alike)."""
    require(s, Stage.IMPLEMENT)
    owners = [a.owner_agency_id for a in c.actions_arising if a.owner_agency_id]
    unknown = [a for a in [*c.attendees, *c.apologies, *owners] if s.partner(a) is None]
    if unknown:
        raise Refusal(f"not partners: {', '.join(dict.fromkeys(unknown))}")
    both = set(c.attendees) & set(c.apologies)
    if both:
        raise Refusal(f"both attended and sent apologies: {', '.join(sorted(both))}")
    number = len(s.meetings) + 1
    sent = [
        r.agency_id
        for r in s.meeting_replies
        if r.number == number and not r.attending and r.agency_id not in c.attendees
    ]
    action_ids: list[str] = []
    for n, arising in enumerate(c.actions_arising, start=1):
        partner = s.partner(arising.owner_agency_id) if arising.owner_agency_id else None
        spec = ActionSpec(
            id=f"meeting-{number}-{n}",
            title=arising.title,
            owner=partner.contact if partner else s.coordinator,
            owner_agency_id=arising.owner_agency_id,
            due=arising.due,
            resources=f"As agreed at stakeholder meeting {number}",
            monitoring="Reported at the next stakeholder meeting",
        )
        try:
            add_action(s, AddAction(action=spec), now)
        except Refusal as exc:
            raise Refusal(f"action arising {n}: {exc}") from None
        s.actions[-1].meeting = number
        action_ids.append(spec.id)
    s.meetings.append(
        Meeting(
            number=number,
            held_at=now,
            minutes=c.minutes,
            progress=c.progress,
            attendees=c.attendees,
            apologies=list(dict.fromkeys([*c.apologies, *sent])),
            decisions=c.decisions,
            action_ids=action_ids,
        )
    )
    if not action_ids:
        return f"meeting {number} recorded"
    return f"meeting {number} recorded with {len(action_ids)} action(s) arising"


def planned_meetings(s: PartnershipState) -> int:
    """How many stakeholder meetings the plan has: one every ``meeting_interval_months``."""
    if s.plan_start is None or s.plan_end is None:
        return 0
    k = 0
    while add_months(s.plan_start, s.policy.meeting_interval_months * (k + 1)) < s.plan_end:
        k += 1
    return k


def reply_to_meeting(s: PartnershipState, c: ReplyToMeeting, now: datetime) -> str:
    """The rule of ReplyToMeeting: one answer per partner and meeting, before it is held."""
    require(s, Stage.IMPLEMENT, Stage.REVIEW)
    partner = s.partner(c.agency_id)
    if partner is None:
        raise Refusal(f"{c.agency_id} is not a partner")
    planned = planned_meetings(s)
    if c.meeting > planned:
        raise Refusal(
            f"the plan has {planned} stakeholder meetings; there is no meeting {c.meeting}"
        )
    if any(m.number == c.meeting for m in s.meetings):
        raise Refusal(f"meeting {c.meeting} has already been held")
    if any(r.number == c.meeting and r.agency_id == c.agency_id for r in s.meeting_replies):
        raise Refusal(f"{partner.name} has already answered the invitation to meeting {c.meeting}")
    s.meeting_replies.append(
        MeetingReply(
            number=c.meeting,
            agency_id=c.agency_id,
            attending=c.attending,
            note=c.note,
            replied_at=now,
        )
    )
    answer = "will attend" if c.attending else "sends apologies for"
    return f"{partner.name} {answer} meeting {c.meeting}"


def submit_quarterly_return(s: PartnershipState, c: SubmitQuarterlyReturn, now: datetime) -> str:
    """The rule of SubmitQuarterlyReturn: what it changes, or why it is refused."""
    require(s, Stage.IMPLEMENT, Stage.REVIEW)
    project = next((p for p in s.projects if p.id == c.project_id), None)
    if project is None:
        raise Refusal(f"no funded project {c.project_id}")
    if any(r.quarter == c.quarter for r in project.returns):
        raise Refusal(f"the return for quarter {c.quarter} has already been submitted")
    project.returns.append(
        QuarterlyReturn(
            quarter=c.quarter,
            submitted_at=now,
            spend_gbp=c.spend_gbp,
            progress=c.progress,
            on_target=c.on_target,
        )
    )
    return f"{project.name}: quarter {c.quarter} return ({'on' if c.on_target else 'off'} target)"


def complete_action(s: PartnershipState, c: CompleteAction, now: datetime) -> str:
    """The rule of CompleteAction: what it changes, or why it is refused."""
    require(s, Stage.IMPLEMENT, Stage.REVIEW)
    action = next((a for a in s.actions if a.id == c.action_id), None)
    if action is None:
        raise Refusal(f"no action {c.action_id}")
    if action.done_on is not None:
        raise Refusal(f"action {c.action_id} was done on {action.done_on}")
    if c.done_on > now.date():
        raise Refusal("an action cannot be done in the future")
    action.done_on = c.done_on
    return f"action {action.title} done"


def record_indicator_actual(s: PartnershipState, c: RecordIndicatorActual, now: datetime) -> str:
    """The rule of RecordIndicatorActual: what it changes, or why it is refused."""
    require(s, Stage.IMPLEMENT, Stage.REVIEW)
    indicator = next((i for i in s.indicators if i.id == c.indicator_id), None)
    if indicator is None:
        raise Refusal(f"no indicator {c.indicator_id}")
    indicator.actuals.append(Actual(value=c.value, at=now, source=c.source))
    return f"{indicator.name}: {c.value:g} {indicator.unit} ({c.source})"


def record_referral_outcome(s: PartnershipState, c: RecordReferralOutcome, now: datetime) -> str:
    """The rule of RecordReferralOutcome: each bound indicator that counts the outcome (and
    has not yet) keeps its contribution and takes the new total as its actual; refused when
    none does, so an outcome offered again changes nothing."""
    require(s, Stage.IMPLEMENT, Stage.REVIEW)
    fact, moved = c.outcome, []
    for indicator in s.indicators:
        if indicator.binding is None:
            continue
        key = counted_key(indicator.binding, fact)
        share = contribution(
            indicator.binding, fact, period_start=s.plan_start, period_end=s.plan_end
        )
        if share is None or key in indicator.counted:
            continue
        indicator.counted[key] = share
        total = bound_total(indicator.counted)
        indicator.actuals.append(Actual(value=total, at=now, source=f"referral {fact.number}"))
        moved.append(f"{indicator.name} now {money(total, indicator.unit)}")
    if not moved:
        raise Refusal(
            f"no indicator counts the outcome of {fact.outcome_id}, or it is counted already"
        )
    return f"referral {fact.number}'s outcome: " + "; ".join(moved)


def record_outreach_session(s: PartnershipState, c: RecordOutreachSession, now: datetime) -> str:
    """The rule of RecordOutreachSession: each indicator bound to an outreach figure that
    counts the session (and has not yet) keeps its figure and takes the new total as its
    actual; refused when none does, so a session offered again changes nothing."""
    require(s, Stage.IMPLEMENT, Stage.REVIEW)
    session, moved = c.session, []
    for indicator in s.indicators:
        if indicator.binding is None:
            continue
        key = outreach_key(session)
        share = outreach_contribution(
            indicator.binding, session, period_start=s.plan_start, period_end=s.plan_end
        )
        if share is None or key in indicator.counted:
            continue
        indicator.counted[key] = share
        total = bound_total(indicator.counted)
        indicator.actuals.append(
            Actual(value=total, at=now, source=f"Reach Out session {session.held_on}")
        )
        moved.append(f"{indicator.name} now {money(total, indicator.unit)}")
    if not moved:
        raise Refusal(
            f"no indicator counts Reach Out session {session.session_id}, or it is counted already"
        )
    return f"Reach Out session of {session.held_on}: " + "; ".join(moved)


def record_benefit(s: PartnershipState, c: RecordBenefit, now: datetime) -> str:
    """The rule of RecordBenefit: what it changes, or why it is refused."""
    require(s, Stage.IMPLEMENT, Stage.REVIEW)
    s.benefits.append(Benefit(description=c.description, amount_gbp=c.amount_gbp, recorded_at=now))
    return f"benefit £{c.amount_gbp:,.0f}: {c.description}"


def start_review(s: PartnershipState, c: StartReview, now: datetime) -> str:
    """The rule of StartReview: what it changes, or why it is refused."""
    require(s, Stage.IMPLEMENT)
    s.stage, s.review_started_at = Stage.REVIEW, now
    return "review started"


def record_annual_review(s: PartnershipState, c: RecordAnnualReview, now: datetime) -> str:
    """The rule of RecordAnnualReview: what it changes, or why it is refused."""
    if s.stage is Stage.CLOSED:
        raise Refusal("the partnership is closed")
    if c.kind is AnnualReviewKind.MEMBER_SCRUTINY and not s.strategic:
        raise Refusal("member scrutiny is for strategic partnerships")
    if c.held_on > now.date():
        raise Refusal("a review cannot be held in the future")
    s.annual_reviews.append(AnnualReview(kind=c.kind, held_on=c.held_on, notes=c.notes))
    return f"annual {c.kind.value} review held on {c.held_on}"


def decide(s: PartnershipState, c: Decide, now: datetime) -> str:
    """The rule of Decide: what it changes, or why it is refused."""
    require(s, Stage.REVIEW)
    if c.kind is DecisionKind.EXIT:
        if len(c.exit_options) < 2:
            raise Refusal("an exit strategy must appraise at least two options")
        if sum(o.chosen for o in c.exit_options) != 1:
            raise Refusal("an exit strategy must choose exactly one option")
    elif c.exit_options:
        raise Refusal("exit options belong to an exit decision")
    if c.merge_into is not None and c.kind is not DecisionKind.RATIONALISE:
        raise Refusal("only a rationalise decision merges into another partnership")
    if c.merge_into == s.id:
        raise Refusal("a partnership cannot merge into itself")
    s.decision = Decision(
        kind=c.kind,
        reason=c.reason,
        decided_at=now,
        merge_into=c.merge_into,
        exit_options=c.exit_options,
    )
    s.past_cycles.append(
        CycleSummary(
            cycle=s.cycle, plan_start=s.plan_start, plan_end=s.plan_end, decision=s.decision
        )
    )
    if c.kind is DecisionKind.EXIT or c.merge_into is not None:
        s.stage = Stage.CLOSED
        where = f" into {c.merge_into}" if c.merge_into else ""
        return f"decided to {c.kind.value}{where}; partnership closed"
    _next_cycle(s, now)
    return f"decided to {c.kind.value}; cycle {s.cycle} starts at plan"


def _next_cycle(s: PartnershipState, now: datetime) -> None:
    """Start the next cycle at Plan; the review's latest actuals become the new baselines."""
    for indicator in s.indicators:
        latest = indicator.latest()
        if latest is not None:
            indicator.baseline = latest.value
        indicator.actuals = []
        indicator.counted = {}
    s.baseline = [
        BaselineItem(
            name=i.name,
            value=i.baseline,
            unit=i.unit,
            source=f"review of cycle {s.cycle}",
            as_of=now.date(),
        )
        for i in s.indicators
    ]
    s.cycle += 1
    s.stage = Stage.PLAN
    s.consultations, s.actions, s.projects, s.meetings, s.benefits = [], [], [], [], []
    s.meeting_replies = []
    s.plan_start = s.plan_end = s.review_started_at = None
    s.decision = None
    # Reminder keys of past cycles can never be due again.
    s.sent = [k for k in s.sent if not k.startswith("cycle")]


def begin_review_if_due(state: PartnershipState, now: datetime) -> PartnershipState:
    """Move to Review when the plan period has ended (a timer, not a person, does this)."""
    if state.stage is not Stage.IMPLEMENT or state.plan_end is None:
        return state
    if now.date() < state.plan_end:
        return state
    new = state.model_copy(deep=True)
    new.stage, new.review_started_at = Stage.REVIEW, now
    add_event(new, now, "review_due", f"the plan ended on {state.plan_end}; review started")
    return new
