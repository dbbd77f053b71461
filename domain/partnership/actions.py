"""Every action on a partnership, declared once: its command, Update, path, callers and rule.

The workflow registers one Update (with a validator) per entry, and the API one endpoint, so
adding an action is one entry here and one rule in :mod:`domain.partnership.rules`.

Longer than 400 lines on purpose: it is the one table that drives the Updates, the routes, the
OpenAPI document and the generated forms; apart, the declarations would drift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

from domain.access import Action
from domain.partnership import cycle, rules, taper
from domain.partnership.commands import (
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
    PlanAfterFunding,
    RecordAnnualReview,
    RecordBaseline,
    RecordBenefit,
    RecordConsultation,
    RecordIndicatorActual,
    RecordMeeting,
    RecordOutreachSession,
    RecordReferralOutcome,
    ReplyToMeeting,
    StartReview,
    SubmitQuarterlyReturn,
)
from domain.partnership.model import PartnershipState, Refusal, Stage

Rule = Callable[[PartnershipState, Any, datetime], str]
AgencyOf = Callable[[PartnershipState, Any], str | None]


def _committing_agency(state: PartnershipState, command: CommitPartner) -> str | None:
    return command.agency_id


def _project_agency(
    state: PartnershipState, command: SubmitQuarterlyReturn | PlanAfterFunding
) -> str | None:
    project = next((p for p in state.projects if p.id == command.project_id), None)
    return project.agency_id if project else None


def _replying_agency(state: PartnershipState, command: ReplyToMeeting) -> str | None:
    return command.agency_id


def _action_owner(state: PartnershipState, command: CompleteAction) -> str | None:
    action = next((a for a in state.actions if a.id == command.action_id), None)
    return action.owner_agency_id if action else None


@dataclass(frozen=True, kw_only=True)
class PartnershipAction:
    """One action: ``POST /api/partnerships/{id}/{path}`` runs Update ``update`` with
    ``command``; ``rule`` decides it. ``agency_of`` names the agency acting, for actions a
    partner agency may take for itself (none: staff only)."""

    update: str
    command: type[Command]
    rule: Rule
    path: str
    summary: str
    agency_of: AgencyOf | None = None
    by_system: bool = False
    """Sent by partnerflow itself (an activity), never by a person: no HTTP endpoint."""
    stages: frozenset[Stage] = frozenset(Stage) - {Stage.CLOSED}
    """The stages in which the rule may take it; pages offer it only then. The rule decides
    (a test holds the two together)."""

    def offered_in(self, state: PartnershipState) -> bool:
        """Whether the partnership's stage lets a person take this action now."""
        return state.stage in self.stages

    @property
    def access(self) -> Action:
        """What the access policy is asked about a caller of this action."""
        if self.agency_of is not None:
            return Action.SUBMIT_PARTNER_RETURN
        return Action.MANAGE_PARTNERSHIPS


def _a(
    update: str,
    command: type[Command],
    rule: Rule,
    path: str,
    summary: str,
    agency_of: AgencyOf | None = None,
    *,
    by_system: bool = False,
    stages: tuple[Stage, ...] = (),
) -> PartnershipAction:
    return PartnershipAction(
        update=update,
        command=command,
        rule=rule,
        path=path,
        summary=summary,
        agency_of=agency_of,
        by_system=by_system,
        **({"stages": frozenset(stages)} if stages else {}),
    )


