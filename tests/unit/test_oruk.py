"""ORUK 3.0 mapping: the official examples, broken copies, export validity and round trips."""

from __future__ import annotations

import copy
import csv
from pathlib import Path
from typing import Any

import pytest

from domain.directory import Directory, NeedCategory, Service, ServiceStatus
from domain.oruk.export import (
    organisation_record,
    page,
    service_record,
    taxonomy_record,
    taxonomy_term_records,
)
from domain.oruk.feed import Feed
from domain.oruk.importing import (
    apply_plan,
    compose_address,
    oruk_id,
    plan_import,
    read_document,
    split_address,
)
from domain.oruk.mapping import OrukMapping, TaxonomyRule, Ward, default_mapping
from domain.oruk.tabular import feed_from_tables, tables_from_records
from domain.oruk.validation import schema_errors
from store.demo import demo_directory, demo_wards
from tests.helpers.oruk_files import EXAMPLE_ID, ORUK, load

EMPTY = Directory(organisations=[], services=[])

# The upstream examples' own defects, which the schemas let through (see the shared README).
LATITUDE_100 = (
    "location 3a19ff88-4620-4d17-9830-ac1d859eb5d5: latitude: latitude 100 is outside -90..90 "
    "(dropped)"
)
MYCITY_AREA = (
    "service_area 381c64f1-a724-4884-9c21-ac96c21cca3e: name: 'The service is available to all "
    "residents of the MyCity area. We provide the ser' names no ward of the mapping; kept as "
    "'the-service-is-available-to-all-residents-of-the-mycity-area' (noted)"
)
# The examples' one taxonomy term is named "name": it means no need category, so it is not
# kept (the category comes from the description's keywords) and the report says so.
NAME_TERM = (
    f"service {EXAMPLE_ID}: attributes: taxonomy term 'name' means no need category of the "
    "mapping; the reference is not kept (dropped)"
)


def export_directory(directory: Directory, mapping: OrukMapping) -> list[dict[str, Any]]:
    orgs = {o.id: o for o in directory.organisations}
    return [service_record(s, orgs[s.organisation_id], mapping) for s in directory.services]


@pytest.mark.parametrize(
    ("example", "expected"),
    [
        ("uk-profile/examples/service_full.json", [LATITUDE_100, NAME_TERM, MYCITY_AREA]),
        ("oruk-website/3.0/examples/service_full.json", [LATITUDE_100, NAME_TERM, MYCITY_AREA]),
        ("oruk-website/3.0/examples/service_list.json", []),
        ("uk-profile/examples/service_list.json", []),
        (
            "oruk-website/3.0/examples/organization_full.json",
            [LATITUDE_100, NAME_TERM, MYCITY_AREA],
        ),
        ("uk-profile/examples/organization_full.json", [LATITUDE_100, NAME_TERM, MYCITY_AREA]),
        ("hsds/examples/service_full.json", [LATITUDE_100, NAME_TERM, MYCITY_AREA]),
        ("hsds/examples/organization_full.json", [LATITUDE_100, NAME_TERM, MYCITY_AREA]),
    ],
)
def test_official_examples_import_with_exactly_their_known_defects(
    example: str, expected: list[str]
) -> None:
    plan = plan_import(read_document(load(example)), default_mapping(), EMPTY)
    assert [str(p) for p in plan.problems] == expected
    [imported] = plan.services
    svc = imported.service
    assert svc.id == EXAMPLE_ID
    assert svc.categories == [NeedCategory.MENTAL_HEALTH]  # by keyword: the term is "name"
    assert (svc.eligibility.minimum_age, svc.eligibility.maximum_age) == (12, 100)
    assert str(svc.email) == "email@example.com"
    assert svc.status is ServiceStatus.ACTIVE
    assert [o.name for o in plan.organisations] == ["Example Organization Inc."]


def test_hsds_eligibility_description_is_kept() -> None:
    plan = plan_import(
        read_document(load("hsds/examples/service_full.json")), default_mapping(), EMPTY
    )
    assert plan.services[0].service.eligibility.description.startswith(
        "This service is intended for all people aged 12"
    )


