"""From ORUK records to our directory: what an import would change, before anything is written.

:func:`read_document` accepts the JSON shapes ORUK publishers use (one full service, a page of
``/services`` with ``contents``, an organisation with its services, or a list of these).
:func:`plan_import` validates every record, maps the valid ones onto our model, keeps the
routing data ORUK cannot carry (webhook URL, agreed response days, capacity) from the
directory as it is, and lists the services that stop taking referrals.

Longer than 400 lines on purpose: the import's checks and the plan they produce follow the
ORUK record structure one to one, and are read together when the standard changes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.directory import (
    Directory,
    Organisation,
    Service,
    ServiceStatus,
    ServiceWithdrawn,
)
from domain.oruk.details import details_from_oruk
from domain.oruk.feed import Feed
from domain.oruk.mapping import NAMESPACE, OrukMapping, TermRef, slug
from domain.oruk.tabular import feed_from_tables
from domain.oruk.validation import (
    RecordProblem,
    dropped_ids,
    organisation_problems,
    service_problems,
)

EXTENSION_FIELDS = (
    "webhook_url",
    "response_days",
    "capacity",
    "outcome_days",
    "places_available",
    "full_until",
    "capacity_updated_at",
)
"""Service fields ORUK cannot carry: kept from the stored directory on every re-import."""

_ELIGIBILITY_LINKS = ("eligib", "audience")


class ImportedService(BaseModel):
    """A service as the import will store it."""

    service: Service
    last_modified: datetime | None = None


class ImportPlan(BaseModel):
    """Everything one import will write, and why some records are left out."""

    model_config = ConfigDict(frozen=True)

    organisations: list[Organisation]
    services: list[ImportedService]
    unchanged: list[str] = Field(description="Ids of imported services identical to the stored.")
    withdrawn: list[ServiceWithdrawn] = Field(
        description="Services that took referrals and no longer do (turned non-active or removed)."
    )
    problems: list[RecordProblem]

    @property
    def refused(self) -> list[RecordProblem]:
        """Problems that kept a whole record out."""
        return [p for p in self.problems if p.refused]


def oruk_id(our_id: str) -> str:
    """The ORUK (uuid) id of one of our records: itself when it is a uuid, else a uuid5."""
    try:
        return str(uuid.UUID(our_id))
    except ValueError:
        return str(uuid.uuid5(NAMESPACE, f"record:{our_id}"))


_NOT_DIRECTORY = {
    "taxonomy_term": "a taxonomy term",
    "taxonomy": "a taxonomy",
    "location": "a location without a service",
}


def _kind(doc: dict[str, Any]) -> str:
    keys = doc.keys()
    if {"organization", "organization_id"} & keys or ("status" in keys and {"id", "name"} & keys):
        return "service"
    if isinstance(doc.get("service"), dict):
        return "service_at_location"
    if isinstance(doc.get("services"), list):
        return "organization_with_services"
    if "location_type" in keys:
        return "location"
    if {"taxonomy", "taxonomy_id", "term", "parent_id", "term_uri", "taxonomy_detail"} & keys:
        return "taxonomy_term"
    if "version" in keys and "openapi_url" not in keys:
        return "taxonomy"
    if {"id", "name", "description"} <= keys:
        return "organization"
    return "unknown"


def _services_at_locations(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Each /service_at_locations record repeats its service: one service, all its locations.
    services: dict[str, dict[str, Any]] = {}
    for doc in docs:
        svc = doc["service"]
        sal = {k: v for k, v in doc.items() if k != "service"}
        merged = services.setdefault(
            str(svc.get("id")),
            {**svc, "service_at_locations": list(svc.get("service_at_locations") or [])},
        )
        merged["service_at_locations"].append(sal)
    return list(services.values())


def read_document(doc: object) -> Feed:
    """The services and organisations in one ORUK JSON document: a service, a page (with
    ``contents``), an organisation with its services, a service at a location, an
    organisation, ORUK tables as JSON (``{"services.csv": [rows], ...}``), or a list of these.

    Taxonomies, taxonomy terms and bare locations hold nothing for the directory: they are
    noted and skipped. Raises ValueError when the document is none of the ORUK shapes.
    """
    if isinstance(doc, dict) and isinstance(doc.get("contents"), list):
        return read_document(doc["contents"])
    if isinstance(doc, dict) and doc and all(str(k).endswith(".csv") for k in doc):
        tables = {str(k): v for k, v in doc.items() if isinstance(v, list)}
        return feed_from_tables(tables)
    items = doc if isinstance(doc, list) else [doc]
    feed = Feed()
    sals = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("not an ORUK document: expected a JSON object or a list of objects")
        kind = _kind(item)
        if kind == "service":
            feed.services.append(item)
        elif kind == "service_at_location":
            sals.append(item)
        elif kind == "organization_with_services":
            org = {k: v for k, v in item.items() if k != "services"}
            feed.organisations.append(org)
            feed.services.extend(
                {**s, "organization_id": s.get("organization_id", org.get("id"))}
                for s in item["services"]
                if isinstance(s, dict)
            )
        elif kind == "organization":
            feed.organisations.append(item)
        elif kind in _NOT_DIRECTORY:
            feed.problems.append(
                RecordProblem(
                    record=kind,
                    id=str(item.get("id", "")),
                    field="(record)",
                    reason=f"{_NOT_DIRECTORY[kind]} holds no service or organisation; skipped",
                    outcome="noted",
                )
            )
        elif "openapi_url" in item:
            raise ValueError("this is an ORUK API's details (GET /); import its /services instead")
        else:
            raise ValueError(
                "not an ORUK document: expected a service (with status), a page of services "
                "(with contents), an organization with services, or a list of these"
            )
    feed.services.extend(_services_at_locations(sals))
    return feed


class _Refused(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def compose_address(address: dict[str, Any]) -> str | None:
    """One line for residents: 'address_1, address_2, city POSTCODE'."""
    parts = [_text(address.get(k)) for k in ("address_1", "address_2", "city")]
    line = ", ".join(p for p in parts if p)
    postcode = _text(address.get("postal_code"))
    text = f"{line} {postcode}".strip() if postcode else line
    return text or None


_POSTCODE_AT_END = re.compile(r"\s*\b([A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})$", re.IGNORECASE)


def split_address(text: str) -> tuple[str, str, str]:
    """The inverse of :func:`compose_address` for UK addresses: (address_1, city, postcode)."""
    match = _POSTCODE_AT_END.search(text)
    postcode = match.group(1) if match else ""
    rest = text[: match.start()] if match else text
    rest = rest.rstrip(", ")
    address_1, _, city = rest.rpartition(", ")
    if not address_1:
        address_1, city = city, ""
    return address_1, city, postcode


def _is_eligibility(attr: dict[str, Any]) -> bool:
    link = _text(attr.get("link_type")).casefold()
    return any(word in link for word in _ELIGIBILITY_LINKS)


def _terms(doc: dict[str, Any], dropped: set[str], eligibility: bool) -> list[dict[str, Any]]:
    out = []
    for attr in doc.get("attributes") or []:
        if not isinstance(attr, dict) or attr.get("id") in dropped:
            continue
        if _is_eligibility(attr) != eligibility:
            continue
        term = attr.get("taxonomy_term")
        term = term if isinstance(term, dict) else {"id": attr.get("taxonomy_term_id", "")}
        out.append(term)
    return out


def _locations(doc: dict[str, Any], dropped: set[str]) -> list[dict[str, Any]]:
    out = []
    for sal in doc.get("service_at_locations") or []:
        if not isinstance(sal, dict) or sal.get("id") in dropped:
            continue
        loc = sal.get("location")
        if isinstance(loc, dict) and loc.get("id") not in dropped:
            out.append(loc)
    return out


def _areas(
    doc: dict[str, Any], locations: list[dict[str, Any]], mapping: OrukMapping
) -> tuple[list[str], list[RecordProblem]]:
    areas: list[str] = []
    notes: list[RecordProblem] = []
    for area in doc.get("service_areas") or []:
        if not isinstance(area, dict):
            continue
        names = [_text(area.get("name")), _text(area.get("service_area"))]
        names = [n for n in names if n]
        if not names:
            continue
        ward = next((w for w in map(mapping.ward_for_area, names) if w), None)
        if ward is None:
            ward = slug(names[0])
            notes.append(
                RecordProblem(
                    record="service_area",
                    id=str(area.get("id", "")),
                    field="name",
                    reason=f"{names[0][:80]!r} names no ward of the mapping; kept as {ward!r}",
                    outcome="noted",
                )
            )
        areas.append(ward)
    if not areas:
        for loc in locations:
            for address in loc.get("addresses") or []:
                ward = mapping.ward_for_postcode(_text(address.get("postal_code")))
                if ward:
                    areas.append(ward)
    return list(dict.fromkeys(areas)), notes


def _address(locations: list[dict[str, Any]]) -> str | None:
    for loc in locations:
        addresses = [a for a in loc.get("addresses") or [] if isinstance(a, dict)]
        addresses.sort(key=lambda a: a.get("address_type") != "physical")
        for address in addresses:
            text = compose_address(address)
            if text:
                return text
    return None


def _organisation(doc: dict[str, Any], existing: Organisation | None) -> Organisation:
    data = {
        "id": existing.id if existing else str(doc["id"]).lower(),
        "name": _text(doc.get("name")),
        "description": _text(doc.get("description")),
        "email": doc.get("email") or None,
        "url": doc.get("website") or doc.get("url") or None,
        "phone": existing.phone if existing else None,
    }
    return Organisation.model_validate(data)


def _service(
    doc: dict[str, Any],
    org: Organisation,
    org_email: str | None,
    mapping: OrukMapping,
    existing: Service | None,
    phone: str | None,
    dropped: set[str],
) -> tuple[Service, list[RecordProblem]]:
    name = _text(doc.get("name"))
    description = _text(doc.get("description"))
    terms = [
        TermRef(id=str(t.get("id", "")), term=_text(t.get("term")), name=_text(t.get("name")))
        for t in _terms(doc, dropped, eligibility=False)
    ]
    categories = mapping.categories(terms, f"{name}\n{description}")
    # A term that means no need category is not kept: what we publish points only at terms
    # our /taxonomy_terms serves, so the report names each reference left behind.
    notes = [
        RecordProblem(
            record="service",
            id=str(doc.get("id", "")),
            field="attributes",
            reason=f"taxonomy term {(ref.name or ref.term or ref.id)[:80]!r} means no need "
            "category of the mapping; the reference is not kept",
            outcome="dropped",
        )
        for ref in terms
        if not mapping.categories([ref], "")
    ]
    if not categories:
        raise _Refused(
            "attributes",
            "no taxonomy term (nor keyword in the name or description) maps to a need "
            "category; add the term to the directory mapping",
        )
    eligibility_text = [_text(t.get("name")) for t in _terms(doc, dropped, eligibility=True)]
    if _text(doc.get("eligibility_description")):
        eligibility_text.append(_text(doc.get("eligibility_description")))
    locations = _locations(doc, dropped)
    areas, area_notes = _areas(doc, locations, mapping)
    notes += area_notes
    data: dict[str, Any] = {
        "id": existing.id if existing else str(doc["id"]).lower(),
        "organisation_id": org.id,
        "name": name,
        "description": description,
        "categories": categories,
        "areas": areas,
        "eligibility": {
            "minimum_age": doc.get("minimum_age"),
            "maximum_age": doc.get("maximum_age"),
            "description": "; ".join(t for t in eligibility_text if t),
        },
        "status": doc["status"],
        "email": doc.get("email") or org_email,
        "url": doc.get("url") or None,
        "phone": phone or (existing.phone if existing else None),
        "address": _address(locations),
        "details": details_from_oruk(doc, locations),
    }
    if existing is not None:
        for field in EXTENSION_FIELDS:
            data[field] = getattr(existing, field)
    fed = _capacity_from_hsds(doc.get("service_capacity"))
    said_at = existing.capacity_updated_at if existing is not None else None
    if fed and (said_at is None or (fed["capacity_updated_at"] or said_at) > said_at):
        # The feed's figure, unless the agency has said something more recent here.
        data |= fed
    if data["email"] is None and data.get("webhook_url") is None:
        raise _Refused(
            "email",
            "neither the service nor its organization has an email, and no webhook is "
            "configured: referrals could not reach it",
        )
    for field in ("minimum_age", "maximum_age"):
        age = data["eligibility"][field]
        if isinstance(age, float):
            data["eligibility"][field] = int(age)
    return Service.model_validate(data), notes


def _validation_problems(record: str, rid: str, exc: ValidationError) -> list[RecordProblem]:
    return [
        RecordProblem(
            record=record,
            id=rid,
            field=".".join(str(p) for p in err["loc"]) or "(record)",
            reason=err["msg"],
        )
        for err in exc.errors(include_url=False, include_input=False)
    ]


def plan_import(
    feed: Feed,
    mapping: OrukMapping,
    current: Directory,
    *,
    full: bool = False,
    from_source: Iterable[str] = (),
) -> ImportPlan:
    """What importing ``feed`` over ``current`` writes.

    ``full``: the feed lists every service of its source, so services previously imported
    from that source (``from_source``, our ids) and absent now are withdrawn.
    """
    problems = list(feed.problems)
    orgs_by_oruk = {oruk_id(o.id): o for o in current.organisations}
    svcs_by_oruk = {oruk_id(s.id): s for s in current.services}
    current_svcs = {s.id: s for s in current.services}

    org_docs: dict[str, dict[str, Any]] = {}
    refused_orgs: set[str] = set()
    nested = [s["organization"] for s in feed.services if isinstance(s.get("organization"), dict)]
    for doc in [*feed.organisations, *nested]:
        oid = str(doc.get("id", "")).lower()
        if oid in org_docs or oid in refused_orgs:
            continue
        found = organisation_problems(doc)
        if found:
            problems.extend(found)
            refused_orgs.add(oid)
            continue
        org_docs[oid] = doc

    organisations: dict[str, Organisation] = {}
    org_emails: dict[str, str | None] = {}

    def organisation_for(oid: str) -> Organisation:
        if oid in organisations:
            return organisations[oid]
        existing = orgs_by_oruk.get(oid)
        if oid in org_docs:
            try:
                org = _organisation(org_docs[oid], existing)
            except ValidationError as exc:
                problems.extend(_validation_problems("organization", oid, exc))
                refused_orgs.add(oid)
                raise _Refused("organization_id", "its organization was refused") from None
            organisations[oid] = org
            org_emails[oid] = str(org.email) if org.email else None
            return org
        if existing is not None:
            org_emails[oid] = str(existing.email) if existing.email else None
            return existing
        if oid in refused_orgs:
            raise _Refused("organization_id", "its organization was refused")
        raise _Refused("organization_id", f"{oid!r} names no organization in the feed or directory")

    imported: dict[str, ImportedService] = {}
    seen: set[str] = set()
    for doc in feed.services:
        sid = str(doc.get("id", "")).lower()
        found = service_problems(doc)
        problems.extend(found)
        if any(p.refused for p in found):
            continue
        if sid in seen:
            problems.append(
                RecordProblem(
                    record="service", id=sid, field="id", reason="appears twice in the feed"
                )
            )
            continue
        seen.add(sid)
        existing = svcs_by_oruk.get(sid)
        try:
            org_id = str(doc.get("organization_id") or doc.get("organization", {}).get("id", ""))
            org = organisation_for(org_id.lower())
            service, notes = _service(
                doc,
                org,
                org_emails.get(org_id.lower()),
                mapping,
                existing,
                feed.phones.get(sid),
                dropped_ids(found),
            )
        except _Refused as exc:
            problems.append(
                RecordProblem(record="service", id=sid, field=exc.field, reason=exc.reason)
            )
            continue
        except ValidationError as exc:
            problems.extend(_validation_problems("service", sid, exc))
            continue
        problems.extend(notes)
        imported[service.id] = ImportedService(
            service=service, last_modified=_parse_time(doc.get("last_modified"))
        )

    # Organisations listed as records of their own are written; one nested in a service is
    # part of that service's record and written only with it (a refused service writes
    # nothing, not even its organisation).
    standalone = {str(doc.get("id", "")).lower() for doc in feed.organisations}
    for oid in org_docs:
        if oid not in standalone:
            continue
        try:
            organisation_for(oid)
        except _Refused:
            continue

    removed: set[str] = set()
    if full and not feed.services:
        # A feed that lists nothing is far likelier broken than emptied: withdraw nothing.
        problems.append(
            RecordProblem(
                record="feed",
                id="",
                field="(feed)",
                reason="lists no services; nothing was withdrawn",
                outcome="noted",
            )
        )
    elif full:
        for sid in sorted(set(from_source) - set(imported)):
            gone = current_svcs.get(sid)
            if gone is not None and gone.status is ServiceStatus.ACTIVE:
                removed.add(sid)
                imported[sid] = ImportedService(
                    service=gone.model_copy(update={"status": ServiceStatus.INACTIVE})
                )
                problems.append(
                    RecordProblem(
                        record="service",
                        id=oruk_id(sid),
                        field="(record)",
                        reason="no longer in the feed; marked inactive",
                        outcome="noted",
                    )
                )

    withdrawn = []
    for sid, item in imported.items():
        before = current_svcs.get(sid)
        if (
            before is not None
            and before.status is ServiceStatus.ACTIVE
            and item.service.status is not ServiceStatus.ACTIVE
        ):
            reason = (
                "removed from the directory feed"
                if sid in removed
                else f"{item.service.status.value} in the directory feed"
            )
            withdrawn.append(ServiceWithdrawn(service_id=sid, reason=reason))
    unchanged = [sid for sid, item in imported.items() if current_svcs.get(sid) == item.service]
    return ImportPlan(
        organisations=sorted(organisations.values(), key=lambda o: o.id),
        services=sorted(imported.values(), key=lambda i: i.service.id),
        unchanged=sorted(unchanged),
        withdrawn=withdrawn,
        problems=problems,
    )


def apply_plan(current: Directory, plan: ImportPlan) -> Directory:
    """The directory after ``plan``: its records replace those with the same ids."""
    orgs = {o.id: o for o in current.organisations} | {o.id: o for o in plan.organisations}
    svcs = {s.id: s for s in current.services} | {i.service.id: i.service for i in plan.services}
    return Directory(
        organisations=sorted(orgs.values(), key=lambda o: o.id),
        services=sorted(svcs.values(), key=lambda s: s.id),
    )


def _capacity_from_hsds(records: Any) -> dict[str, Any]:
    """Places available from HSDS 3.1 ``service_capacity`` records (their sum), with the
    latest ``updated``; nothing when the feed has none or none is readable."""
    if not isinstance(records, list):
        return {}
    places = 0
    updated: list[datetime] = []
    readable = False
    for record in records:
        if not isinstance(record, dict):
            continue
        available = record.get("available")
        if isinstance(available, bool) or not isinstance(available, int | float) or available < 0:
            continue
        readable = True
        places += int(available)
        try:
            when = datetime.fromisoformat(str(record.get("updated")))
        except ValueError:
            continue
        updated.append(when if when.tzinfo else when.replace(tzinfo=UTC))
    if not readable:
        return {}
    return {"places_available": places, "capacity_updated_at": max(updated, default=None)}
