"""The Open Referral UK 3.0 API over our directory: public, read-only, CORS-open.

ORUK's required endpoints (``/``, ``/services``, ``/services/{id}``) and the optional
organisation and taxonomy ones, under ``/oruk``. Every body is built by
``domain.oruk.export`` and validates against the published ORUK schemas.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, RootModel

from api.http.paging import Paging
from api.http.routing import Call, QueryDateTime, RouteTable
from api.http.state import SESSIONS
from domain.directory import Organisation, Service
from domain.oruk.export import (
    organisation_record,
    page,
    service_record,
    taxonomy_record,
    taxonomy_term_records,
)
from domain.oruk.importing import oruk_id
from domain.oruk.mapping import TAXONOMY_ID, category_term_id
from store.oruk import DirectorySnapshot, directory_snapshot

routes = RouteTable("oruk")

PREFIX = "/oruk"
ORUK_OPENAPI = "https://openreferraluk.org/specifications/3.0/openapi.json"
ORUK_PROFILE = "https://openreferraluk.org/specifications/3.0/"
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Allow-Headers": "*",
}


class ApiDetails(BaseModel):
    """ORUK ``GET /``: which standard this API speaks."""

    version: str
    profile: str
    openapi_url: str


class OrukPage(BaseModel):
    """An ORUK paginated response; ``contents`` holds ORUK records."""

    total_items: int
    total_pages: int
    page_number: int
    size: int
    first_page: bool
    last_page: bool
    empty: bool
    contents: list[dict[str, Any]]


class OrukRecord(RootModel[dict[str, Any]]):
    """One ORUK record (service, organization, taxonomy or taxonomy term)."""


class ServicesQuery(Paging):
    """ORUK ``/services`` filters."""

    text: str | None = Field(default=None, max_length=200, description="In name or description.")
    taxonomy_term_id: str | None = Field(default=None, max_length=100)
    taxonomy_id: str | None = Field(default=None, max_length=100)
    organization_id: str | None = Field(default=None, max_length=100)
    postcode: str | None = Field(default=None, max_length=10, description="Services serving it.")
    modified_after: QueryDateTime | None = None


class TermsQuery(Paging):
    """ORUK ``/taxonomy_terms`` filters."""

    taxonomy_id: str | None = Field(default=None, max_length=100)


def _json(body: object) -> web.Response:
    return web.Response(body=json.dumps(body, ensure_ascii=False), content_type="application/json")


def _page(items: list[dict[str, Any]], paging: Paging) -> web.Response:
    start = paging.offset
    contents = items[start : start + paging.per_page]
    return _json(
        page(contents, total=len(items), page_number=paging.page, per_page=paging.per_page)
    )


@web.middleware
async def oruk_cors(request: web.Request, handler: Any) -> web.StreamResponse:
    """ORUK asks for an open API any browser page may read: CORS for every origin."""
    if not request.path.startswith(PREFIX):
        response: web.StreamResponse = await handler(request)
        return response
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return web.Response(status=204, headers=_CORS)
    response = await handler(request)
    response.headers.update(_CORS)
    return response


def _matches(
    svc: Service, org: Organisation, query: ServicesQuery, snap: DirectorySnapshot
) -> bool:
    if query.text:
        needle = query.text.casefold()
        if not any(needle in t.casefold() for t in (svc.name, svc.description, org.name)):
            return False
    if query.taxonomy_term_id and query.taxonomy_term_id.lower() not in {
        category_term_id(c) for c in svc.categories
    }:
        return False
    if query.taxonomy_id and query.taxonomy_id.lower() != TAXONOMY_ID:
        return False
    if query.organization_id and query.organization_id.lower() != oruk_id(org.id):
        return False
    if query.postcode:
        ward = snap.mapping.ward_for_postcode(query.postcode)
        if not (svc.serves(ward) if ward else not svc.areas):
            return False
    if query.modified_after:
        stamp = snap.last_modified.get(svc.id)
        if stamp is None or stamp <= query.modified_after:
            return False
    return True


def _stamp(snap: DirectorySnapshot, svc: Service) -> datetime | None:
    return snap.last_modified.get(svc.id)


@routes.route(
    "GET", f"{PREFIX}/", summary="ORUK: details of this API", public=True, response=ApiDetails
)
async def oruk_details(_call: Call) -> web.Response:
    """Which HSDS profile and OpenAPI description this API follows."""
    return _json(
        ApiDetails(
            version="HSDS-UK-3.0", profile=ORUK_PROFILE, openapi_url=ORUK_OPENAPI
        ).model_dump()
    )


@routes.route(
    "GET",
    f"{PREFIX}/services",
    summary="ORUK: services, paged and filtered",
    public=True,
    query=ServicesQuery,
    response=OrukPage,
)
async def oruk_services(call: Call) -> web.Response:
    """Services with their organisation; filters: text, taxonomy term, organisation, postcode
    (services serving its ward), modified after."""
    query = call.query_as(ServicesQuery)
    snap = await directory_snapshot(call.request.app[SESSIONS])
    orgs = {o.id: o for o in snap.directory.organisations}
    items = [
        service_record(s, orgs[s.organisation_id], snap.mapping, _stamp(snap, s), nested=False)
        for s in snap.directory.services
        if _matches(s, orgs[s.organisation_id], query, snap)
    ]
    return _page(items, query)


@routes.route(
    "GET",
    f"{PREFIX}/services/{{id}}",
    summary="ORUK: one service in full",
    public=True,
    response=OrukRecord,
    errors=(404,),
)
async def oruk_service(call: Call) -> web.Response:
    """One service with its organisation, areas, location and taxonomy terms."""
    wanted = call.path("id").lower()
    snap = await directory_snapshot(call.request.app[SESSIONS])
    orgs = {o.id: o for o in snap.directory.organisations}
    for svc in snap.directory.services:
        if oruk_id(svc.id) == wanted or svc.id == wanted:
            return _json(
                service_record(svc, orgs[svc.organisation_id], snap.mapping, _stamp(snap, svc))
            )
    raise web.HTTPNotFound(reason="no service with that id")


@routes.route(
    "GET",
    f"{PREFIX}/organizations",
    summary="ORUK: organisations, paged",
    public=True,
    query=Paging,
    response=OrukPage,
)
async def oruk_organizations(call: Call) -> web.Response:
    """Every organisation of the directory."""
    snap = await directory_snapshot(call.request.app[SESSIONS])
    items = [organisation_record(o) for o in snap.directory.organisations]
    return _page(items, call.query_as(Paging))


@routes.route(
    "GET",
    f"{PREFIX}/organizations/{{id}}",
    summary="ORUK: one organisation with its services",
    public=True,
    response=OrukRecord,
    errors=(404,),
)
async def oruk_organization(call: Call) -> web.Response:
    """One organisation and the services it offers."""
    wanted = call.path("id").lower()
    snap = await directory_snapshot(call.request.app[SESSIONS])
    for org in snap.directory.organisations:
        if oruk_id(org.id) == wanted or org.id == wanted:
            services = [
                service_record(s, org, snap.mapping, _stamp(snap, s))
                for s in snap.directory.services
                if s.organisation_id == org.id
            ]
            for record in services:
                del record["organization"]
            return _json({**organisation_record(org), "services": services})
    raise web.HTTPNotFound(reason="no organization with that id")


@routes.route(
    "GET",
    f"{PREFIX}/taxonomies",
    summary="ORUK: taxonomies, paged",
    public=True,
    query=Paging,
    response=OrukPage,
)
async def oruk_taxonomies(call: Call) -> web.Response:
    """The taxonomy our services are classified by: partnerflow's need categories."""
    return _page([taxonomy_record()], call.query_as(Paging))


