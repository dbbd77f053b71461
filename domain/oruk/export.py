"""From our directory to ORUK 3.0 records, as the ORUK API and the CSV export publish them.

Ids: an ORUK id must be a uuid; ours are kept when they are one and otherwise given a
stable uuid5, which the import recognises, so exporting and importing back updates the
same records. Categories are published as terms of partnerflow's own taxonomy, areas as
service areas named after the ward, the resident-facing address as a location. Webhook
URLs and agreed response days are partner arrangements, not public: they are not exported.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from domain.directory import NeedCategory, Organisation, Service
from domain.oruk.details import (
    has_location_details,
    location_detail_fields,
    service_detail_fields,
)
from domain.oruk.importing import oruk_id, split_address
from domain.oruk.mapping import (
    ELIGIBILITY_TAXONOMY_ID,
    ELIGIBILITY_TAXONOMY_NAME,
    NAMESPACE,
    TAXONOMY_ID,
    TAXONOMY_NAME,
    OrukMapping,
    category_term_id,
    category_term_name,
)

TAXONOMY_URI = "https://github.com/partnerflow/need-categories"


def _sub_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(parts)))


def taxonomy_record() -> dict[str, Any]:
    """partnerflow's need categories as an ORUK taxonomy."""
    return {
        "id": TAXONOMY_ID,
        "name": TAXONOMY_NAME,
        "description": "What a resident needs help with, as partnerflow routes referrals.",
        "uri": TAXONOMY_URI,
        "version": "1",
    }


def eligibility_taxonomy_record() -> dict[str, Any]:
    """The taxonomy of who each service is for: one term per service that says."""
    return {
        "id": ELIGIBILITY_TAXONOMY_ID,
        "name": ELIGIBILITY_TAXONOMY_NAME,
        "description": "Who a service is for, in the words of its directory entry.",
        "uri": f"{TAXONOMY_URI}#eligibility",
        "version": "1",
    }


def taxonomy_records() -> list[dict[str, Any]]:
    """Every taxonomy the published terms belong to."""
    return [taxonomy_record(), eligibility_taxonomy_record()]


def eligibility_term_record(svc: Service) -> dict[str, Any] | None:
    """The term saying who ``svc`` is for (its eligibility in words); None when it says not."""
    if not svc.eligibility.description:
        return None
    return {
        "id": _sub_id(svc.id, "eligibility"),
        "name": svc.eligibility.description,
        "description": "Who the service is for.",
        "taxonomy": ELIGIBILITY_TAXONOMY_NAME,
        "taxonomy_id": ELIGIBILITY_TAXONOMY_ID,
    }


def taxonomy_term_record(category: NeedCategory) -> dict[str, Any]:
    """One need category as an ORUK taxonomy term."""
    return {
        "id": category_term_id(category),
        "name": category_term_name(category),
        "description": f"Services that help with {category_term_name(category).lower()}.",
        "taxonomy": TAXONOMY_NAME,
        "taxonomy_id": TAXONOMY_ID,
        "term": category.value,
    }


def taxonomy_term_records() -> list[dict[str, Any]]:
    """Every need category as an ORUK taxonomy term."""
    return [taxonomy_term_record(c) for c in NeedCategory]


def organisation_record(org: Organisation) -> dict[str, Any]:
    """One organisation as an ORUK organization (without its services)."""
    record: dict[str, Any] = {
        "id": oruk_id(org.id),
        "name": org.name,
        "description": org.description,
    }
    if org.email:
        record["email"] = str(org.email)
    if org.url:
        record["website"] = str(org.url)
    return record


def service_at_location_id(svc: Service) -> str | None:
    """The id of the one place ``svc`` is offered at; None when it names no place."""
    if not svc.address and not has_location_details(svc.details):
        return None
    return _sub_id(svc.id, "service_at_location")


def _location(svc: Service) -> dict[str, Any] | None:
    if service_at_location_id(svc) is None:
        return None
    location_id = _sub_id(svc.id, "location")
    location: dict[str, Any] = {
        "id": location_id,
        "location_type": "physical",
        "name": svc.address or svc.name,
        "addresses": [],
    }
    if svc.address:
        address_1, city, postcode = split_address(svc.address)
        location["addresses"] = [
            {
                "id": _sub_id(svc.id, "address"),
                "location_id": location_id,
                "address_1": address_1,
                "city": city,
                "state_province": "",
                "postal_code": postcode,
                "country": "GB",
                "address_type": "physical",
            }
        ]
    location.update(location_detail_fields(svc.id, location_id, svc.details))
    return location


