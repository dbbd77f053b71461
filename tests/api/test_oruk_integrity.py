"""Import then serve: every record the ORUK API serves points only at records it serves."""

from __future__ import annotations

import csv
import json
from typing import Any

from aiohttp.test_utils import TestClient

from domain.oruk.importing import read_document
from domain.oruk.tabular import feed_from_tables
from store.db import Sessions
from store.demo import load_demo_directory
from store.oruk import import_feed
from tests.helpers.oruk_files import ORUK, load

ELIGIBILITY_OF_EXAMPLE = "6991d866-e78b-503a-b371-8753fbae5c3c"
EXAMPLES = (
    "uk-profile/examples/service_full.json",
    "uk-profile/examples/organization_full.json",
    "uk-profile/examples/service_at_location_list.json",
    "hsds/examples/service_full.json",
)


async def _every(api: TestClient, path: str) -> list[dict[str, Any]]:
    resp = await api.get(f"/oruk/{path}?format=ndjson")
    assert resp.status == 200, path
    return [json.loads(line) for line in (await resp.text()).splitlines()]


def _references(record: dict[str, Any], found: set[tuple[str, str]]) -> None:
    """Every (endpoint, id) a record and its nested records point at."""
    for key, value in record.items():
        if isinstance(value, dict):
            _references(value, found)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    _references(item, found)
        elif isinstance(value, str) and value:
            endpoint = {
                "organization_id": "organizations",
                "parent_organization_id": "organizations",
                "service_id": "services",
                "taxonomy_term_id": "taxonomy_terms",
                "parent_id": "taxonomy_terms",
                "taxonomy_id": "taxonomies",
            }.get(key)
            if endpoint:
                found.add((endpoint, value))
    if "taxonomy_term" in record and isinstance(record["taxonomy_term"], dict):
        found.add(("taxonomy_terms", record["taxonomy_term"]["id"]))
    if isinstance(record.get("organization"), dict):
        found.add(("organizations", record["organization"]["id"]))


async def test_after_importing_every_reference_is_served(
    api: TestClient, sessions: Sessions
) -> None:
    await load_demo_directory(sessions)
    for name in EXAMPLES:
        report = await import_feed(sessions, read_document(load(name)), source=name)
        assert report.refused == 0, name
        # The full examples' term "name" means no need category: not kept, and said so.
        dropped = [p.outcome for p in report.problems if p.field == "attributes"]
        assert dropped == (["dropped"] if name.endswith("_full.json") else []), name
    folder = ORUK / "hsds/examples/csv"
    tables = {p.name: list(csv.DictReader(p.open(newline=""))) for p in folder.glob("*.csv")}
    report = await import_feed(sessions, feed_from_tables(tables), source="hsds-csv")
    # The tables' dangling references are not kept, and the report says so.
    assert [(p.record, p.outcome) for p in report.problems if "in the tables" in p.reason] == [
        ("taxonomy_term", "noted"),
        ("attribute", "dropped"),
    ]

    references: set[tuple[str, str]] = set()
    served_locations: set[str] = set()
    for listed in await _every(api, "services"):
        resp = await api.get(f"/oruk/services/{listed['id']}")
        assert resp.status == 200
        _references(await resp.json(), references)
    for path in ("organizations", "taxonomy_terms", "service_at_locations", "taxonomies"):
        for record in await _every(api, path):
            _references(record, references)
            if path == "service_at_locations":
                served_locations.add(record["location"]["id"])
                assert record["location_id"] == record["location"]["id"]
    for org in await _every(api, "organizations"):
        resp = await api.get(f"/oruk/organizations/{org['id']}")
        _references(await resp.json(), references)
    assert {kind for kind, _ in references} >= {
        "organizations",
        "services",
        "taxonomy_terms",
        "taxonomies",
    }
    dangling = []
    for endpoint, rid in sorted(references):
        resp = await api.get(f"/oruk/{endpoint}/{rid}")
        if resp.status != 200:
            dangling.append((endpoint, rid, resp.status))
    assert dangling == []
    # The example service says who it is for: that term is served like the need categories.
    assert ("taxonomy_terms", ELIGIBILITY_OF_EXAMPLE) in references
    # Every location a service is offered at is served, inside its service-at-location.
    for listed in await _every(api, "services"):
        full = await (await api.get(f"/oruk/services/{listed['id']}")).json()
        for sal in full["service_at_locations"]:
            assert sal["location_id"] in served_locations
