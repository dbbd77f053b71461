"""The ORUK API over the shipped demo directory: every response valid against the published
ORUK schemas; the directory's own read, import and mapping endpoints."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from domain.access import Role
from domain.directory import NeedCategory
from domain.find import ServiceWords, search_terms
from domain.oruk.importing import oruk_id
from domain.oruk.mapping import TAXONOMY_ID, category_term_id
from domain.oruk.validation import schema_errors
from store.db import Sessions
from store.demo import demo_directory, load_demo_directory
from tests.helpers.oruk_files import EXAMPLE_ID, example_service, load


async def get_valid(api: TestClient, path: str, schema: str) -> Any:
    resp = await api.get(path)
    assert resp.status == 200, (path, await resp.text())
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    body = await resp.json()
    assert schema_errors(schema, body) == [], path
    return body


async def test_every_oruk_endpoint_answers_schema_valid_json(
    api: TestClient, sessions: Sessions
) -> None:
    await load_demo_directory(sessions)
    directory = demo_directory()
    details = await get_valid(api, "/oruk/", "api_details.json")
    assert details["version"] == "HSDS-UK-3.0"

    listing = await get_valid(api, "/oruk/services?per_page=5&page=2", "service_list.json")
    assert (listing["total_items"], listing["size"], listing["page_number"]) == (
        len(directory.services),
        5,
        2,
    )
    for item in listing["contents"]:
        assert schema_errors("service.json", item) == []
    every = await get_valid(api, "/oruk/services?per_page=500", "service_list.json")
    for item in every["contents"]:
        full = await get_valid(api, f"/oruk/services/{item['id']}", "service.json")
        assert full["attributes"], item["id"]

    orgs = await get_valid(api, "/oruk/organizations", "organization_list.json")
    assert orgs["total_items"] == len(directory.organisations)
    for org in orgs["contents"]:
        one = await get_valid(api, f"/oruk/organizations/{org['id']}", "organization.json")
        for svc in one["services"]:
            assert schema_errors("service.json", svc) == []
    taxonomies = await get_valid(api, "/oruk/taxonomies", "taxonomy_list.json")
    [taxonomy] = [t for t in taxonomies["contents"] if t["id"] == TAXONOMY_ID]
    await get_valid(api, f"/oruk/taxonomies/{taxonomy['id']}", "taxonomy.json")
    terms = await get_valid(
        api, f"/oruk/taxonomy_terms?taxonomy_id={taxonomy['id']}", "taxonomy_term_list.json"
    )
    assert terms["total_items"] == len(NeedCategory)
    await get_valid(api, f"/oruk/taxonomy_terms/{terms['contents'][0]['id']}", "taxonomy_term.json")


async def test_every_path_of_the_oruk_openapi_is_served_as_it_describes(
    api: TestClient, sessions: Sessions
) -> None:
    """Walk the published ORUK OpenAPI: each path, with ids from our own listings, answers
    JSON valid against the schema ORUK names for its 200 response."""
    await load_demo_directory(sessions)
    spec = load("oruk-website/3.0/openapi.json")
    ids = {
        "/services/{id}": "/oruk/services",
        "/organizations/{id}": "/oruk/organizations",
        "/taxonomies/{id}": "/oruk/taxonomies",
        "/taxonomy_terms/{id}": "/oruk/taxonomy_terms",
        "/service_at_locations/{id}": "/oruk/service_at_locations",
    }
    served = []
    for path, ops in spec["paths"].items():
        ref = ops["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        schema = ref.rsplit("/", 1)[1]
        if path in ids:
            listing = await get_valid(api, ids[path], schema.replace(".json", "_list.json"))
            assert listing["contents"], path
            concrete = path.replace("{id}", listing["contents"][0]["id"])
        else:
            concrete = path
        await get_valid(api, f"/oruk{concrete}", schema)
        served.append(path)
    assert len(served) == 11


async def test_oruk_filters(api: TestClient, sessions: Sessions) -> None:
    await load_demo_directory(sessions)
    directory = demo_directory()
    housing = category_term_id(NeedCategory.HOUSING)
    body = await get_valid(
        api, f"/oruk/services?taxonomy_term_id={housing}&per_page=500", "service_list.json"
    )
    expected = {oruk_id(s.id) for s in directory.services if NeedCategory.HOUSING in s.categories}
    assert {s["id"] for s in body["contents"]} == expected
    # ``text`` is the older name of ``search``: both find what the public finder finds.
    orgs = {o.id: o.name for o in directory.organisations}
    finder = {
        oruk_id(s.id)
        for s in directory.services
        if ServiceWords.of(s, orgs[s.organisation_id]).score(search_terms("tenancy"))
    }
    for name in ("text", "search"):
        body = await get_valid(
            api, f"/oruk/services?{name}=tenancy&per_page=500", "service_list.json"
        )
        assert {s["id"] for s in body["contents"]} == finder != set()
    body = await get_valid(api, "/oruk/services?search=zzzz-nothing", "service_list.json")
    assert (body["empty"], body["total_items"]) == (True, 0)
    resp = await api.get("/oruk/services?postcode=ZZ1%201ZZ")
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["field"] == "postcode"


async def test_oruk_refusals_and_cors(api: TestClient) -> None:
    assert (await api.get("/oruk/services/no-such-id")).status == 404
    assert (await api.get("/oruk/organizations/no-such-id")).status == 404
    assert (await api.get("/oruk/taxonomies/no-such-id")).status == 404
    assert (await api.get("/oruk/taxonomy_terms/no-such-id")).status == 404
    assert (await api.get("/oruk/services?page=0")).status == 422
    assert (await api.get("/oruk/services?color=red")).status == 422
    assert (await api.get("/oruk/services?modified_after=yesterday")).status == 422
    pre = await api.options(
        "/oruk/services",
        headers={"Origin": "https://viewer.example", "Access-Control-Request-Method": "GET"},
    )
    assert pre.status == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "*"


async def test_directory_services_are_public_without_partner_arrangements(
    api: TestClient, sessions: Sessions
) -> None:
    await load_demo_directory(sessions)
    resp = await api.get("/api/directory/services")
    assert resp.status == 200
    services = (await resp.json())["services"]
    assert len(services) == len(demo_directory().services)
    assert all("webhook_url" not in s and "response_days" not in s for s in services)


async def test_admin_imports_an_oruk_document_and_it_is_served_back(
    api: TestClient, bearer: Any
) -> None:
    admin = await bearer(Role.ADMIN)
    doc = example_service()
    dry = await api.post(
        "/api/directory/import", json={"document": doc, "dry_run": True}, headers=admin
    )
    assert dry.status == 200
    report = (await dry.json())["report"]
    assert report["created"] == [EXAMPLE_ID]
    assert [p["field"] for p in report["problems"]] == ["latitude", "attributes", "name"]
    assert (await api.get(f"/oruk/services/{EXAMPLE_ID}")).status == 404

    done = await api.post("/api/directory/import", json={"document": doc}, headers=admin)
    assert done.status == 200
    assert (await done.json())["rerouting_workflow_id"] is None
    served = await get_valid(api, f"/oruk/services/{EXAMPLE_ID}", "service.json")

    back = await api.post(
        "/api/directory/import", json={"document": served, "dry_run": True}, headers=admin
    )
    assert (await back.json())["report"]["unchanged"] == [EXAMPLE_ID]


async def test_import_refuses_what_it_cannot_read_and_withdrawals_without_temporal(
    api: TestClient, bearer: Any, sessions: Sessions
) -> None:
    admin = await bearer(Role.COORDINATOR)
    resp = await api.post("/api/directory/import", json={"document": {"x": 1}}, headers=admin)
    assert resp.status == 409
    assert "not an ORUK document" in (await resp.json())["error"]

    doc = example_service()
    await api.post("/api/directory/import", json={"document": doc}, headers=admin)
    closed = {**doc, "status": "inactive"}
    resp = await api.post("/api/directory/import", json={"document": closed}, headers=admin)
    assert resp.status == 503
    served = await get_valid(api, f"/oruk/services/{EXAMPLE_ID}", "service.json")
    assert served["status"] == "active"


async def test_coordinator_edits_the_mapping(api: TestClient, bearer: Any) -> None:
    coordinator = await bearer(Role.COORDINATOR)
    mapping = await (await api.get("/api/directory/mapping", headers=coordinator)).json()
    mapping["postcodes"] = {"CO15 1": "pier"}
    resp = await api.put("/api/directory/mapping", json=mapping, headers=coordinator)
    assert resp.status == 200
    assert (await resp.json())["postcodes"] == {"CO151": "pier"}
    mapping["postcodes"] = {"CO15": "atlantis"}
    resp = await api.put("/api/directory/mapping", json=mapping, headers=coordinator)
    assert resp.status == 409
    assert (await resp.json())["error"] == "postcodes name unknown wards: ['atlantis']"


async def test_a_refused_service_writes_nothing_not_even_its_organisation(
    api: TestClient, bearer: Any
) -> None:
    admin = await bearer(Role.ADMIN)
    doc = example_service()
    del doc["status"]
    assert isinstance(doc.get("organization"), dict)
    resp = await api.post("/api/directory/import", json={"document": doc}, headers=admin)
    assert resp.status == 200, await resp.text()
    report = (await resp.json())["report"]
    assert report["created"] == []
    refused = [p for p in report["problems"] if p["outcome"] == "refused"]
    assert [(p["record"], p["field"]) for p in refused] == [("service", "status")]
    listed = await (await api.get("/oruk/organizations")).json()
    assert listed["contents"] == []
    assert listed["total_items"] == 0
