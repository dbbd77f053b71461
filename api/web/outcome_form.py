"""The partnership page's "add an outcome and its indicator" form: what the browser posts,
turned into the very :class:`~domain.partnership.commands.AddOutcome` the JSON API takes, and
pydantic's complaints turned back into messages beside the fields they are about."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from domain.partnership.commands import AddOutcome

# The form's single-valued fields and the lists (checkbox groups) it may send.
FIELDS = (
    "outcome_id",
    "statement",
    "indicator_id",
    "indicator_name",
    "unit",
    "baseline",
    "target",
    "direction",
    "benefit",
    "measure",
    "binding_unit",
)
LISTS = ("outcome_codes", "wards", "categories")

# Where in AddOutcome each form field lands (after "indicators", 0 for the indicator's).
_LOCATIONS: Mapping[tuple[str | int, ...], str] = {
    ("id",): "outcome_id",
    ("statement",): "statement",
    ("indicators", 0, "id"): "indicator_id",
    ("indicators", 0, "name"): "indicator_name",
    ("indicators", 0, "unit"): "unit",
    ("indicators", 0, "baseline"): "baseline",
    ("indicators", 0, "target"): "target",
    ("indicators", 0, "direction"): "direction",
    ("indicators", 0, "benefit"): "benefit",
    ("indicators", 0, "binding"): "measure",
    ("indicators", 0, "binding", "measure"): "measure",
    ("indicators", 0, "binding", "unit"): "binding_unit",
    ("indicators", 0, "binding", "outcome_codes"): "outcome_codes",
    ("indicators", 0, "binding", "wards"): "wards",
    ("indicators", 0, "binding", "categories"): "categories",
}


def _number(text: str) -> float | str:
    # Left as typed when it is not a number, so the command's own validation names it.
    try:
        return float(text)
    except ValueError:
        return text


def entered(form: Mapping[str, str], lists: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """What the user entered, kept to fill the form again when it is refused."""
    values: dict[str, Any] = {name: form.get(name, "").strip() for name in FIELDS}
    values.update({name: list(lists.get(name, ())) for name in LISTS})
    return values


def blank() -> dict[str, Any]:
    """The empty form: a hand-fed indicator, higher is better, outcomes of got_help."""
    return entered({"direction": "higher_is_better"}, {"outcome_codes": ["got_help"]})


def command_from(values: Mapping[str, Any]) -> AddOutcome:
    """The AddOutcome the form stands for; :class:`ValidationError` when the command's rules
    refuse it. Built from JSON, as the API's body is, so validation is the API's own."""
    indicator: dict[str, Any] = {
        "id": values["indicator_id"],
        "name": values["indicator_name"],
        "unit": values["unit"],
        "baseline": _number(values["baseline"]),
        "target": _number(values["target"]),
        "direction": values["direction"],
        "benefit": values["benefit"] == "on",
    }
    if values["measure"]:
        indicator["binding"] = {
            "measure": values["measure"],
            "outcome_codes": values["outcome_codes"],
            "unit": values["binding_unit"] or None,
            "wards": values["wards"],
            "categories": values["categories"],
        }
    body = {"id": values["outcome_id"], "statement": values["statement"], "indicators": [indicator]}
    return AddOutcome.model_validate_json(json.dumps(body))


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Each refused field's message, keyed by the form field it belongs beside."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        # Longest known prefix: a list item's error ("wards", 3) belongs to the list.
        field = next(
            (_LOCATIONS[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in _LOCATIONS),
            "form",
        )
        message = str(error["msg"]).removeprefix("Value error, ")
        errors[field] = f"{errors[field]}; {message}" if field in errors else message
    return errors