def _broken(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(load("uk-profile/examples/service_full.json"))
    doc["service_at_locations"][0]["location"]["latitude"] = 51.79
    doc["service_at_locations"][0]["location"]["longitude"] = 1.15
    for path, value in changes.items():
        target = doc
        *parents, last = path.split("__")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return doc


SVC = "service ac148810-d857-441c-9679-408f346de14b"
LOC = "location 3a19ff88-4620-4d17-9830-ac1d859eb5d5"
SCHED = "schedule 48102e86-bb50-41c4-8f1e-e269368c41d1"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"status": None}, f"{SVC}: status: 'status' is a required property (refused)"),
        (
            {"status": "open"},
            f"{SVC}: status: 'open' is not one of "
            "['active', 'inactive', 'defunct', 'temporarily closed'] (refused)",
        ),
        ({"id": "123"}, "service 123: id: '123' is not a 'uuid' (refused)"),
        ({"email": "x"}, f"{SVC}: email: 'x' is not a 'email' (refused)"),
        (
            {"last_modified": "yesterday"},
            f"{SVC}: last_modified: 'yesterday' is not a 'date-time' (refused)",
        ),
        (
            {"minimum_age": 70, "maximum_age": 18},
            f"{SVC}: minimum_age: minimum_age 70 is above maximum_age 18 (refused)",
        ),
        (
            {"assured_date": "2005-13-45"},
            f"{SVC}: assured_date: '2005-13-45' is not a date (YYYY-MM-DD) (refused)",
        ),
        (
            {"organization_id": "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c611"},
            f"{SVC}: organization_id: does not match the nested organization's id (refused)",
        ),
        (
            {"service_at_locations__0__location__longitude": 181},
            f"{LOC}: longitude: longitude 181 is outside -180..180 (dropped)",
        ),
        (
            {"service_at_locations__0__location_id": "3a19ff88-4620-4d17-9830-ac1d859eb5d6"},
            "service_at_location e94c9f38-1e8f-4564-91d4-d53501ab1765: location_id: "
            "does not match location.id (dropped)",
        ),
        (
            {"schedules__0__opens_at": "10am"},
            f"{SCHED}: opens_at: '10am' is not a time (HH:MM[:SS]) (dropped)",
        ),
        (
            {"schedules__0__valid_to": "2005-02-30"},
            f"{SCHED}: valid_to: '2005-02-30' is not a date (YYYY-MM-DD) (dropped)",
        ),
        (
            {"attributes": [], "name": "Community support", "description": "A friendly place."},
            f"{SVC}: attributes: no taxonomy term (nor keyword in the name or description) "
            "maps to a need category; add the term to the directory mapping (refused)",
        ),
        (
            {"email": None, "organization__email": None},
            f"{SVC}: email: neither the service nor its organization has an email, and no "
            "webhook is configured: referrals could not reach it (refused)",
        ),
    ],
)
def test_broken_copies_are_refused_with_clear_messages(
    changes: dict[str, Any], expected: str
) -> None:
    plan = plan_import(read_document(_broken(**changes)), default_mapping(), EMPTY)
    assert expected in [str(p) for p in plan.problems]
    refused = any(p.refused for p in plan.problems)
    assert (not plan.services) == refused


def test_a_service_whose_organisation_is_unknown_is_refused() -> None:
    doc = _broken(organization=None, organization_id="d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610")
    plan = plan_import(read_document(doc), default_mapping(), EMPTY)
    assert [str(p) for p in plan.refused] == [
        "service ac148810-d857-441c-9679-408f346de14b: organization_id: "
        "'d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610' names no organization in the feed or directory "
        "(refused)"
    ]


def test_not_an_oruk_document_is_refused() -> None:
    with pytest.raises(ValueError, match="not an ORUK document"):
        read_document({"hello": "world"})


def test_taxonomy_terms_postcodes_and_areas_map_to_routing() -> None:
    mapping = OrukMapping(
        taxonomy=[
            TaxonomyRule(
                category=NeedCategory.HOUSING,
                term_ids=["0D4E2F5C-0000-4000-8000-00000000AAAA"],
                terms=["Homes"],
            )
        ],
        wards=[Ward(id="pier", name="Pier"), Ward(id="frinton", name="Frinton")],
        postcodes={"co13 9": "frinton", "CO15": "pier"},
    )
    doc = _broken(
        attributes=[
            {
                "id": "b6d4a0e4-5a47-4c1c-9d60-0f7e3b1a1a11",
                "link_type": "category",
                "taxonomy_term": {
                    "id": "0d4e2f5c-0000-4000-8000-00000000aaaa",
                    "name": "x",
                    "description": "d",
                },
            }
        ],
        service_areas=[],
    )
    doc["service_at_locations"][0]["location"]["addresses"][0]["postal_code"] = "CO13 9AB"
    [item] = plan_import(read_document(doc), mapping, EMPTY).services
    assert item.service.categories == [NeedCategory.HOUSING]
    assert item.service.areas == ["frinton"]
    assert item.service.address == "1-30 Main Street, MyCity CO13 9AB"
    doc["service_areas"] = [{"id": "0c7f6a1e-1b3a-4f7e-8d2a-3b5f0b0e7c21", "name": "PIER"}]
    [item] = plan_import(read_document(doc), mapping, EMPTY).services
    assert item.service.areas == ["pier"]


