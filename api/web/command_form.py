"""A form for any command, read off its pydantic model: the right input for each field, what
the browser posts turned back into the very JSON body the API takes, and pydantic's complaints
turned into messages beside the fields they are about.

Field names are the command's own, dotted for nested models and numbered for list rows
(``contributions.0.kind``), so a validation error's location names its field directly.
Dates are posted as ``name-day``, ``name-month`` and ``name-year``. A blank answer is left out
of the body, so the model's default (or its "field required") applies, as in the API.

Longer than 400 lines on purpose: reading a field's type into an input, the posted form back
into the body and the errors back onto the fields are three views of one field walk; apart,
they would drift.
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from annotated_types import MaxLen
from pydantic import BaseModel, HttpUrl, ValidationError
from pydantic.fields import FieldInfo

from domain.text import EDGE_CONTEXT

M = TypeVar("M", bound=BaseModel)
Values = Mapping[str, Sequence[str]]
"""What the browser posted: every value of each name, as a multidict gives them."""

MONEY_HINT = "Pounds sterling."
LONG_TEXT = 300
"""Text fields allowing more than this many characters get a text area."""
RADIO_LIMIT = 6
"""Choices up to this many are radios; more are a select."""

# Words for the field names the commands share, where the name alone reads badly.
LABELS: Mapping[str, str] = {
    "agency_id": "Partner agency",
    "project_id": "Project",
    "indicator_id": "Indicator",
    "action_id": "Action",
    "group_id": "Action group",
    "owner_agency_id": "Owner's agency",
    "parent_id": "Parent partnership",
    "merge_into": "Merge into partnership",
    "webhook_url": "Web address for notifications",
    "id": "Short name (used in links)",
    "coordinator": "Co-ordinator",
    "policy": "Meetings, reminders and approval",
    "funding_by_year": "Funding years",
    "after_funding": "After the funding",
    "route": "Mainstream or exit",
    "percent": "Share of full funding (%)",
}
ID_HINT = "Lower-case letters, digits, dots, dashes or underscores, e.g. pier-ward."


class Kind(StrEnum):
    """The input a field gets."""

    TEXT = "text"
    TEXTAREA = "textarea"
    NUMBER = "number"
    WHOLE = "whole"
    MONEY = "money"
    DATE = "date"
    YES_NO = "yes_no"
    CHOICE = "choice"
    CHOICES = "choices"
    """Several of a fixed set: checkboxes."""
    GROUP = "group"
    REPEAT = "repeat"
    """A list: one row per item (a group, or a single input), and "add another"."""


@dataclass(frozen=True, kw_only=True)
class FormField:
    """One field of a command as a form shows it; ``name`` relative to its parent."""

    name: str
    kind: Kind
    label: str
    hint: str = ""
    required: bool = True
    choices: tuple[tuple[str, str], ...] = ()
    children: tuple[FormField, ...] = ()
    """A group's fields; a list's single item (itself a group or an input)."""
    input_type: str = "text"
    default: str = ""
    """The model's default, as the form would post it."""


class UnsupportedField(TypeError):
    """A command field no generated input can stand for; the action needs a bespoke form."""


def words(name: str) -> str:
    """A field name as a label: ``agrees_aims`` → "Agrees aims"."""
    if name in LABELS:
        return LABELS[name]
    text = re.sub(r"_(gbp|id)$", "", name).replace("_", " ")
    return text[:1].upper() + text[1:]


def choice_words(value: str) -> str:
    """An enum value in words: ``staff_time`` → "Staff time"."""
    text = value.replace("_", " ")
    return text[:1].upper() + text[1:]


def _unwrap(annotation: Any) -> tuple[Any, list[Any], bool]:
    """The bare type, the metadata of any Annotated layers, and whether None is allowed."""
    metadata: list[Any] = []
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            metadata.extend(extra)
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(get_args(annotation))
            if len(args) != 1:
                raise UnsupportedField(f"a union of {args}")
            annotation = args[0]
        else:
            return annotation, metadata, optional


def _max_length(metadata: Sequence[Any]) -> int | None:
    found = [m.max_length for m in metadata if isinstance(m, MaxLen)]
    for m in metadata:
        if isinstance(m, FieldInfo):
            found.extend(x.max_length for x in m.metadata if isinstance(x, MaxLen))
    return min(found) if found else None


