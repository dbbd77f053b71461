"""The Interaction Partnership (seed 000, Tendring) as commands, stage by stage.

Figures from the seed: benefit awards target £100,000, actual £285,360; fly-tipping 121 → 91;
satisfaction with quality of life 61 % → 73 %, with the neighbourhood 58 % → 71 %; exercise
referrals 108 against 58; positive activities 371 against 100; adult learning 180 against 60;
£280,000 levered in from Essex County Council's Economic Development Programme. The targets
the seed does not state (fly-tipping 100, quality of life 75 %, neighbourhood 80 %) and the
costs are ours.
"""

from __future__ import annotations

from datetime import date, timedelta

from domain.indicators import Direction
from domain.partnership import (
    KEY_QUESTIONS,
    ActionGroup,
    ActionSpec,
    AddAction,
    AddActionGroup,
    AddFundedProject,
    AddOutcome,
    AgreeElement,
    AnswerKeyQuestions,
    AppointCoordinator,
    ApproveByMembers,
    AssessResources,
    BaselineItem,
    Command,
    CommitPartner,
    CompleteEstablishment,
    ConsultationEvent,
    Contact,
    Contribution,
    ContributionKind,
    IndicatorDefinition,
    InvitePartner,
    KeyAnswer,
    NewPartnership,
    Policy,
    ProjectSpec,
    RecordBaseline,
    RecordConsultation,
    ResourceAssessment,
    SupportElement,
)

COORDINATOR = Contact(name="Neighbourhood manager", email="nm@tendring.example")
PARTNERS = {
    "tdc-housing": ("Tendring District Council housing", "housing@tdc.example"),
    "tendring-cab": ("Tendring Citizens Advice", "advice@cab.example"),
    "essex-police": ("Essex Police", "tendring@police.example"),
    "ne-essex-pct": ("NE Essex PCT", "partnerships@pct.example"),
}

# Latest actuals at the review, with one earlier measurement where the seed gives the start.
ACTUALS: dict[str, list[float]] = {
    "benefit-awards": [120_000, 285_360],
    "fly-tipping": [105, 91],
    "quality-of-life": [66, 73],
    "neighbourhood": [64, 71],
    "exercise-referrals": [108],
    "positive-activities": [371],
    "adult-learning": [180],
}
LEVERED_IN = 280_000.0


def new_partnership(
    pid: str, *, strategic: bool = True, policy: Policy | None = None
) -> NewPartnership:
    return NewPartnership(
        id=pid,
        name="Interaction Partnership",
        aims=[
            "Improve quality of life in Pier and Golf Green wards",
            "Increase take-up of services by the most disadvantaged residents",
        ],
        strategic=strategic,
        coordinator=COORDINATOR,
        policy=policy or Policy(),
    )


def invitations() -> list[Command]:
    return [
        InvitePartner(agency_id=aid, name=name, contact=Contact(name=name, email=email))
        for aid, (name, email) in PARTNERS.items()
    ]


def commitment(agency_id: str) -> CommitPartner:
    return CommitPartner(
        agency_id=agency_id,
        contributions=[
            Contribution(
                kind=ContributionKind.STAFF_TIME,
                description="Officer at bi-monthly stakeholder meetings",
                hours_per_month=4,
            ),
            Contribution(kind=ContributionKind.MONEY, description="Pooled budget", value_gbp=5000),
        ],
        agrees_aims=True,
        agrees_targets=True,
        agrees_evaluation=True,
        signed_by=f"Director, {agency_id}",
    )


def negotiation_rest() -> list[Command]:
    """Everything of Negotiate but the commitments and the member approval."""
    return [
        AssessResources(
            assessment=ResourceAssessment(
                direct_costs_gbp=120_000,
                indirect_costs_gbp=8_000,
                opportunity_costs_gbp=12_000,
                officer_hours=1_500,
                officer_hourly_rate_gbp=30,
            )
        ),
        AnswerKeyQuestions(
            answers=[
                KeyAnswer(
                    number=1,
                    answer="Deprivation in the two wards needs every agency; none can do it alone.",
                ),
                KeyAnswer(
                    number=2, answer="Agencies agree to plan services for the wards together."
                ),
                KeyAnswer(
                    number=len(KEY_QUESTIONS),
                    answer="Costs are monitored quarterly against the indicators.",
                ),
            ]
        ),
    ]


