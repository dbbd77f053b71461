"""The ORUK API as another finder calls it: every query parameter of the two published OpenAPI
descriptions accepted and doing what they say, distance, ages and days, CORS on errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient

from domain.directory import Directory, NeedCategory
from domain.find import distance_miles
from domain.oruk.importing import oruk_id
from domain.oruk.mapping import ELIGIBILITY_TAXONOMY_ID, category_term_id
from domain.oruk.validation import schema_errors
from store.db import Sessions
from store.demo import load_demo_postcodes
from store.directory import save_directory
from tests.helpers.oruk_files import load

SPECS = ("oruk-website/3.0/openapi.json", "uk-profile/schema/openapi.json")
ORIGIN = (51.7938, 1.1672)  # the demonstration borough's sector CO15 6, in Pier ward
POSTCODE = "CO15 6AB"  # not listed itself: found through its sector
LIST_SCHEMAS = {
    "/services": ("service_list.json", "service.json"),
    "/service_at_locations": ("service_at_location_list.json", "service_at_location.json"),
    "/organizations": ("organization_list.json", "organization.json"),
    "/taxonomies": ("taxonomy_list.json", "taxonomy.json"),
    "/taxonomy_terms": ("taxonomy_term_list.json", "taxonomy_term.json"),
}


def _service(sid: str, org: str, north: float | None, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = extra.pop("details", {})
    if north is not None:
        details |= {"latitude": ORIGIN[0] + north, "longitude": ORIGIN[1]}
    return {
        "id": sid,
        "organisation_id": org,
        "email": f"{sid}@example.org",
        "address": "1 High Street, Clacton-on-Sea CO15 1AA",
        "details": details,
        **extra,
    }


ORGS = [
    {"id": "pier-trust", "name": "Pier Advice Trust", "description": "Advice on the seafront."},
    {"id": "far-org", "name": "Holland Wellbeing", "description": "Up the coast."},
]
# About 300 m, 1.5 km and 8 km north of CO15 6; one near but for another ward; one with no point.
FIRST = [
    _service(
        "near",
        "pier-trust",
        0.0027,
        name="Debt advice drop-in",
        description="Help with bills and arrears.",
        categories=["benefits_debt"],
        eligibility={"minimum_age": 16, "maximum_age": 25, "description": "Young people"},
        details={"opening_times": [{"weekday": "monday", "opens": "09:00", "closes": "17:00"}]},
    ),
    _service(
        "mid",
        "pier-trust",
        0.0135,
        name="Tenancy help",
        description="Keeping a home.",
        categories=["housing"],
        areas=["pier"],
        details={"opening_times": [{"weekday": "saturday", "opens": "10:00", "closes": "13:00"}]},
    ),
    _service(
        "far",
        "far-org",
        0.072,
        name="Walking group",
        description="Weekly walks for older residents.",
        categories=["health"],
        eligibility={"minimum_age": 60},
    ),
    _service(
        "elsewhere",
        "pier-trust",
        0.0045,
        name="Jaywick pantry",
        description="Food for families.",
        categories=["family_support"],
        areas=["st-james"],
    ),
]
LATER = [
    _service(
        "nopoint",
        "far-org",
        None,
        name="Swimming club",
        description="Lessons at the pool.",
        categories=["leisure"],
    )
]
ALL = {"near", "mid", "far", "elsewhere", "nopoint"}
COVERING = ["near", "mid", "far", "nopoint"]  # the postcode's ward, nearest first


async def _directory(sessions: Sessions) -> datetime:
    """The test directory in two saves; the moment between them."""
    await load_demo_postcodes(sessions)
    async with sessions.begin() as session:
        await save_directory(
            session, Directory.model_validate({"organisations": ORGS, "services": FIRST})
        )
    await asyncio.sleep(0.02)
    between = datetime.now(UTC)
    await asyncio.sleep(0.02)
    async with sessions.begin() as session:
        await save_directory(
            session, Directory.model_validate({"organisations": ORGS, "services": LATER})
        )
    return between


Body = dict[str, Any]
Check = Callable[[Body, list[Body]], None]


def ours(items: list[Body]) -> list[str]:
    """Our service ids of ORUK service (or service-at-location) records, in order."""
    by_oruk = {oruk_id(s): s for s in ALL}
    return [by_oruk[i.get("service_id") or i["id"]] for i in items]


def ids(expected: set[str] | list[str]) -> Check:
    def check(_body: Body, items: list[Body]) -> None:
        found = ours(items)
        if isinstance(expected, list):
            assert found == expected
        else:
            assert set(found) == expected

    return check


def shaped(test: Callable[[Body], bool], count: int | None = None) -> Check:
    def check(_body: Body, items: list[Body]) -> None:
        assert items
        assert all(test(i) for i in items), items[:1]
        if count is not None:
            assert len(items) == count

    return check


def paged(_body: Body, items: list[Body]) -> None:
    assert (_body["page_number"], _body["size"], len(items)) == (2, 1, 1)


def every_line(count: int) -> Check:
    def check(body: Body, items: list[Body]) -> None:
        assert body == {}
        assert len(items) == count

    return check


def minimal(body: Body, items: list[Body]) -> None:
    assert set(ours(items)) == ALL
    assert body["total_pages"] == 1
    assert all(set(i) <= {"id", "name", "status", "last_modified"} for i in items)


def no_items(_body: Body, items: list[Body]) -> None:
    assert items == []


def _services(item: Body) -> Body:
    return item.get("service", item)


HOUSING = category_term_id(NeedCategory.HOUSING)


def samples(between: datetime) -> dict[str, dict[str, tuple[str, Check]]]:
    """Per list path, each documented parameter's query and what the answer must be."""
    stamp = quote(between.isoformat())
    services: dict[str, tuple[str, Check]] = {
        "search": ("search=debt", ids({"near"})),
        "page": ("page=2&per_page=1", paged),
        "per_page": ("page=2&per_page=1", paged),
        "format": ("format=ndjson", every_line(len(ALL))),
        "taxonomy_term_id": (f"taxonomy_term_id={HOUSING}", ids({"mid"})),
        "taxonomy_id": (f"taxonomy_id={ELIGIBILITY_TAXONOMY_ID}", ids({"near"})),
        "organization_id": (f"organization_id={oruk_id('far-org')}", ids({"far", "nopoint"})),
        "modified_after": (f"modified_after={stamp}", ids({"nopoint"})),
        "minimal": ("minimal=true", minimal),
        "full": ("full=true", shaped(lambda i: "attributes" in _services(i), len(ALL))),
        "postcode": (f"postcode={quote(POSTCODE)}", ids(COVERING)),
        "proximity": (f"postcode={quote(POSTCODE)}&proximity=2000", ids(["near", "mid"])),
        "minimum_age": ("minimum_age=16", ids({"near", "far"})),
        "maximum_age": ("maximum_age=25", ids({"near"})),
        "day": ("day=saturday", ids({"mid"})),
        "start_time": ("start_time=10:00", ids({"mid"})),
        "end_time": ("end_time=13:00", ids({"mid"})),
    }
    organisations: dict[str, tuple[str, Check]] = {
        "search": ("search=trust", shaped(lambda o: o["id"] == oruk_id("pier-trust"), 1)),
        "page": ("page=2&per_page=1", paged),
        "per_page": ("page=2&per_page=1", paged),
        "format": ("format=ndjson", every_line(len(ORGS))),
        "full": ("full=true", shaped(lambda o: "attributes" not in o["services"][0], 2)),
        "full_service": ("full_service=true", shaped(lambda o: "attributes" in o["services"][0])),
    }
    taxonomies: dict[str, tuple[str, Check]] = {
        "search": (
            "search=eligibility",
            shaped(lambda t: t["id"] == ELIGIBILITY_TAXONOMY_ID, 1),
        ),
        "page": ("page=2&per_page=1", paged),
        "per_page": ("page=2&per_page=1", paged),
        "format": ("format=ndjson", every_line(2)),
    }
    terms: dict[str, tuple[str, Check]] = {
        "search": ("search=housing", shaped(lambda t: t["id"] == HOUSING, 1)),
        "page": ("page=2&per_page=1", paged),
        "per_page": ("page=2&per_page=1", paged),
        # Every need category and the one service that says who it is for.
        "format": ("format=ndjson", every_line(len(NeedCategory) + 1)),
        "taxonomy_id": (
            f"taxonomy_id={ELIGIBILITY_TAXONOMY_ID}",
            shaped(lambda t: t["name"] == "Young people", 1),
        ),
        "top_only": ("top_only=true", shaped(lambda t: "parent_id" not in t)),
        "parent_id": (f"parent_id={HOUSING}", no_items),  # our taxonomies are flat
    }
    return {
        "/services": services,
        "/service_at_locations": services,
        "/organizations": organisations,
        "/taxonomies": taxonomies,
        "/taxonomy_terms": terms,
    }