def _description(metadata: Sequence[Any]) -> str:
    return next((m.description for m in metadata if isinstance(m, FieldInfo) and m.description), "")


def build(
    name: str,
    annotation: Any,
    *,
    required: bool,
    description: str = "",
    metadata: Sequence[Any] = (),
    default: str = "",
) -> FormField:
    """The form field for a value of type ``annotation`` called ``name``."""
    bare, inner, optional = _unwrap(annotation)
    meta = [*metadata, *inner]
    hint = description or _description(meta)
    label = words(name)
    base = {
        "name": name,
        "label": label,
        "hint": hint,
        "required": required and not optional,
        "default": default,
    }
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return FormField(kind=Kind.GROUP, children=fields_of(bare), **base)  # type: ignore[arg-type]
    if get_origin(bare) is list:
        (item,) = get_args(bare)
        item_field = build(name, item, required=True)
        if item_field.kind is Kind.CHOICE:
            return FormField(kind=Kind.CHOICES, choices=item_field.choices, **base)  # type: ignore[arg-type]
        if item_field.kind in (Kind.REPEAT, Kind.CHOICES):
            raise UnsupportedField(f"{name}: a list of lists")
        return FormField(kind=Kind.REPEAT, children=(item_field,), **base)  # type: ignore[arg-type]
    if isinstance(bare, type) and issubclass(bare, Enum):
        choices = tuple((str(m.value), choice_words(str(m.value))) for m in bare)
        return FormField(kind=Kind.CHOICE, choices=choices, **base)  # type: ignore[arg-type]
    if get_origin(bare) is Literal:
        choices = tuple((str(v), choice_words(str(v))) for v in get_args(bare))
        return FormField(kind=Kind.CHOICE, choices=choices, **base)  # type: ignore[arg-type]
    if bare is bool:
        return FormField(kind=Kind.YES_NO, **base)  # type: ignore[arg-type]
    if bare is date:
        base["hint"] = hint or "For example, 27 3 2027"
        return FormField(kind=Kind.DATE, **base)  # type: ignore[arg-type]
    if bare is int:
        return FormField(kind=Kind.WHOLE, **base)  # type: ignore[arg-type]
    if bare is float:
        money = hint == MONEY_HINT or name.endswith("_gbp")
        if money and hint == MONEY_HINT:
            base["hint"] = ""
        return FormField(kind=Kind.MONEY if money else Kind.NUMBER, **base)  # type: ignore[arg-type]
    if bare is HttpUrl:
        return FormField(kind=Kind.TEXT, input_type="url", **base)  # type: ignore[arg-type]
    if bare is str:
        longest = _max_length(meta)
        if name == "id" or name.endswith("_id"):
            base["hint"] = hint or ID_HINT
        kind = Kind.TEXTAREA if longest is None or longest > LONG_TEXT else Kind.TEXT
        return FormField(
            kind=kind,
            input_type="email" if name == "email" else "text",
            **base,  # type: ignore[arg-type]
        )
    raise UnsupportedField(f"{name}: {bare!r}")


def fields_of(model: type[BaseModel]) -> tuple[FormField, ...]:
    """The form fields of ``model``, in its order."""
    return tuple(
        build(
            name,
            info.annotation,
            required=info.is_required(),
            description=info.description or "",
            metadata=info.metadata,
            default="" if info.is_required() else _as_posted(info),
        )
        for name, info in model.model_fields.items()
    )


def without(
    fields: Sequence[FormField], names: set[str], prefix: str = ""
) -> tuple[FormField, ...]:
    """``fields`` less those named (dotted, at any depth): left to the model's default."""
    out: list[FormField] = []
    for f in fields:
        name = f"{prefix}.{f.name}" if prefix else f.name
        if name in names:
            continue
        if f.kind is Kind.GROUP:
            f = replace(f, children=without(f.children, names, name))
        out.append(f)
    return tuple(out)