def test_addresses_split_back_to_what_they_were_composed_from() -> None:
    for text in (
        "Clacton Town Hall, Station Road, Clacton-on-Sea CO15 1SE",
        "Harwich Library CO12 3AA",
        "1-30 Main Street, MyCity ABC 1234",
    ):
        address_1, city, postcode = split_address(text)
        assert (
            compose_address({"address_1": address_1, "city": city, "postal_code": postcode}) == text
        )


def _mapping() -> OrukMapping:
    return default_mapping([Ward(id=w.id, name=w.name) for w in demo_wards()])


def test_export_of_the_demo_directory_is_schema_valid() -> None:
    directory = demo_directory()
    mapping = _mapping()
    records = export_directory(directory, mapping)
    for record in records:
        assert schema_errors("service.json", record) == [], record["id"]
    orgs = {o.id: o for o in directory.organisations}
    flat = [
        service_record(s, orgs[s.organisation_id], mapping, nested=False)
        for s in directory.services
    ]
    assert (
        schema_errors("service_list.json", page(flat, total=len(flat), page_number=1, per_page=50))
        == []
    )
    for org in directory.organisations:
        assert schema_errors("organization.json", organisation_record(org)) == []
    assert schema_errors("taxonomy.json", taxonomy_record()) == []
    for term in taxonomy_term_records():
        assert schema_errors("taxonomy_term.json", term) == []


def test_demo_directory_exports_and_imports_back_onto_itself() -> None:
    directory = demo_directory()
    mapping = _mapping()
    feed = Feed(services=export_directory(directory, mapping))
    plan = plan_import(feed, mapping, directory)
    assert plan.problems == []
    assert sorted(plan.unchanged) == sorted(s.id for s in directory.services)
    assert apply_plan(directory, plan) == apply_plan(EMPTY, plan_import(feed, mapping, directory))


def _imported(feed: Feed, mapping: OrukMapping, current: Directory = EMPTY) -> Directory:
    return apply_plan(current, plan_import(feed, mapping, current))


def test_round_trip_json_import_export_import_gives_the_same_directory() -> None:
    mapping = _mapping()
    first = _imported(read_document(load("hsds/examples/service_full.json")), mapping)
    exported = export_directory(first, mapping)
    second = _imported(Feed(services=exported), mapping)
    assert second == first


def test_round_trip_through_the_csv_tables() -> None:
    mapping = _mapping()
    directory = demo_directory()
    exported = export_directory(directory, mapping)
    orgs = [organisation_record(o) for o in directory.organisations]
    phones = {oruk_id(s.id): s.phone for s in directory.services if s.phone}
    tables = tables_from_records(exported, orgs, [taxonomy_record()], phones)
    feed = feed_from_tables(tables)
    assert feed.problems == []
    plan = plan_import(feed, mapping, EMPTY)
    assert plan.problems == []
    back = apply_plan(EMPTY, plan)
    ids = {oruk_id(s.id): s for s in directory.services}
    # ORUK's tables have no column for a language's name or the application process.
    lost_in_tables = {"languages", "after_contact"}
    ours = {"id", "organisation_id", "webhook_url", "response_days", "capacity"}

    def public(service: Service) -> dict[str, object]:
        dumped = service.model_dump(exclude=ours)
        dumped["details"] = service.details.model_dump(exclude=lost_in_tables)
        return dumped

    assert any(s.details.opening_times for s in back.services)
    for svc in back.services:
        assert public(svc) == public(ids[svc.id])


def _read_tables(folder: Path) -> dict[str, list[dict[str, str]]]:
    return {p.name: list(csv.DictReader(p.open(newline=""))) for p in folder.glob("*.csv")}


def test_oruk_example_tables_import_with_exactly_their_known_defects() -> None:
    feed = feed_from_tables(_read_tables(ORUK / "uk-profile/examples/csv"))
    plan = plan_import(feed, default_mapping(), EMPTY)
    assert [str(p) for p in plan.problems] == [
        "taxonomy_term 3f7b145d-84af-42d7-8fae-eaca714b02b2: taxonomy_id: "
        "'07ff6aee-a219-438c-b694-d2fcb6c5373b' names no taxonomy in the tables (noted)",
        "attribute ae58cc39-8b70-4ab1-8aea-786882e5ac8e: link_id: "
        "'f28dd44b-0c4d-479f-8e90-4c52219a8b3c' names no record in the tables (dropped)",
        LATITUDE_100,
        MYCITY_AREA,
    ]
    [item] = plan.services
    assert item.service.phone == "+44 1234 234567"
    assert item.service.categories == [NeedCategory.MENTAL_HEALTH]


