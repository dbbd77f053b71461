"""A service's public details in ORUK: schedules, cost options, languages, and its location's
point, accessibility and description.

ORUK's ``schedules`` (weekly ``byday`` with ``opens_at``/``closes_at``), ``cost_options``
(an ``amount`` of 0 or an option named "Free" means free) and the location's
``accessibility`` and ``latitude``/``longitude`` map both ways. The HSDS 3.0 fields ORUK's
tables lack (a language's ``name``, the service's ``application_process`` and
``fees_description``) travel in JSON records only.
"""

from __future__ import annotations

import uuid
from datetime import time
from typing import Any

from domain.oruk.mapping import NAMESPACE
from domain.service_details import OpeningTime, ServiceDetails, Weekday

_BYDAY = {
    "MO": Weekday.MONDAY,
    "TU": Weekday.TUESDAY,
    "WE": Weekday.WEDNESDAY,
    "TH": Weekday.THURSDAY,
    "FR": Weekday.FRIDAY,
    "SA": Weekday.SATURDAY,
    "SU": Weekday.SUNDAY,
}
_DAY_CODE = {day: code for code, day in _BYDAY.items()}


def _text(value: object) -> str:
    return str(value).strip() if value is not None else ""


def _clock(value: object) -> time | None:
    text = _text(value)
    try:
        return time.fromisoformat(text[:8]) if text else None
    except ValueError:
        return None


def _opening_times(schedules: list[Any]) -> tuple[list[OpeningTime], str]:
    times: list[OpeningTime] = []
    notes: list[str] = []
    for schedule in schedules:
        if not isinstance(schedule, dict):
            continue
        opens, closes = _clock(schedule.get("opens_at")), _clock(schedule.get("closes_at"))
        days = [
            _BYDAY.get(code.strip().upper()[-2:])
            for code in _text(schedule.get("byday")).split(",")
        ]
        if opens and closes and closes > opens and any(days):
            times.extend(
                OpeningTime(weekday=day, opens=opens, closes=closes) for day in days if day
            )
        elif _text(schedule.get("description")):
            notes.append(_text(schedule.get("description")))
    return times, " ".join(notes)


def _free(options: list[Any]) -> bool | None:
    verdict: bool | None = None
    for option in options:
        if not isinstance(option, dict):
            continue
        amount = option.get("amount")
        name = _text(option.get("option")).lower()
        if amount in (0, 0.0, "0") or name.startswith("free"):
            verdict = True if verdict is None else verdict
        elif (isinstance(amount, int | float) and amount > 0) or name == "charge":
            verdict = False
    return verdict


def details_from_oruk(doc: dict[str, Any], locations: list[dict[str, Any]]) -> ServiceDetails:
    """The public details of an ORUK service record and its locations."""
    schedules = doc.get("schedules") or []
    times, note = _opening_times(schedules if isinstance(schedules, list) else [])
    options = doc.get("cost_options") or []
    options = options if isinstance(options, list) else []
    cost = next(
        (_text(o.get("amount_description")) for o in options if isinstance(o, dict)), ""
    ) or _text(doc.get("fees_description") or doc.get("fees"))
    languages = [
        _text(lang.get("name"))
        for lang in doc.get("languages") or []
        if isinstance(lang, dict) and _text(lang.get("name"))
    ]
    accessibility: list[str] = []
    latitude = longitude = None
    how_to_get_there = ""
    for loc in locations:
        for access in loc.get("accessibility") or []:
            if isinstance(access, dict) and _text(access.get("description")):
                accessibility.append(_text(access.get("description")))
        if latitude is None and isinstance(loc.get("latitude"), int | float):
            latitude, longitude = float(loc["latitude"]), float(loc.get("longitude") or 0)
        how_to_get_there = how_to_get_there or _text(loc.get("description"))
    return ServiceDetails(
        free=_free(options),
        cost=cost[:1000],
        opening_times=times[:50],
        opening_note=note[:1000],
        languages=list(dict.fromkeys(languages))[:50],
        accessibility=list(dict.fromkeys(accessibility))[:50],
        how_to_get_there=how_to_get_there[:1000],
        after_contact=_text(doc.get("application_process"))[:2000],
        latitude=latitude if latitude is not None and -90 <= latitude <= 90 else None,
        longitude=longitude
        if latitude is not None and longitude is not None and -180 <= longitude <= 180
        else None,
    )


def _sub_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(parts)))


def service_detail_fields(
    service_id: str, oruk_service_id: str, d: ServiceDetails
) -> dict[str, Any]:
    """The ORUK service fields for ``d``: schedules, cost options, languages and the rest."""
    fields: dict[str, Any] = {}
    spans: dict[tuple[time, time], list[Weekday]] = {}
    for o in d.opening_times:
        spans.setdefault((o.opens, o.closes), []).append(o.weekday)
    schedules = [
        {
            "id": _sub_id(service_id, "schedule", opens.isoformat(), closes.isoformat()),
            "service_id": oruk_service_id,
            "freq": "WEEKLY",
            "byday": ",".join(_DAY_CODE[day] for day in days),
            "opens_at": opens.strftime("%H:%M"),
            "closes_at": closes.strftime("%H:%M"),
        }
        for (opens, closes), days in spans.items()
    ]
    if d.opening_note:
        schedules.append(
            {
                "id": _sub_id(service_id, "schedule", "note"),
                "service_id": oruk_service_id,
                "description": d.opening_note,
            }
        )
    if schedules:
        fields["schedules"] = schedules
    if d.free is not None or d.cost:
        option = {True: "Free", False: "Charge", None: "Varies"}[d.free]
        cost: dict[str, Any] = {
            "id": _sub_id(service_id, "cost"),
            "service_id": oruk_service_id,
            "option": option,
        }
        if d.free:
            cost["amount"] = 0
        if d.cost:
            cost["amount_description"] = d.cost
        fields["cost_options"] = [cost]
    if d.languages:
        fields["languages"] = [
            {
                "id": _sub_id(service_id, "language", name),
                "service_id": oruk_service_id,
                "name": name,
            }
            for name in d.languages
        ]
    if d.after_contact:
        fields["application_process"] = d.after_contact
    return fields


def location_detail_fields(service_id: str, location_id: str, d: ServiceDetails) -> dict[str, Any]:
    """The ORUK location fields for ``d``: point, accessibility and how to get there."""
    fields: dict[str, Any] = {}
    if d.latitude is not None and d.longitude is not None:
        fields["latitude"], fields["longitude"] = d.latitude, d.longitude
    if d.how_to_get_there:
        fields["description"] = d.how_to_get_there
    if d.accessibility:
        fields["accessibility"] = [
            {
                "id": _sub_id(service_id, "accessibility", text),
                "location_id": location_id,
                "description": text,
            }
            for text in d.accessibility
        ]
    return fields


def has_location_details(d: ServiceDetails) -> bool:
    """Whether ``d`` says anything that belongs to a location."""
    return bool(d.latitude is not None or d.how_to_get_there or d.accessibility)