def with_choices(
    fields: Sequence[FormField], choices: Mapping[str, Sequence[tuple[str, str]]]
) -> tuple[FormField, ...]:
    """``fields`` with the choices known elsewhere (a partnership's projects, say) given to
    the text fields of those names, at any depth; a list of them becomes checkboxes."""
    out: list[FormField] = []
    for f in fields:
        if f.name in choices and f.kind in (Kind.TEXT, Kind.TEXTAREA):
            f = replace(f, kind=Kind.CHOICE, choices=tuple(choices[f.name]))
        elif f.name in choices and f.kind is Kind.REPEAT and f.children[0].kind is Kind.TEXT:
            f = replace(f, kind=Kind.CHOICES, choices=tuple(choices[f.name]), children=())
        elif f.children:
            f = replace(f, children=with_choices(f.children, choices))
        out.append(f)
    return tuple(out)


# --- From what was posted to the command's body -----------------------------------------------


def _one(values: Values, name: str) -> str:
    got = values.get(name, ())
    return got[0].strip() if got else ""


def _number(text: str) -> float | str:
    # Left as typed when it is not a number, so the command's own validation names it.
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return text


def _whole(text: str) -> int | str:
    return int(text) if re.fullmatch(r"-?\d{1,12}", text) else text


def _day(values: Values, name: str) -> str | None:
    parts = [_one(values, f"{name}-{p}") for p in ("day", "month", "year")]
    if not any(parts):
        return None
    try:
        d, m, y = (int(p) for p in parts)
        return date(y, m, d).isoformat()
    except ValueError:
        return "not a date"


def rows(values: Values, name: str) -> list[int]:
    """The row numbers posted for the list ``name`` (``name.3.kind`` or ``name.3``), sorted."""
    pattern = re.compile(rf"^{re.escape(name)}\.(\d+)(?:[.-]|$)")
    found = {int(m.group(1)) for key in values if (m := pattern.match(key))}
    return sorted(found)


def _value(f: FormField, values: Values, name: str) -> Any:
    """The JSON value of field ``f`` posted as ``name``; None when left blank."""
    if f.kind is Kind.GROUP:
        body = _group(f.children, values, name)
        return body or None
    if f.kind is Kind.REPEAT:
        item = f.children[0]
        kept = [
            _value(item, values, f"{name}.{n}")
            for n in rows(values, name)
            if not untouched(item, values, f"{name}.{n}")
        ]
        return kept or None
    if f.kind is Kind.CHOICES:
        picked = [v.strip() for v in values.get(name, ()) if v.strip()]
        return picked or None
    if f.kind is Kind.DATE:
        return _day(values, name)
    text = _one(values, name)
    if not text:
        return None
    if f.kind is Kind.YES_NO:
        return {"yes": True, "no": False}.get(text, text)
    if f.kind is Kind.MONEY:
        return _number(text.removeprefix("£"))
    if f.kind is Kind.NUMBER:
        return _number(text)
    if f.kind is Kind.WHOLE:
        return _whole(text)
    return text


def untouched(f: FormField, values: Values, name: str) -> bool:
    """Whether field ``f`` posted as ``name`` holds nothing but blanks and the defaults the
    form started with: a list's row left like that is no item (an exit option with only its
    "Chosen: no" is not an option)."""
    if f.kind is Kind.GROUP:
        return all(untouched(c, values, f"{name}.{c.name}") for c in f.children)
    if f.kind is Kind.REPEAT:
        return all(untouched(f.children[0], values, f"{name}.{n}") for n in rows(values, name))
    if f.kind is Kind.DATE:
        return not any(_one(values, f"{name}-{p}") for p in ("day", "month", "year"))
    if f.kind is Kind.CHOICES:
        return not any(v.strip() for v in values.get(name, ()))
    return _one(values, name) in ("", f.default)