def test_extension_survives_reimport_and_a_status_change_withdraws() -> None:
    mapping = _mapping()
    doc = _broken()
    first = _imported(read_document(doc), mapping)
    svc = first.services[0]
    extended = svc.model_copy(
        update={
            "webhook_url": "https://partner.example.org/hook",
            "response_days": {"urgent": 1},
            "capacity": "limited",
        }
    )
    current = first.model_copy(update={"services": [extended]})
    plan = plan_import(read_document({**doc, "name": "Counselling for all"}), mapping, current)
    [again] = plan.services
    assert again.service.name == "Counselling for all"
    assert str(again.service.webhook_url) == "https://partner.example.org/hook"
    assert again.service.response_days == {"urgent": 1}
    assert again.service.capacity == "limited"
    assert plan.withdrawn == []

    closed = plan_import(read_document({**doc, "status": "temporarily closed"}), mapping, current)
    assert [(w.service_id, w.reason) for w in closed.withdrawn] == [
        (EXAMPLE_ID, "temporarily closed in the directory feed")
    ]


def test_a_service_missing_from_a_full_feed_is_marked_inactive_and_withdrawn() -> None:
    mapping = _mapping()
    current = demo_directory()
    exported = export_directory(current, mapping)
    gone = current.services[0]
    feed = Feed(services=[r for r in exported if r["id"] != oruk_id(gone.id)])
    plan = plan_import(
        feed, mapping, current, full=True, from_source=[s.id for s in current.services]
    )
    assert [(w.service_id, w.reason) for w in plan.withdrawn] == [
        (gone.id, "removed from the directory feed")
    ]
    after = apply_plan(current, plan)
    assert next(s for s in after.services if s.id == gone.id).status is ServiceStatus.INACTIVE
    partial = plan_import(feed, mapping, current)
    assert partial.withdrawn == []


def test_a_service_twice_in_one_feed_is_imported_once() -> None:
    doc = _broken()
    plan = plan_import(read_document([doc, doc]), default_mapping(), EMPTY)
    assert len(plan.services) == 1
    assert [str(p) for p in plan.refused] == [f"{SVC}: id: appears twice in the feed (refused)"]


def test_an_empty_full_feed_withdraws_nothing() -> None:
    current = demo_directory()
    plan = plan_import(
        Feed(), _mapping(), current, full=True, from_source=[s.id for s in current.services]
    )
    assert plan.withdrawn == []
    assert [str(p) for p in plan.problems] == [
        "feed (no id): (feed): lists no services; nothing was withdrawn (noted)"
    ]


TAXONOMY_SKIPPED = (
    "taxonomy 5c4d79d7-cc55-470e-9f1f-8cad074e4892: (record): a taxonomy holds no service or "
    "organisation; skipped (noted)"
)
TERM_SKIPPED = (
    "taxonomy_term 3f7b145d-84af-42d7-8fae-eaca714b02b2: (record): a taxonomy term holds no "
    "service or organisation; skipped (noted)"
)
DANGLING_TAXONOMY = (
    "taxonomy_term 3f7b145d-84af-42d7-8fae-eaca714b02b2: taxonomy_id: "
    "'07ff6aee-a219-438c-b694-d2fcb6c5373b' names no taxonomy in the tables (noted)"
)
DANGLING_LINK = (
    "attribute ae58cc39-8b70-4ab1-8aea-786882e5ac8e: link_id: "
    "'f28dd44b-0c4d-479f-8e90-4c52219a8b3c' names no record in the tables (dropped)"
)
FULL = [LATITUDE_100, NAME_TERM, MYCITY_AREA]
TABLES = [DANGLING_TAXONOMY, DANGLING_LINK, LATITUDE_100, MYCITY_AREA]
# Every example of the three folders: (services, organisations, problems) on import.
EVERY_EXAMPLE: dict[str, tuple[int, int, list[str]]] = {
    "location.json": (
        0,
        0,
        [
            "location 3a19ff88-4620-4d17-9830-ac1d859eb5d5: (record): a location without a "
            "service holds no service or organisation; skipped (noted)"
        ],
    ),
    "organization_full.json": (1, 1, FULL),
    "organization_list.json": (0, 1, []),
    "service_at_location_full.json": (1, 1, FULL),
    "service_at_location_list.json": (1, 1, [LATITUDE_100]),
    "service_full.json": (1, 1, FULL),
    "service_list.json": (1, 1, []),
    "tabular.json": (1, 1, TABLES),
    "taxonomy.json": (0, 0, [TAXONOMY_SKIPPED]),
    "taxonomy_list.json": (0, 0, [TAXONOMY_SKIPPED]),
    "taxonomy_term.json": (0, 0, [TERM_SKIPPED]),
    "taxonomy_term_list.json": (0, 0, [TERM_SKIPPED]),
}