def service_record(
    svc: Service,
    org: Organisation,
    mapping: OrukMapping,
    last_modified: datetime | None = None,
    *,
    nested: bool = True,
) -> dict[str, Any]:
    """One service as an ORUK service; ``nested`` adds its organization, areas, locations and
    attributes (a full ``/services/{id}`` record), otherwise the flat ``/services`` list item."""
    sid = oruk_id(svc.id)
    record: dict[str, Any] = {
        "id": sid,
        "organization_id": oruk_id(org.id),
        "name": svc.name,
        "description": svc.description,
        "status": svc.status.value,
    }
    if svc.url:
        record["url"] = str(svc.url)
    if svc.email:
        record["email"] = str(svc.email)
    if svc.eligibility.minimum_age is not None:
        record["minimum_age"] = svc.eligibility.minimum_age
    if svc.eligibility.maximum_age is not None:
        record["maximum_age"] = svc.eligibility.maximum_age
    if last_modified is not None:
        record["last_modified"] = last_modified.isoformat().replace("+00:00", "Z")
    if not nested:
        record["organization"] = organisation_record(org)
        return record
    attributes = [
        {
            "id": _sub_id(svc.id, "attribute", c.value),
            "link_id": sid,
            "link_type": "need_category",
            "taxonomy_term_id": category_term_id(c),
            "taxonomy_term": taxonomy_term_record(c),
        }
        for c in svc.categories
    ]
    eligibility = eligibility_term_record(svc)
    if eligibility is not None:
        # A term of its own taxonomy, served by /taxonomy_terms like the need categories.
        attributes.append(
            {
                "id": _sub_id(svc.id, "attribute", "eligibility"),
                "link_id": sid,
                "link_type": "eligibility",
                "taxonomy_term_id": eligibility["id"],
                "taxonomy_term": eligibility,
            }
        )
    record["attributes"] = attributes
    record["service_areas"] = [
        {
            "id": _sub_id(svc.id, "area", ward),
            "service_id": sid,
            "name": mapping.ward_name(ward),
            "service_area": mapping.ward_name(ward),
            "extent_type": "text",
        }
        for ward in svc.areas
    ]
    location = _location(svc)
    record["service_at_locations"] = (
        [
            {
                "id": service_at_location_id(svc),
                "service_id": sid,
                "location_id": location["id"],
                "location": location,
            }
        ]
        if location
        else []
    )
    record.update(service_detail_fields(svc.id, sid, svc.details))
    record["organization"] = organisation_record(org)
    return record


def page(
    contents: list[dict[str, Any]], *, total: int, page_number: int, per_page: int
) -> dict[str, Any]:
    """An ORUK paginated response around ``contents``."""
    total_pages = max(1, -(-total // per_page))
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page_number,
        "size": len(contents),
        "first_page": page_number == 1,
        "last_page": page_number >= total_pages,
        "empty": not contents,
        "contents": contents,
    }


CAPACITY_UNIT = {
    "id": _sub_id("unit", "referral-places"),
    "name": "referral places",
    "scheme": "partnerflow",
    "identifier": "referral_places",
}
"""The unit of a service's HSDS 3.1 ``service_capacity``: new referrals it can take."""


def service_capacity_records(svc: Service, now: datetime) -> list[dict[str, Any]]:
    """The service's room now as HSDS 3.1 ``service_capacity`` records (one, or none when its
    agency has said nothing). A full spell still running counts as no place available; the
    import sums ``available``, so exporting and importing back keeps the figure."""
    full = svc.full_until is not None and svc.full_until > now
    if svc.places_available is None and not full:
        return []
    available = 0 if full else svc.places_available
    updated = svc.capacity_updated_at or now
    return [
        {
            "id": _sub_id("capacity", svc.id),
            "service_id": oruk_id(svc.id),
            "unit": CAPACITY_UNIT,
            "available": available,
            "description": "New referrals the service can take now"
            + (f", full until {svc.full_until:%d %B %Y}" if full and svc.full_until else ""),
            "updated": updated.isoformat().replace("+00:00", "Z"),
        }
    ]