@routes.route(
    "GET",
    f"{PREFIX}/taxonomies/{{id}}",
    summary="ORUK: one taxonomy",
    public=True,
    response=OrukRecord,
    errors=(404,),
)
async def oruk_taxonomy(call: Call) -> web.Response:
    """One taxonomy by id."""
    if call.path("id").lower() != TAXONOMY_ID:
        raise web.HTTPNotFound(reason="no taxonomy with that id")
    return _json(taxonomy_record())


@routes.route(
    "GET",
    f"{PREFIX}/taxonomy_terms",
    summary="ORUK: taxonomy terms, paged",
    public=True,
    query=TermsQuery,
    response=OrukPage,
)
async def oruk_taxonomy_terms(call: Call) -> web.Response:
    """Every need category as a taxonomy term."""
    query = call.query_as(TermsQuery)
    terms = taxonomy_term_records()
    if query.taxonomy_id and query.taxonomy_id.lower() != TAXONOMY_ID:
        terms = []
    return _page(terms, query)


@routes.route(
    "GET",
    f"{PREFIX}/taxonomy_terms/{{id}}",
    summary="ORUK: one taxonomy term",
    public=True,
    response=OrukRecord,
    errors=(404,),
)
async def oruk_taxonomy_term(call: Call) -> web.Response:
    """One taxonomy term by id."""
    wanted = call.path("id").lower()
    for term in taxonomy_term_records():
        if term["id"] == wanted:
            return _json(term)
    raise web.HTTPNotFound(reason="no taxonomy term with that id")


def _service_at_locations(snap: DirectorySnapshot) -> list[dict[str, Any]]:
    orgs = {o.id: o for o in snap.directory.organisations}
    out = []
    for svc in snap.directory.services:
        org = orgs[svc.organisation_id]
        full = service_record(svc, org, snap.mapping, _stamp(snap, svc))
        flat = service_record(svc, org, snap.mapping, _stamp(snap, svc), nested=False)
        out += [{**sal, "service": flat} for sal in full["service_at_locations"]]
    return out


@routes.route(
    "GET",
    f"{PREFIX}/service_at_locations",
    summary="ORUK: where services are offered, paged",
    public=True,
    query=Paging,
    response=OrukPage,
)
async def oruk_service_at_locations(call: Call) -> web.Response:
    """Each service at the place residents can go to for it, with the service."""
    snap = await directory_snapshot(call.request.app[SESSIONS])
    return _page(_service_at_locations(snap), call.query_as(Paging))


@routes.route(
    "GET",
    f"{PREFIX}/service_at_locations/{{id}}",
    summary="ORUK: one service at a location",
    public=True,
    response=OrukRecord,
    errors=(404,),
)
async def oruk_service_at_location(call: Call) -> web.Response:
    """One service-at-location by id."""
    wanted = call.path("id").lower()
    snap = await directory_snapshot(call.request.app[SESSIONS])
    for record in _service_at_locations(snap):
        if record["id"] == wanted:
            return _json(record)
    raise web.HTTPNotFound(reason="no service at location with that id")