def _group(fields: Sequence[FormField], values: Values, prefix: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for f in fields:
        value = _value(f, values, f"{prefix}.{f.name}" if prefix else f.name)
        if value is not None:
            body[f.name] = value
    return body


def body_of(fields: Sequence[FormField], values: Values) -> dict[str, Any]:
    """The JSON body the posted ``values`` stand for (blank answers left out)."""
    return _group(fields, values, "")


def compact(fields: Sequence[FormField], values: Values) -> dict[str, list[str]]:
    """``values`` with each list's blank rows dropped and the rest renumbered from 0, so the
    form shown again lines up with the body (and its errors' row numbers)."""
    out: dict[str, list[str]] = {}

    def copy(f: FormField, src: str, dst: str) -> None:
        if f.kind is Kind.GROUP:
            for child in f.children:
                copy(child, f"{src}.{child.name}", f"{dst}.{child.name}")
        elif f.kind is Kind.REPEAT:
            item, kept = f.children[0], 0
            for n in rows(values, src):
                if not untouched(item, values, f"{src}.{n}"):
                    copy(item, f"{src}.{n}", f"{dst}.{kept}")
                    kept += 1
        elif f.kind is Kind.DATE:
            for part in ("day", "month", "year"):
                out[f"{dst}-{part}"] = [_one(values, f"{src}-{part}")]
        else:
            out[dst] = [v.strip() for v in values.get(src, ())]

    for f in fields:
        copy(f, f.name, f.name)
    return out


@dataclass(frozen=True)
class Refused:
    """The form's answers the command refused: a message per field name (``""``: the whole)."""

    errors: dict[str, str] = field(default_factory=dict)


def parse(model: type[M], fields: Sequence[FormField], values: Values) -> M | Refused:
    """The command the posted ``values`` stand for, validated as the API validates its body,
    or the messages to show beside each field."""
    body = body_of(fields, values)
    try:
        return model.model_validate_json(json.dumps(body), context={EDGE_CONTEXT: True})
    except ValidationError as exc:
        return Refused(field_errors(fields, exc))


def _field_at(
    fields: Sequence[FormField], loc: Sequence[str | int]
) -> tuple[str, FormField | None]:
    """The form name and field a validation error's location points into."""
    name, current = "", None
    level: Sequence[FormField] = fields
    for part in loc:
        if isinstance(part, int) and current is not None and current.kind is Kind.REPEAT:
            name = f"{name}.{part}"
            item = current.children[0]
            if item.kind is not Kind.GROUP:
                return name, replace(item, label=current.label)
            current, level = item, item.children
            continue
        found = next((f for f in level if f.name == part), None)
        if found is None:
            break
        name, current = (f"{name}.{part}" if name else str(part)), found
        level = found.children if found.kind is Kind.GROUP else ()
        if found.kind in (Kind.CHOICES, Kind.DATE):
            break
    return name, current


def _message(error: Mapping[str, Any], f: FormField | None) -> str:
    label = f.label.lower() if f else ""
    kind = error["type"]
    if f is not None and kind in ("missing", "string_too_short", "too_short"):
        if f.kind in (Kind.CHOICE, Kind.YES_NO, Kind.CHOICES):
            return f"Select {label}" if f.kind is not Kind.YES_NO else f"Select yes or no: {label}"
        if f.kind is Kind.REPEAT:
            return f"Add at least one: {label}"
        return f"Enter {label}"
    if f is not None and f.kind is Kind.MONEY and kind.startswith("float"):
        return f"{f.label} must be an amount in pounds, like 1500 or 1,500.50"
    if f is not None and f.kind is Kind.DATE and kind.startswith("date"):
        return f"{f.label} must be a real date, like 27 3 2027"
    if f is not None and f.kind is Kind.WHOLE and kind.startswith("int"):
        return f"{f.label} must be a whole number"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{f.label}: {message}" if f else message


def field_errors(fields: Sequence[FormField], exc: ValidationError) -> dict[str, str]:
    """Each refused field's message, keyed by its form name (``""``: about the whole form)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        name, f = _field_at(fields, [p for p in error["loc"] if isinstance(p, (str, int))])
        message = _message(error, f)
        errors[name] = f"{errors[name]}; {message}" if name in errors else message
    return errors


def field_id(name: str) -> str:
    """The HTML id of the input for form name ``name`` (the first, for a group of inputs)."""
    return "f-" + re.sub(r"[^a-zA-Z0-9_-]", "-", name) if name else "form-error"


# --- What the template shows ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Control:
    """A field as shown: its absolute form name and id, what it holds, its error, and for a
    group its fields, for a list its rows (each a control) and whether another may be added."""

    field: FormField
    name: str
    id: str
    values: tuple[str, ...] = ()
    error: str = ""
    children: tuple[Control, ...] = ()
    rows: tuple[Control, ...] = ()

    @property
    def value(self) -> str:
        """The single value an input holds."""
        return self.values[0] if self.values else ""

    def part(self, which: str) -> str:
        """One part of a date (``day``, ``month``, ``year``), as entered."""
        return dict(zip(("day", "month", "year"), self.values, strict=False)).get(which, "")


def controls(
    fields: Sequence[FormField],
    values: Values,
    errors: Mapping[str, str],
    *,
    another: str = "",
    prefix: str = "",
) -> tuple[Control, ...]:
    """The controls of ``fields`` holding ``values`` with their ``errors``; the list named
    ``another`` gets one more empty row."""
    return tuple(
        _control(f, values, errors, another, f"{prefix}.{f.name}" if prefix else f.name)
        for f in fields
    )


def _control(
    f: FormField, values: Values, errors: Mapping[str, str], another: str, name: str
) -> Control:
    base = Control(field=f, name=name, id=field_id(name), error=errors.get(name, ""))
    if f.kind is Kind.GROUP:
        return replace(
            base, children=controls(f.children, values, errors, another=another, prefix=name)
        )
    if f.kind is Kind.REPEAT:
        count = max([n + 1 for n in rows(values, name)] or [1]) + (1 if another == name else 0)
        item, one = f.children[0], _singular(f.label)
        made = tuple(
            _control(replace(item, label=f"{one} {n + 1}"), values, errors, another, f"{name}.{n}")
            for n in range(count)
        )
        return replace(base, rows=made)
    if f.kind is Kind.DATE:
        parts = tuple(_one(values, f"{name}-{p}") for p in ("day", "month", "year"))
        return replace(base, values=parts)
    return replace(base, values=tuple(v.strip() for v in values.get(name, ())))


def _singular_word(word: str) -> str:
    for plural, one in (("ies", "y"), ("es", "e"), ("s", "")):
        if word.endswith(plural) and not word.endswith("ss"):
            return word[: -len(plural)] + one
    return word


def _singular(label: str) -> str:
    """One row's name: "Support elements" → "Support element", "Actions arising" → "Action
    arising" (the plural is the last word, else the first)."""
    words = label.split(" ")
    last = _singular_word(words[-1])
    if last != words[-1] or len(words) == 1:
        return " ".join([*words[:-1], last])
    return " ".join([_singular_word(words[0]), *words[1:]])


def _as_posted(info: FieldInfo) -> str:
    default = info.get_default(call_default_factory=True)
    if isinstance(default, bool):
        return "yes" if default else "no"
    if isinstance(default, Enum):
        return str(default.value)
    if isinstance(default, float):
        return f"{default:g}"
    if isinstance(default, (str, int)):
        return str(default)
    return ""


def input_names(fields: Sequence[FormField], prefix: str = "") -> set[str]:
    """The names a fresh form's inputs post under (a list's first row, a date's parts)."""
    names: set[str] = set()
    for f in fields:
        name = f"{prefix}.{f.name}" if prefix else f.name
        if f.kind is Kind.GROUP:
            names |= input_names(f.children, name)
        elif f.kind is Kind.REPEAT and f.children[0].kind is Kind.GROUP:
            names |= input_names(f.children[0].children, f"{name}.0")
        elif f.kind is Kind.REPEAT:
            names.add(f"{name}.0")
        elif f.kind is Kind.DATE:
            names |= {f"{name}-day", f"{name}-month", f"{name}-year"}
        else:
            names.add(name)
    return names


def initial(fields: Sequence[FormField], prefix: str = "") -> dict[str, list[str]]:
    """The values a fresh form starts with: the model's defaults, as the form would post them
    (a list's first row included)."""
    out: dict[str, list[str]] = {}
    for f in fields:
        name = f"{prefix}.{f.name}" if prefix else f.name
        if f.kind is Kind.GROUP:
            out.update(initial(f.children, name))
        elif f.kind is Kind.REPEAT and f.children[0].kind is Kind.GROUP:
            out.update(initial(f.children[0].children, f"{name}.0"))
        elif f.default:
            out[name] = [f.default]
    return out
