"""Every action of the table has a generated form: it renders with an input for each field of
its command, a valid submission comes back as the very same command, and a bad value is named
beside its field and in the error summary. A new action gets all this without template work."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel, Field

from api.web import command_form as cf
from api.web.pages import _env
from api.web.partnership_actions import OFFERED, FormPage, fields_for, initial_values, page_context
from domain.partnership import (
    ACTIONS,
    ActionArising,
    AddFundedProject,
    AfterFunding,
    AfterFundingRoute,
    AnnualReviewKind,
    AnswerKeyQuestions,
    ApprovePlan,
    Command,
    CompleteAction,
    CompleteEstablishment,
    CompleteNegotiation,
    Contact,
    Decide,
    DecisionKind,
    ExitOption,
    PartnershipAction,
    PlanAfterFunding,
    ProjectSpec,
    RecordAnnualReview,
    RecordBenefit,
    RecordIndicatorActual,
    RecordMeeting,
    ReplyToMeeting,
    StartReview,
    SubmitQuarterlyReturn,
    TaperStep,
    action_for,
    new_partnership,
)
from domain.partnership.model import Stage
from tests.helpers import partnership_scenario as sc

START = date(2027, 4, 1)


def samples() -> dict[str, Command]:
    """One valid command of every action a person takes."""
    commands: list[Command] = [
        *sc.invitations(),
        sc.commitment("tendring-cab"),
        *sc.negotiation_rest(),
        sc.member_approval(),
        CompleteNegotiation(),
        *sc.establishment(),
        CompleteEstablishment(),
        *sc.planning(START),
        AddFundedProject(
            project=ProjectSpec(
                id="debt-advice",
                name="Debt advice sessions",
                agency_id="tendring-cab",
                contact=Contact(name="Advice lead", email="lead@cab.example"),
                funding_gbp=12_500.5,
                deadline=date(2030, 3, 31),
                target="200 residents advised",
                funding_by_year=[
                    TaperStep(year_starting=date(2027, 4, 1), percent=100),
                    TaperStep(year_starting=date(2028, 4, 1), percent=75),
                    TaperStep(year_starting=date(2029, 4, 1), percent=50),
                ],
                after_funding=AfterFunding(
                    route=AfterFundingRoute.MAINSTREAM, plan="The council's advice budget"
                ),
            )
        ),
        PlanAfterFunding(
            project_id="debt-advice",
            after_funding=AfterFunding(route=AfterFundingRoute.EXIT, plan="Hand on to the CAB"),
        ),
        ApprovePlan(start=START),
        RecordMeeting(
            minutes="Met at the Pier",
            progress="On track",
            attendees=["tendring-cab"],
            apologies=["essex-police"],
            decisions=["Extend the patrols", "Report to the board in June"],
            actions_arising=[
                ActionArising(
                    title="Map the fly-tipping sites",
                    owner_agency_id="tendring-cab",
                    due=date(2027, 7, 1),
                ),
                ActionArising(title="Write to the landlords", due=date(2027, 8, 2)),
            ],
        ),
        ReplyToMeeting(agency_id="tendring-cab", meeting=2, attending=False, note="On leave"),
        SubmitQuarterlyReturn(
            project_id="debt-advice", quarter=2, spend_gbp=3000, progress="50 seen", on_target=True
        ),
        CompleteAction(action_id="survey", done_on=date(2027, 6, 1)),
        RecordIndicatorActual(indicator_id="fly-tipping", value=91, source="monitoring"),
        RecordBenefit(description="ECC programme", amount_gbp=280_000),
        StartReview(),
        RecordAnnualReview(kind=AnnualReviewKind.DEPARTMENTAL, held_on=date(2027, 5, 1)),
        Decide(
            kind=DecisionKind.EXIT,
            reason="Aims met",
            exit_options=[
                ExitOption(name="Mainstream", appraisal="Kept: the council funds it", chosen=True),
                ExitOption(name="Close", appraisal="Rejected: residents lose the service"),
            ],
        ),
    ]
    found: dict[str, Command] = {}
    for command in commands:
        found.setdefault(action_for(command).update, command)
    return found


def a_state() -> Any:
    state = new_partnership(sc.new_partnership("ip-forms"), datetime(2027, 1, 4, tzinfo=UTC))
    return state


def encode(
    fields: tuple[cf.FormField, ...], body: dict[str, Any], prefix: str = ""
) -> dict[str, list[str]]:
    """What a browser posts for ``body`` (the command as JSON) in the generated form."""
    out: dict[str, list[str]] = {}
    for f in fields:
        name = f"{prefix}.{f.name}" if prefix else f.name
        if f.name not in body or body[f.name] is None:
            continue
        value = body[f.name]
        if f.kind is cf.Kind.GROUP:
            out.update(encode(f.children, value, name))
        elif f.kind is cf.Kind.REPEAT:
            item = f.children[0]
            for n, element in enumerate(value):
                out.update(
                    encode(
                        (item.__class__(**{**item.__dict__, "name": str(n)}),),
                        {str(n): element},
                        name,
                    )
                )
        elif f.kind is cf.Kind.CHOICES:
            out[name] = [str(v) for v in value]
        elif f.kind is cf.Kind.DATE:
            day = date.fromisoformat(value)
            out.update(
                {
                    f"{name}-day": [str(day.day)],
                    f"{name}-month": [str(day.month)],
                    f"{name}-year": [str(day.year)],
                }
            )
        elif f.kind is cf.Kind.YES_NO:
            out[name] = ["yes" if value else "no"]
        elif f.kind is cf.Kind.MONEY:
            out[name] = [f"£{value:,}"]
        else:
            out[name] = [str(value)]
    return out


def render(action: PartnershipAction, values: cf.Values, **kw: Any) -> str:
    page = FormPage(
        pid="ip-forms",
        action=action,
        state=a_state(),
        principal=None,
        form_action="/x",
        back="/y",
        csrf_token="tok",
    )
    return _env.get_template("partnership_action/form.html").render(
        user=None, csrf_token="", path="/x", **page_context(page, values, **kw)
    )


def leaf_names(fields: tuple[cf.FormField, ...], prefix: str = "") -> list[str]:
    """The input names a fresh form must hold for ``fields`` (a list's first row)."""
    names: list[str] = []
    for f in fields:
        name = f"{prefix}.{f.name}" if prefix else f.name
        if f.kind is cf.Kind.GROUP:
            names += leaf_names(f.children, name)
        elif f.kind is cf.Kind.REPEAT:
            item = f.children[0]
            names += (
                leaf_names(item.children, f"{name}.0")
                if item.kind is cf.Kind.GROUP
                else [f"{name}.0"]
            )
        elif f.kind is cf.Kind.DATE:
            names += [f"{name}-day", f"{name}-month", f"{name}-year"]
        else:
            names.append(name)
    return names


def model_leaves(model: type[BaseModel], prefix: str = "") -> set[str]:
    """The command's own leaf fields, read straight off the model."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        full = f"{prefix}.{name}" if prefix else name
        bare, _, _ = cf._unwrap(info.annotation)
        if get_origin(bare) is list:
            bare, _, _ = cf._unwrap(get_args(bare)[0])
        if isinstance(bare, type) and issubclass(bare, BaseModel):
            names |= model_leaves(bare, full)
        else:
            names.add(full)
    return names


def test_every_action_a_person_takes_has_a_sample() -> None:
    assert set(samples()) == {a.update for a in OFFERED}


@pytest.mark.parametrize("action", OFFERED, ids=lambda a: a.update)
def test_each_action_form_renders_an_input_for_every_field(action: PartnershipAction) -> None:
    fields = fields_for(action, a_state(), None)
    html = render(action, cf.initial(fields))
    # The fields are the model's own, however deep.
    top = {re.sub(r"\.0(?=\.|$)", "", n).split("-")[0] for n in leaf_names(fields)}
    assert top == {n for n in model_leaves(action.command)}
    for name in leaf_names(fields):
        assert f'name="{name}"' in html, name
    assert 'name="csrf_token" value="tok"' in html
    assert "<script" not in html
    # Every input has its label.
    for input_id in re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', html):
        assert f'for="{input_id}"' in html or "radio" in html or "checkbox" in html, input_id


@pytest.mark.parametrize("action", OFFERED, ids=lambda a: a.update)
def test_a_valid_submission_round_trips_to_the_same_command(action: PartnershipAction) -> None:
    command = samples()[action.update]
    fields = cf.fields_of(action.command)
    posted = encode(fields, command.model_dump(mode="json"))
    assert cf.parse(action.command, fields, posted) == command


@pytest.mark.parametrize(
    "action", [a for a in OFFERED if a.command.model_fields], ids=lambda a: a.update
)
def test_a_bad_value_is_named_beside_its_field(action: PartnershipAction) -> None:
    command = samples()[action.update]
    fields = cf.fields_of(action.command)
    posted = encode(fields, command.model_dump(mode="json"))
    first = next(n for n in leaf_names(fields) if n in posted or n.endswith("-day"))
    if first.endswith("-day"):
        posted[first] = ["31"]
        posted[first.replace("-day", "-month")] = ["2"]
        target = first.removesuffix("-day")
    else:
        posted[first] = [""]
        target = first
    refused = cf.parse(action.command, fields, posted)
    assert isinstance(refused, cf.Refused), first
    assert target in refused.errors, (target, refused.errors)
    html = render(action, cf.compact(fields, posted), errors=refused.errors)
    assert 'class="govuk-error-summary"' in html
    assert f'href="#{cf.field_id(target)}"' in html
    assert f'id="{cf.field_id(target)}"' in html
    assert f'id="{cf.field_id(target)}-error"' in html


def test_money_is_in_pounds_and_dates_are_day_month_year() -> None:
    action = action_for(SubmitQuarterlyReturn)
    fields = cf.fields_of(action.command)
    refused = cf.parse(
        action.command,
        fields,
        {
            "project_id": ["p"],
            "quarter": ["two"],
            "spend_gbp": ["lots"],
            "progress": ["x"],
            "on_target": ["yes"],
        },
    )
    assert isinstance(refused, cf.Refused)
    assert refused.errors["spend_gbp"] == "Spend must be an amount in pounds, like 1500 or 1,500.50"
    assert refused.errors["quarter"] == "Quarter must be a whole number"
    plan = cf.fields_of(ApprovePlan)
    bad = cf.parse(
        ApprovePlan, plan, {"start-day": ["30"], "start-month": ["2"], "start-year": ["2027"]}
    )
    assert isinstance(bad, cf.Refused)
    assert bad.errors == {"start": "Start must be a real date, like 27 3 2027"}


def test_blank_list_rows_are_dropped_and_the_rest_renumbered() -> None:
    fields = cf.fields_of(Decide)
    posted = {
        "kind": ["exit"],
        "reason": ["done"],
        "exit_options.0.name": [""],
        "exit_options.0.appraisal": [""],
        "exit_options.1.name": ["Close"],
        "exit_options.1.appraisal": [""],
    }
    refused = cf.parse(Decide, fields, posted)
    assert isinstance(refused, cf.Refused)
    assert refused.errors == {"exit_options.0.appraisal": "Enter appraisal"}
    kept = cf.compact(fields, posted)
    assert kept["exit_options.0.name"] == ["Close"]
    assert "exit_options.1.name" not in kept


def test_a_row_left_at_its_defaults_is_no_item() -> None:
    # A fresh decision form posts its empty exit option with "Chosen: no" ticked; continuing
    # the partnership must not ask for that option's name.
    fields = cf.fields_of(Decide)
    posted = {**cf.initial(fields), "kind": ["continue"], "reason": ["On target"]}
    assert posted["exit_options.0.chosen"] == ["no"]
    assert cf.parse(Decide, fields, posted) == Decide(
        kind=DecisionKind.CONTINUE, reason="On target"
    )
    assert "exit_options.0.chosen" not in cf.compact(fields, posted)


def test_another_row_is_added_without_javascript() -> None:
    action = action_for(Decide)
    html = render(action, {}, another="exit_options")
    assert 'name="exit_options.1.name"' in html
    assert 'name="_another" value="exit_options"' in html


class Level(Enum):
    LOW = "low"
    HIGH = "high"


class RateTheWeather(Command):
    """A command no page was written for."""

    level: Level
    noted_on: date
    cost_gbp: float = Field(ge=0, description="Pounds sterling.")
    sunny: bool
    places: list[str] = Field(min_length=1)


def test_a_new_action_gets_a_form_with_no_template_work() -> None:
    action = PartnershipAction(
        update="rate_the_weather",
        command=RateTheWeather,
        rule=lambda state, command, now: "rated",
        path="weather",
        summary="Rate the weather",
    )
    fields = cf.fields_of(RateTheWeather)
    html = render(action, cf.initial(fields))
    assert '<h1 class="govuk-heading-l">Rate the weather</h1>' in html
    for name in ("level", "noted_on-day", "cost_gbp", "sunny", "places.0"):
        assert f'name="{name}"' in html
    posted = {
        "level": ["high"],
        "noted_on-day": ["1"],
        "noted_on-month": ["6"],
        "noted_on-year": ["2027"],
        "cost_gbp": ["£1,250.50"],
        "sunny": ["no"],
        "places.0": ["Pier"],
        "places.1": [""],
    }
    assert cf.parse(RateTheWeather, fields, posted) == RateTheWeather(
        level=Level.HIGH, noted_on=date(2027, 6, 1), cost_gbp=1250.5, sunny=False, places=["Pier"]
    )


def test_every_action_in_the_table_is_a_person_s_or_the_system_s() -> None:
    assert {a.update for a in ACTIONS} - {a.update for a in OFFERED} == {
        "record_referral_outcome",
        "record_outreach_session",
    }


def test_a_link_can_name_an_answer_in_advance() -> None:
    action = action_for(SubmitQuarterlyReturn)
    page = FormPage(
        pid="ip",
        action=action,
        state=a_state(),
        principal=None,
        form_action="/x",
        back="/y",
        csrf_token="t",
    )
    assert initial_values(page, {"project_id": "debt-advice", "nonsense": "x"}) == {
        "project_id": ["debt-advice"]
    }
    assert Stage.IMPLEMENT in action.stages


def test_a_link_can_name_an_answer_inside_a_list() -> None:
    # "What is needed next" links each unanswered key question to the form, number filled in.
    page = FormPage(
        pid="ip",
        action=action_for(AnswerKeyQuestions),
        state=a_state(),
        principal=None,
        form_action="/x",
        back="/y",
        csrf_token="t",
    )
    assert initial_values(page, {"answers.0.number": "2", "answers.9.number": "3"}) == {
        "answers.0.number": ["2"]
    }


def test_a_list_s_rows_are_named_in_the_singular() -> None:
    from api.web.command_form import _singular

    assert _singular("Support elements") == "Support element"
    assert _singular("Actions arising") == "Action arising"
    assert _singular("Key questions") == "Key question"
    assert _singular("Funding by year") == "Funding by year"
    assert _singular("Activities") == "Activity"
