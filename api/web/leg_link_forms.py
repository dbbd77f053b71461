"""What the form behind each link of an agency's notice holds, read off the models that
already drive the API: a leg action's body (decline, outcome), or the capacity report; the
reasons, services and capacity in words an agency reads."""

from __future__ import annotations

from dataclasses import replace

from pydantic import BaseModel

from api.referrals.legs import LEG_ACTIONS, LegAction
from api.web import command_form as cf
from domain.capacity import CapacityReport
from domain.declines import DECLINE_WORDS
from domain.leg_link import LinkAction

LEG_ACTION_OF = {
    LinkAction.ACCEPT: LegAction.ACCEPT,
    LinkAction.DECLINE: LegAction.DECLINE,
    LinkAction.START: LegAction.START,
    LinkAction.OUTCOME: LegAction.RECORD_OUTCOME,
}
LEG_ACTION_SPECS = {spec.action: spec for spec in LEG_ACTIONS}


def form_model(action: LinkAction) -> type[BaseModel] | None:
    """What the action's form holds: the leg action's body, or the capacity report."""
    if action is LinkAction.CAPACITY:
        return CapacityReport
    return LEG_ACTION_SPECS[LEG_ACTION_OF[action]].body if action in LEG_ACTION_OF else None


def form_fields(action: LinkAction, services: list[tuple[str, str]]) -> tuple[cf.FormField, ...]:
    """The action's form, read off its model, with the reasons and services in words."""
    model = form_model(action)
    if model is None:
        return ()
    fields = []
    for f in cf.fields_of(model):
        if f.name == "why":
            f = replace(
                f,
                label="Why are you declining?",
                hint="What happens next depends on the reason.",
                required=True,
                choices=tuple((r.value, w.capitalize()) for r, w in DECLINE_WORDS.items()),
            )
        elif f.name == "reason":
            f = replace(
                f,
                label="In your words",
                hint="Needed when the resident is not eligible (say which rule), when you could "
                "not contact them (say what you tried) and for any other reason.",
            )
        elif f.name == "places_available":
            f = replace(
                f,
                label="How many new referrals can the service take now?",
                hint="0 if it is full. Leave both empty to go back to the directory's listing.",
            )
        elif f.name == "full_for_working_days":
            f = replace(
                f,
                label="Full for how many working days?",
                hint="Routing passes the service over until then, whatever the places say.",
            )
        elif f.name == "service_id":
            f = replace(
                f,
                label="Which service would serve the resident better?",
                hint="Only when the resident would be better served elsewhere.",
            )
        fields.append(f)
    return cf.with_choices(fields, {"service_id": services})