def _parameters(spec: dict[str, Any], op: dict[str, Any]) -> list[str]:
    shared = spec.get("components", {}).get("parameters", {})
    names = []
    for p in op.get("parameters", []):
        p = shared[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
        if p["in"] == "query":
            names.append(p["name"])
    return names


async def _answer(api: TestClient, url: str) -> tuple[Body, list[Body], str]:
    resp = await api.get(url)
    text = await resp.text()
    assert resp.status == 200, (url, text)
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    if resp.content_type == "application/x-ndjson":
        return {}, [json.loads(line) for line in text.splitlines()], "ndjson"
    body = json.loads(text)
    return body, body.get("contents", []), "json"


async def test_every_documented_parameter_is_served_as_documented(
    api: TestClient, sessions: Sessions
) -> None:
    """Both published OpenAPI files, every list path, every query parameter they document:
    a parameter added to either spec fails here until it is served."""
    table = samples(await _directory(sessions))
    asked = 0
    for name in SPECS:
        spec = load(name)
        for path, ops in spec["paths"].items():
            params = _parameters(spec, ops["get"])
            if path == "/organizations/{id}":
                one = f"/oruk/organizations/{oruk_id('pier-trust')}"
                for value, nested in (("true", True), ("false", False)):
                    body, _, _ = await _answer(api, f"{one}?full_service={value}")
                    assert schema_errors("organization.json", body) == []
                    assert ("attributes" in body["services"][0]) is nested
                assert params == ["full_service"]
                asked += 1
                continue
            if "{id}" in path or path == "/":
                assert params == [], (name, path, params)
                continue
            page_schema, item_schema = LIST_SCHEMAS[path]
            for param in params:
                if param not in table[path]:
                    pytest.fail(f"{name} documents {param!r} on {path}: not served yet")
                query, check = table[path][param]
                body, items, kind = await _answer(api, f"/oruk{path}?{query}")
                if kind == "json":
                    assert schema_errors(page_schema, body) == [], (path, query)
                for item in items:
                    assert schema_errors(item_schema, item) == [], (path, query)
                check(body, items)
                asked += 1
    assert asked >= 60


async def test_distance_from_a_postcode_cuts_and_orders(
    api: TestClient, sessions: Sessions
) -> None:
    await _directory(sessions)
    near = f"/oruk/services?postcode={quote(POSTCODE)}"
    _body, items, _ = await _answer(api, near)
    assert ours(items) == COVERING  # nearest first; no point last; another ward's left out
    for metres, expected in ((400, ["near"]), (2000, ["near", "mid"]), (9000, COVERING[:3])):
        _, items, _ = await _answer(api, f"{near}&proximity={metres}")
        assert ours(items) == expected, metres
        for item in items:
            svc = next(s for s in FIRST if oruk_id(s["id"]) == item["id"])
            point = (svc["details"]["latitude"], svc["details"]["longitude"])
            assert distance_miles(ORIGIN, point) * 1609.344 <= metres
    _, sals, _ = await _answer(api, "/oruk/service_at_locations?postcode=CO156AB&proximity=400")
    assert ours(sals) == ["near"]

    for url, field in (
        ("/oruk/services?postcode=ZZ1%201ZZ", "postcode"),
        ("/oruk/services?postcode=not-one", "postcode"),
        ("/oruk/services?proximity=500", "proximity"),
        (f"{near}&proximity=far", "proximity"),
        (f"{near}&proximity=-5", "proximity"),
    ):
        resp = await api.get(url)
        assert resp.status == 422, url
        problem = await resp.json()
        assert [d["field"] for d in problem["detail"]] == [field], url


async def test_age_day_and_time_against_services_with_and_without_them(
    api: TestClient, sessions: Sessions
) -> None:
    await _directory(sessions)
    for query, expected in (
        ("minimum_age=0", ALL),  # no minimum is 0
        ("minimum_age=17", {"far"}),
        ("maximum_age=130", {"near"}),  # no maximum is never at most a value
        ("minimum_age=16&maximum_age=25", {"near"}),
        ("day=MO", {"near"}),
        ("day=Sunday", set()),
        ("day=monday&start_time=09:00&end_time=17:00", {"near"}),
        ("day=monday&start_time=09:30", set()),
        ("end_time=17:00", {"near", "mid"}),
        ("start_time=10:00:00Z", {"mid"}),  # an offset is read and dropped: a venue's clock
    ):
        _, items, _ = await _answer(api, f"/oruk/services?{query}")
        assert set(ours(items)) == expected, query
    for query, field in (
        ("minimum_age=young", "minimum_age"),
        ("maximum_age=-1", "maximum_age"),
        ("day=someday", "day"),
        ("start_time=9am", "start_time"),
        ("end_time=25:00", "end_time"),
        ("modified_after=last-week", "modified_after"),
        ("full=perhaps", "full"),
        ("format=xml", "format"),
    ):
        resp = await api.get(f"/oruk/service_at_locations?{query}")
        assert resp.status == 422, query
        assert [d["field"] for d in (await resp.json())["detail"]] == [field], query


async def test_a_refused_browser_request_still_shows_its_reason(
    api: TestClient, sessions: Sessions
) -> None:
    await _directory(sessions)
    origin = {"Origin": "https://finder.example.org"}
    for url, status in (
        ("/oruk/services/no-such-id", 404),
        ("/oruk/no-such-list", 404),
        ("/oruk/services?minimum_age=old", 422),
        ("/oruk/services?postcode=ZZ1%201ZZ", 422),
        ("/oruk/taxonomy_terms?colour=red", 422),
    ):
        resp = await api.get(url, headers=origin)
        assert resp.status == status, url
        assert resp.headers["Access-Control-Allow-Origin"] == "*", url
        assert (await resp.json())["error"], url
    pre = await api.options(
        "/oruk/services",
        headers={**origin, "Access-Control-Request-Method": "GET"},
    )
    assert (pre.status, pre.headers["Access-Control-Allow-Origin"]) == (204, "*")


async def test_the_base_url_without_its_slash_answers_as_with_it(api: TestClient) -> None:
    bare, slashed = await api.get("/oruk"), await api.get("/oruk/")
    assert bare.status == slashed.status == 200
    assert await bare.json() == await slashed.json()
    assert schema_errors("api_details.json", await bare.json()) == []
    assert bare.headers["Access-Control-Allow-Origin"] == "*"
