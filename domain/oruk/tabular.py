"""The ORUK tabular form (CSV tables described by ORUK's datapackage.json) ↔ nested records.

Reading joins the tables into full service records, checking the ids that link them (the
foreign keys the datapackage declares, and ``attribute.link_id``, which it does not);
phones, which ORUK JSON cannot carry, come back separately. Writing flattens service
records into the same tables. Cells are text; ``number`` columns are read as numbers.

Written cells are safe to open in a spreadsheet (``domain.spreadsheet``): a text cell that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first) gets an
apostrophe in front, which reading takes off again; a ``number`` column keeps ``-1.5`` a
number, as the datapackage declares it.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from functools import cache
from importlib.resources import files
from typing import Any

from domain.oruk.feed import Feed
from domain.oruk.mapping import NAMESPACE
from domain.oruk.validation import RecordProblem
from domain.spreadsheet import number_cell, read_text_cell, text_cell

Row = dict[str, str]


@cache
def datapackage() -> dict[str, Any]:
    """ORUK's tabular data package descriptor (shipped with this package)."""
    text = (files("domain.oruk") / "tabular" / "datapackage.json").read_text(encoding="utf-8")
    descriptor: dict[str, Any] = json.loads(text)
    return descriptor


def table_names() -> dict[str, str]:
    """Resource name → CSV file name, e.g. 'service' → 'services.csv'."""
    return {r["name"]: r["path"] for r in datapackage()["resources"]}


def headers(resource: str) -> list[str]:
    """The columns of one table, in the datapackage's order."""
    for r in datapackage()["resources"]:
        if r["name"] == resource:
            return [f["name"] for f in r["schema"]["fields"]]
    raise KeyError(resource)


@cache
def _fields(resource: str) -> dict[str, dict[str, Any]]:
    for r in datapackage()["resources"]:
        if r["name"] == resource:
            return {f["name"]: f for f in r["schema"]["fields"]}
    return {}


def _typed(resource: str, row: Row, problems: list[RecordProblem]) -> dict[str, Any]:
    fields = _fields(resource)
    out: dict[str, Any] = {}
    for key, raw in row.items():
        field = fields.get(key, {})
        required = field.get("constraints", {}).get("required", False)
        if key is None or raw is None or (raw == "" and not required):
            continue
        if field.get("type") == "number":
            try:
                number = float(raw)
            except ValueError:
                problems.append(
                    RecordProblem(
                        record=resource,
                        id=row.get("id", ""),
                        field=key,
                        reason=f"{raw!r} is not a number",
                    )
                )
                continue
            out[key] = int(number) if number.is_integer() else number
        elif isinstance(raw, int | float) and not isinstance(raw, bool):
            out[key] = str(raw)  # a cell is text; tables given as JSON may carry bare numbers
        elif isinstance(raw, str):
            out[key] = read_text_cell(raw)
        else:
            out[key] = raw
    return out


# HSDS 3.0 names of the tables ORUK renamed; used when the ORUK name is absent.
_HSDS_NAMES = {
    "address.csv": "addresses.csv",
    "attribute.csv": "attributes.csv",
    "schedule.csv": "schedules.csv",
}