# The Update names are part of every recorded history: never rename one.
ACTIONS: Final[tuple[PartnershipAction, ...]] = (
    _a(
        "invite_partner",
        InvitePartner,
        rules.invite_partner,
        "partners",
        "Invite a partner",
        stages=(Stage.NEGOTIATE,),
    ),
    _a(
        "commit_partner",
        CommitPartner,
        rules.commit_partner,
        "commitments",
        "A partner commits to the agreement",
        _committing_agency,
        stages=(Stage.NEGOTIATE,),
    ),
    _a(
        "assess_resources",
        AssessResources,
        rules.assess_resources,
        "resource-assessment",
        "Record direct, indirect and opportunity costs",
        stages=(Stage.NEGOTIATE,),
    ),
    _a(
        "answer_key_questions",
        AnswerKeyQuestions,
        rules.answer_key_questions,
        "key-questions",
        "Answer key questions",
    ),
    _a(
        "approve_by_members",
        ApproveByMembers,
        rules.approve_by_members,
        "member-approval",
        "Record member approval",
        stages=(Stage.NEGOTIATE,),
    ),
    _a(
        "complete_negotiation",
        CompleteNegotiation,
        rules.complete_negotiation,
        "negotiation/complete",
        "Leave Negotiate for Establish",
        stages=(Stage.NEGOTIATE,),
    ),
    _a(
        "agree_element",
        AgreeElement,
        rules.agree_element,
        "support-elements",
        "Agree a support element",
        stages=(Stage.ESTABLISH,),
    ),
    _a(
        "appoint_coordinator",
        AppointCoordinator,
        rules.appoint_coordinator,
        "coordinator",
        "Appoint the co-ordinator",
        stages=(
            Stage.ESTABLISH,
            Stage.PLAN,
            Stage.IMPLEMENT,
            Stage.REVIEW,
        ),
    ),
    _a(
        "complete_establishment",
        CompleteEstablishment,
        rules.complete_establishment,
        "establishment/complete",
        "Leave Establish for Plan",
        stages=(Stage.ESTABLISH,),
    ),
    _a(
        "record_baseline",
        RecordBaseline,
        rules.record_baseline,
        "baseline",
        "Add baseline data",
        stages=(Stage.PLAN,),
    ),
    _a(
        "record_consultation",
        RecordConsultation,
        rules.record_consultation,
        "consultations",
        "Record a consultation event",
        stages=(Stage.PLAN,),
    ),
    _a(
        "add_action_group",
        AddActionGroup,
        rules.add_action_group,
        "action-groups",
        "Add an action group",
        stages=(Stage.PLAN,),
    ),
    _a(
        "add_action",
        AddAction,
        rules.add_action,
        "actions",
        "Add an action to the plan",
        stages=(
            Stage.PLAN,
            Stage.IMPLEMENT,
        ),
    ),
    _a(
        "add_outcome",
        AddOutcome,
        rules.add_outcome,
        "outcomes",
        "Add a SMART outcome",
        stages=(Stage.PLAN,),
    ),
    _a(
        "add_funded_project",
        AddFundedProject,
        rules.add_funded_project,
        "projects",
        "Fund a project",
        stages=(
            Stage.PLAN,
            Stage.IMPLEMENT,
        ),
    ),
    _a(
        "approve_plan",
        ApprovePlan,
        rules.approve_plan,
        "plan/approve",
        "Approve the plan",
        stages=(Stage.PLAN,),
    ),
    _a(
        "record_meeting",
        RecordMeeting,
        cycle.record_meeting,
        "meetings",
        "Record a meeting",
        stages=(Stage.IMPLEMENT,),
    ),
    _a(
        "reply_to_meeting",
        ReplyToMeeting,
        cycle.reply_to_meeting,
        "meeting-replies",
        "Answer a meeting invitation",
        _replying_agency,
        stages=(
            Stage.IMPLEMENT,
            Stage.REVIEW,
        ),
    ),
    _a(
        "submit_quarterly_return",
        SubmitQuarterlyReturn,
        cycle.submit_quarterly_return,
        "quarterly-returns",
        "Submit a quarterly return",
        _project_agency,
        stages=(
            Stage.IMPLEMENT,
            Stage.REVIEW,
        ),
    ),
    _a(
        "complete_action",
        CompleteAction,
        cycle.complete_action,
        "action-completions",
        "Mark an action done",
        _action_owner,
        stages=(
            Stage.IMPLEMENT,
            Stage.REVIEW,
        ),
    ),
    _a(
        "record_indicator_actual",
        RecordIndicatorActual,
        cycle.record_indicator_actual,
        "indicator-actuals",
        "Record an indicator's actual",
        stages=(
            Stage.IMPLEMENT,
            Stage.REVIEW,
        ),
    ),
    _a(
        "record_referral_outcome",
        RecordReferralOutcome,
        cycle.record_referral_outcome,
        "referral-outcomes",
        "Count a referral outcome in the indicators bound to it",
        by_system=True,
        stages=(
            Stage.IMPLEMENT,
            Stage.REVIEW,
        ),
    ),
    _a(
        "record_outreach_session",
        RecordOutreachSession,
        cycle.record_outreach_session,
        "outreach-sessions",
        "Count a Reach Out session in the indicators bound to its figures",
        by_system=True,
        stages=(
            Stage.IMPLEMENT,
            Stage.REVIEW,
        ),
    ),
    _a(
        "record_benefit",
        RecordBenefit,
        cycle.record_benefit,
        "benefits",
        "Record a benefit",
        stages=(
            Stage.IMPLEMENT,
            Stage.REVIEW,
        ),
    ),
    _a(
        "start_review",
        StartReview,
        cycle.start_review,
        "review/start",
        "Start the review now",
        stages=(Stage.IMPLEMENT,),
    ),
    _a(
        "record_annual_review",
        RecordAnnualReview,
        cycle.record_annual_review,
        "annual-reviews",
        "Record an annual review",
    ),
    _a(
        "decide",
        Decide,
        cycle.decide,
        "decision",
        "Continue, rationalise or exit",
        stages=(Stage.REVIEW,),
    ),
    _a(
        "plan_after_funding",
        PlanAfterFunding,
        taper.plan_after_funding,
        "after-funding-plans",
        "Plan for when a project's funding ends",
        _project_agency,
        stages=(
            Stage.PLAN,
            Stage.IMPLEMENT,
            Stage.REVIEW,
        ),
    ),
)
BY_COMMAND: Final = MappingProxyType({action.command: action for action in ACTIONS})
BY_UPDATE: Final = MappingProxyType({action.update: action for action in ACTIONS})


def action_for(command: Command | type[Command]) -> PartnershipAction:
    """The declared action whose command ``command`` is."""
    kind = command if isinstance(command, type) else type(command)
    found = BY_COMMAND.get(kind)
    if found is None:
        raise Refusal(f"unknown action {kind.__name__}")
    return found


def apply(state: PartnershipState, command: Command, now: datetime) -> PartnershipState:
    """The state after ``command``; raises :class:`Refusal` (state untouched) if refused."""
    action = action_for(command)
    new = state.model_copy(deep=True)
    detail = action.rule(new, command, now)
    rules.add_event(new, now, action.update, detail)
    return new