@pytest.mark.parametrize(
    "example",
    [
        f"{folder}/{name}"
        for folder in ("uk-profile/examples", "oruk-website/3.0/examples", "hsds/examples")
        for name in sorted(EVERY_EXAMPLE)
        if (ORUK / folder / name).exists()
    ],
)
def test_every_example_file_imports_with_exactly_its_known_defects(example: str) -> None:
    services, organisations, problems = EVERY_EXAMPLE[example.rsplit("/", 1)[1]]
    plan = plan_import(read_document(load(example)), default_mapping(), EMPTY)
    assert (len(plan.services), len(plan.organisations)) == (services, organisations)
    assert [str(p) for p in plan.problems] == problems
    if services:
        assert plan.services[0].service.id == EXAMPLE_ID


def test_the_hsds_csv_tables_import_with_exactly_their_known_defects() -> None:
    folder = ORUK / "hsds/examples/csv"
    tables = {p.name: list(csv.DictReader(p.open(newline=""))) for p in folder.glob("*.csv")}
    plan = plan_import(feed_from_tables(tables), default_mapping(), EMPTY)
    assert [str(p) for p in plan.problems] == TABLES
    assert [i.service.id for i in plan.services] == [EXAMPLE_ID]


def test_an_api_details_document_points_to_its_services() -> None:
    with pytest.raises(ValueError, match=r"import its /services instead"):
        read_document(load("hsds/examples/base.json"))


def test_hsds_service_capacity_gives_places_unless_the_agency_said_more_lately() -> None:
    mapping = _mapping()
    doc = _broken()
    capacity = [
        {"id": "c1", "service_id": doc["id"], "available": 3, "updated": "2026-12-01T09:00:00Z"},
        {"id": "c2", "service_id": doc["id"], "available": 2, "updated": "2026-12-02T09:00:00Z"},
        {"id": "c3", "service_id": doc["id"], "available": "unknown"},
    ]
    first = _imported(read_document({**doc, "service_capacity": capacity}), mapping)
    [svc] = first.services
    assert svc.places_available == 5
    assert svc.capacity_updated_at is not None
    assert svc.capacity_updated_at.isoformat() == "2026-12-02T09:00:00+00:00"

    # The agency said "full" here after the feed's figure: a re-import keeps what it said.
    said_at = svc.capacity_updated_at.replace(day=5)
    current = first.model_copy(
        update={
            "services": [
                svc.model_copy(update={"places_available": 0, "capacity_updated_at": said_at})
            ]
        }
    )
    plan = plan_import(read_document({**doc, "service_capacity": capacity}), mapping, current)
    assert plan.services[0].service.places_available == 0
    # A newer figure in the feed wins; a feed without capacity leaves it as it was.
    newer = [{"available": 4, "updated": "2026-12-06T09:00:00Z"}]
    plan = plan_import(read_document({**doc, "service_capacity": newer}), mapping, current)
    assert plan.services[0].service.places_available == 4
    plan = plan_import(read_document(doc), mapping, current)
    assert plan.services[0].service.places_available == 0


def test_capacity_exported_as_hsds_3_1_imports_back_to_the_same_places() -> None:
    from datetime import UTC, datetime, timedelta

    from domain.oruk.export import service_capacity_records

    mapping = _mapping()
    doc = _broken()
    [svc] = _imported(read_document(doc), mapping).services
    now = datetime(2026, 12, 8, 10, tzinfo=UTC)
    assert service_capacity_records(svc, now) == []  # nothing said: nothing published
    said = svc.model_copy(update={"places_available": 3, "capacity_updated_at": now})
    records = service_capacity_records(said, now)
    assert [(r["available"], r["unit"]["name"], r["updated"]) for r in records] == [
        (3, "referral places", "2026-12-08T10:00:00Z")
    ]
    [back] = _imported(read_document({**doc, "service_capacity": records}), mapping).services
    assert (back.places_available, back.capacity_updated_at) == (3, now)
    # A full spell still running is published as no place available.
    full = said.model_copy(update={"full_until": now + timedelta(days=3)})
    assert service_capacity_records(full, now)[0]["available"] == 0