def feed_from_tables(tables: dict[str, list[Row]]) -> Feed:
    """Full service records from ORUK tables, keyed by CSV file name ('services.csv', ...).

    HSDS 3.0 table names are read where ORUK renamed the table; tables the datapackage does
    not describe are ignored.
    """
    tables = {
        **{oruk: tables[hsds] for oruk, hsds in _HSDS_NAMES.items() if hsds in tables},
        **tables,
    }
    problems: list[RecordProblem] = []
    rows: dict[str, list[dict[str, Any]]] = {
        name: [_typed(name, r, problems) for r in tables.get(path, [])]
        for name, path in table_names().items()
    }
    by_id = {name: {r["id"]: r for r in items if "id" in r} for name, items in rows.items()}

    def linked(name: str, key: str) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows[name]:
            if key in r:
                out[r[key]].append(r)
        return out

    for resource in datapackage()["resources"]:
        for fk in resource["schema"].get("foreignKeys", []):
            field, target = fk["fields"], fk["reference"]["resource"]
            if (resource["name"], field) == ("service", "organization_id"):
                continue  # the import refuses such a service itself, with its reason
            for r in rows[resource["name"]]:
                if field in r and r[field] not in by_id[target]:
                    problems.append(
                        RecordProblem(
                            record=resource["name"],
                            id=r.get("id", ""),
                            field=field,
                            reason=f"{r[field]!r} names no {target} in the tables",
                            outcome="noted" if resource["name"] == "taxonomy_term" else "dropped",
                        )
                    )
    every_id = {i for ids in by_id.values() for i in ids}
    for attr in rows["attribute"]:
        if attr.get("link_id") not in every_id:
            problems.append(
                RecordProblem(
                    record="attribute",
                    id=attr.get("id", ""),
                    field="link_id",
                    reason=f"{attr.get('link_id')!r} names no record in the tables",
                    outcome="dropped",
                )
            )

    addresses = linked("address", "location_id")
    accessibility = linked("accessibility", "location_id")
    sals = linked("service_at_location", "service_id")
    attributes = linked("attribute", "link_id")
    contacts = linked("contact", "service_id")
    phones = linked("phone", "contact_id")
    nested_lists = {
        "service_areas": linked("service_area", "service_id"),
        "schedules": linked("schedule", "service_id"),
        "funding": linked("funding", "service_id"),
        "cost_options": linked("cost_option", "service_id"),
        "languages": linked("language", "service_id"),
    }

    def with_term(attr: dict[str, Any]) -> dict[str, Any]:
        term = by_id["taxonomy_term"].get(attr.get("taxonomy_term_id", ""))
        return {**attr, "taxonomy_term": term} if term else attr

    services = []
    phone_of: dict[str, str] = {}
    for svc in rows["service"]:
        sid = svc.get("id", "")
        doc = dict(svc)
        doc["service_at_locations"] = [
            {
                **sal,
                "location": {
                    **by_id["location"][sal["location_id"]],
                    "addresses": addresses.get(sal["location_id"], []),
                    "accessibility": accessibility.get(sal["location_id"], []),
                },
            }
            for sal in sals.get(sid, [])
            if sal.get("location_id") in by_id["location"]
        ]
        doc["attributes"] = [with_term(a) for a in attributes.get(sid, [])]
        doc["contacts"] = contacts.get(sid, [])
        for name, index in nested_lists.items():
            doc[name] = index.get(sid, [])
        for contact in doc["contacts"]:
            for phone in phones.get(contact.get("id", ""), []):
                number = str(phone.get("number", "")).strip().strip('"').strip()
                if number and sid not in phone_of:
                    phone_of[sid] = number
        services.append(doc)
    return Feed(
        services=services,
        organisations=rows["organization"],
        phones=phone_of,
        problems=problems,
    )


def _cell(resource: str, column: str, value: Any) -> str:
    if _fields(resource).get(column, {}).get("type") == "number":
        return number_cell(value)
    return text_cell(value)


def tables_from_records(
    services: list[dict[str, Any]],
    organisations: list[dict[str, Any]],
    taxonomies: list[dict[str, Any]],
    phones: dict[str, str] | None = None,
) -> dict[str, list[Row]]:
    """ORUK tables (CSV file name → rows) from full service records; ``phones`` (service id →
    number) become a contact with a phone, the only place ORUK keeps phone numbers."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in table_names()}
    terms: dict[str, dict[str, Any]] = {}
    out["organization"] = list(organisations)
    out["taxonomy"] = list(taxonomies)
    for svc in services:
        out["service"].append(svc)
        number = (phones or {}).get(svc["id"])
        if number:
            contact_id = str(uuid.uuid5(NAMESPACE, f"{svc['id']}:contact"))
            out["contact"].append({"id": contact_id, "service_id": svc["id"], "name": "Enquiries"})
            out["phone"].append(
                {
                    "id": str(uuid.uuid5(NAMESPACE, f"{svc['id']}:phone")),
                    "contact_id": contact_id,
                    "number": number,
                }
            )
        for area in svc.get("service_areas", []):
            out["service_area"].append({**area, "service_id": svc["id"]})
        for attr in svc.get("attributes", []):
            out["attribute"].append({**attr, "link_id": svc["id"]})
            if isinstance(attr.get("taxonomy_term"), dict):
                terms[attr["taxonomy_term"]["id"]] = attr["taxonomy_term"]
        for sal in svc.get("service_at_locations", []):
            loc = sal["location"]
            out["service_at_location"].append(
                {"id": sal["id"], "service_id": svc["id"], "location_id": loc["id"]}
            )
            out["location"].append(loc)
            for address in loc.get("addresses", []):
                out["address"].append({**address, "location_id": loc["id"]})
            for access in loc.get("accessibility", []):
                out["accessibility"].append({**access, "location_id": loc["id"]})
        for name in ("schedule", "cost_option", "language"):
            for item in svc.get(f"{name}s", []):
                out[name].append({**item, "service_id": svc["id"]})
    out["taxonomy_term"] = sorted(terms.values(), key=lambda t: str(t["id"]))
    paths = table_names()
    return {
        paths[name]: [{h: _cell(name, h, r.get(h)) for h in headers(name)} for r in records]
        for name, records in out.items()
    }
