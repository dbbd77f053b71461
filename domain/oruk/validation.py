"""Validation of ORUK records: the published JSON Schemas, then the checks they miss.

The schemas (JSON Schema 2020-12, as served under openreferraluk.org/specifications/3.0/) are
shipped inside this package and their absolute ``$ref`` URLs resolve to those copies, so
validation never goes to the network. What the schemas do not catch, checked here: latitude
and longitude ranges, calendar dates, opening times, minimum age ≤ maximum age, and ids that
must agree across records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any, Literal

from jsonschema import Draft202012Validator, ValidationError
from pydantic import BaseModel, ConfigDict
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_BASE = "https://openreferraluk.org/specifications/3.0/schema/"
"""Where the published ORUK schemas live; our copies answer for these URLs."""

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


Outcome = Literal["refused", "dropped", "noted"]


class RecordProblem(BaseModel):
    """Why one record (or part of one) was not taken as it is."""

    model_config = ConfigDict(frozen=True)

    record: str
    id: str
    field: str
    reason: str
    outcome: Outcome = "refused"
    """refused: the whole service or organisation was not imported; dropped: only this
    nested record was left out; noted: imported as it is, worth an admin's look."""

    @property
    def refused(self) -> bool:
        """Whether the whole record was refused."""
        return self.outcome == "refused"

    def __str__(self) -> str:
        return f"{self.record} {self.id or '(no id)'}: {self.field}: {self.reason} ({self.outcome})"


@cache
def _registry() -> Registry[Any]:
    folder = files("domain.oruk") / "schemas"
    resources = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".json"):
            continue
        doc = json.loads(entry.read_text(encoding="utf-8"))
        resources.append(
            (
                SCHEMA_BASE + entry.name,
                Resource.from_contents(doc, default_specification=DRAFT202012),
            )
        )
    return Registry().with_resources(resources).crawl()