def member_approval() -> ApproveByMembers:
    return ApproveByMembers(approved_by="Cabinet", minute_ref="CAB-2026-114")


def establishment() -> list[Command]:
    return [
        AgreeElement(element=e, document_ref=f"IP/{i + 1:02d}")
        for i, e in enumerate(SupportElement)
    ] + [AppointCoordinator(coordinator=COORDINATOR), CompleteEstablishment()]


def planning(start: date) -> list[Command]:
    indicators = [
        IndicatorDefinition(
            id="benefit-awards",
            name="New and backdated benefit claim awards",
            unit="GBP",
            baseline=0,
            target=100_000,
            benefit=True,
        ),
        IndicatorDefinition(
            id="fly-tipping",
            name="Incidences of fly-tipping",
            unit="incidents",
            baseline=121,
            target=100,
            direction=Direction.LOWER_IS_BETTER,
        ),
        IndicatorDefinition(
            id="quality-of-life",
            name="Satisfied with quality of life",
            unit="%",
            baseline=61,
            target=75,
        ),
        IndicatorDefinition(
            id="neighbourhood",
            name="Satisfied with the neighbourhood",
            unit="%",
            baseline=58,
            target=80,
        ),
        IndicatorDefinition(
            id="exercise-referrals",
            name="Residents in exercise referral programmes",
            unit="residents",
            baseline=0,
            target=58,
        ),
        IndicatorDefinition(
            id="positive-activities",
            name="Young people in positive activities",
            unit="young people",
            baseline=0,
            target=100,
        ),
        IndicatorDefinition(
            id="adult-learning",
            name="Adults in adult learning",
            unit="adults",
            baseline=0,
            target=60,
        ),
    ]
    return [
        RecordBaseline(
            items=[
                BaselineItem(
                    name="Fly-tipping incidents",
                    value=121,
                    unit="incidents",
                    source="Environmental services",
                    as_of=date(2007, 12, 31),
                ),
                BaselineItem(
                    name="Satisfied with quality of life",
                    value=61,
                    unit="%",
                    source="Resident satisfaction survey",
                    as_of=date(2007, 12, 31),
                ),
            ]
        ),
        RecordConsultation(
            event=ConsultationEvent(
                kind="action planning event",
                held_on=start - timedelta(days=30),
                participants=64,
                summary="Residents and providers on services in the two wards",
            )
        ),
        AddActionGroup(group=ActionGroup(id="safety", theme="Community safety", lead="Police")),
        AddActionGroup(group=ActionGroup(id="work", theme="Employment & training", lead="CAB")),
        AddAction(
            action=ActionSpec(
                id="reach-out",
                title="Run the Reach Out door-to-door advice pilot",
                owner=Contact(name="CAB manager", email="advice@cab.example"),
                owner_agency_id="tendring-cab",
                group_id="work",
                due=start + timedelta(days=90),
                resources="2 advisers for 6 weeks",
                monitoring="Residents helped, benefit awards",
            )
        ),
        AddAction(
            action=ActionSpec(
                id="fly-tipping-patrols",
                title="Joint fly-tipping patrols",
                owner=Contact(name="Sergeant", email="tendring@police.example"),
                owner_agency_id="essex-police",
                group_id="safety",
                due=start + timedelta(days=120),
                resources="Police and environmental services officers",
                monitoring="Monthly incident counts",
            )
        ),
        AddOutcome(
            id="wellbeing",
            statement="By the end of the plan residents are better off, safer and more satisfied",
            indicators=indicators,
        ),
        AddFundedProject(
            project=ProjectSpec(
                id="vsdp",
                name="Voluntary Sector Development Project",
                agency_id="tendring-cab",
                contact=Contact(name="Project lead", email="advice@cab.example"),
                funding_gbp=40_000,
                deadline=start + timedelta(days=365),
                target="Raise the standards of 6 voluntary organisations",
            )
        ),
    ]