@cache
def _validator(schema: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": SCHEMA_BASE + schema},
        registry=_registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def schema(name: str) -> dict[str, Any]:
    """One of the shipped ORUK schemas by file name, e.g. 'service.json'."""
    contents: dict[str, Any] = _registry().contents(SCHEMA_BASE + name)
    return contents


def schema_errors(schema_name: str, instance: object) -> list[tuple[str, str]]:
    """(field path, message) for each way ``instance`` breaks the named ORUK schema."""
    out = []
    for err in sorted(
        _validator(schema_name).iter_errors(instance), key=lambda e: list(map(str, e.path))
    ):
        path = ".".join(str(p) for p in [*err.absolute_path, *_named_fields(err)])
        out.append((path or "(record)", err.message[:300]))
    return out


def _named_fields(err: ValidationError) -> list[str]:
    """The field an error on a whole object is about: the missing required property or the
    unexpected one (their path is the object's, which names no field)."""
    if not isinstance(err.instance, dict):
        return []
    if err.validator == "required" and isinstance(err.validator_value, list):
        missing = [name for name in err.validator_value if name not in err.instance]
        return [str(missing[0])] if missing else []
    if err.validator == "additionalProperties" and isinstance(err.schema, dict):
        known = set(err.schema.get("properties", {}))
        extra = sorted(str(k) for k in err.instance if k not in known)
        return extra[:1]
    return []


def is_schema_valid(schema_name: str, instance: object) -> bool:
    """Whether ``instance`` is valid against the named ORUK schema."""
    return not schema_errors(schema_name, instance)


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or not _DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _items(doc: dict[str, Any], key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    value = doc.get(key)
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item


def service_problems(doc: dict[str, Any]) -> list[RecordProblem]:
    """Every problem of one ORUK service record: schema first, then the checks it misses.

    Problems in the service's own fields refuse the service; problems inside a nested
    record we do not route on (a location, schedule, cost option, attribute) drop only that
    record.
    """
    sid = str(doc.get("id", ""))
    problems = [
        RecordProblem(record="service", id=sid, field=field, reason=reason)
        for field, reason in schema_errors("service.json", doc)
    ]
    if problems:
        return problems

    def refuse(field: str, reason: str) -> None:
        problems.append(RecordProblem(record="service", id=sid, field=field, reason=reason))

    def drop(record: str, item: dict[str, Any], field: str, reason: str) -> None:
        problems.append(
            RecordProblem(
                record=record,
                id=str(item.get("id", "")),
                field=field,
                reason=reason,
                outcome="dropped",
            )
        )

    low, high = doc.get("minimum_age"), doc.get("maximum_age")
    if low is not None and high is not None and low > high:
        refuse("minimum_age", f"minimum_age {low} is above maximum_age {high}")
    for name in ("minimum_age", "maximum_age"):
        age = doc.get(name)
        if age is not None and not (0 <= age <= 130):
            refuse(name, f"{name} {age} is not an age between 0 and 130")
    if "assured_date" in doc and not _is_date(doc["assured_date"]):
        refuse("assured_date", f"{doc['assured_date']!r} is not a date (YYYY-MM-DD)")
    org = doc.get("organization")
    if isinstance(org, dict) and doc.get("organization_id") not in (None, org.get("id")):
        refuse("organization_id", "does not match the nested organization's id")

    for _, sal in _items(doc, "service_at_locations"):
        if sal.get("service_id") not in (None, sid):
            drop("service_at_location", sal, "service_id", "names another service")
            continue
        loc = sal.get("location")
        if isinstance(loc, dict):
            if sal.get("location_id") not in (None, loc.get("id")):
                drop("service_at_location", sal, "location_id", "does not match location.id")
                continue
            lat, lon = loc.get("latitude"), loc.get("longitude")
            if lat is not None and not -90 <= lat <= 90:
                drop("location", loc, "latitude", f"latitude {lat} is outside -90..90")
            elif lon is not None and not -180 <= lon <= 180:
                drop("location", loc, "longitude", f"longitude {lon} is outside -180..180")
            elif (lat is None) != (lon is None):
                drop("location", loc, "latitude", "latitude and longitude come together")
    for _, sched in _items(doc, "schedules"):
        for name in ("valid_from", "valid_to", "dtstart"):
            if name in sched and not _is_date(sched[name]):
                drop("schedule", sched, name, f"{sched[name]!r} is not a date (YYYY-MM-DD)")
                break
        else:
            for name in ("opens_at", "closes_at"):
                value = sched.get(name)
                if value is not None and not (isinstance(value, str) and _TIME.match(value)):
                    drop("schedule", sched, name, f"{value!r} is not a time (HH:MM[:SS])")
                    break
            else:
                start, end = sched.get("valid_from"), sched.get("valid_to")
                if start and end and start > end:
                    drop("schedule", sched, "valid_to", "valid_to is before valid_from")
    for _, cost in _items(doc, "cost_options"):
        for name in ("valid_from", "valid_to"):
            if name in cost and not _is_date(cost[name]):
                drop("cost_option", cost, name, f"{cost[name]!r} is not a date (YYYY-MM-DD)")
                break
    for _, attr in _items(doc, "attributes"):
        term = attr.get("taxonomy_term")
        if isinstance(term, dict) and attr.get("taxonomy_term_id") not in (None, term.get("id")):
            drop("attribute", attr, "taxonomy_term_id", "does not match taxonomy_term.id")
    return problems


def organisation_problems(doc: dict[str, Any]) -> list[RecordProblem]:
    """Every problem of one ORUK organization record (its nested services aside)."""
    oid = str(doc.get("id", ""))
    flat = {k: v for k, v in doc.items() if k != "services"}
    return [
        RecordProblem(record="organization", id=oid, field=field, reason=reason)
        for field, reason in schema_errors("organization.json", flat)
    ]


def dropped_ids(problems: list[RecordProblem]) -> set[str]:
    """Ids of nested records to leave out (their problems did not refuse the service)."""
    return {p.id for p in problems if p.outcome == "dropped" and p.id}
