"""The Open Referral UK 3.0 API over our directory: public, read-only, CORS-open.

ORUK's required endpoints (``/``, ``/services``, ``/services/{id}``) and the optional
organisation and taxonomy ones, under ``/oruk``. Every body is built by
``domain.oruk.export`` and validates against the published ORUK schemas.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, time
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, RootModel

from api.find.places import postcode_place
from api.http.errors import DomainRefusal
from api.http.paging import Paging
from api.http.routing import Call, RouteTable
from api.http.state import SESSIONS
from domain.directory import Organisation
from domain.oruk.export import page
from domain.oruk.query import Listed, OrukIndex, ServiceFilter, record_matches
from domain.postcodes import normalise_postcode
from domain.service_details import Weekday
from store.directory import directory_revision
from store.oruk import directory_snapshot

_BYDAY = {day.value[:2].upper(): day for day in Weekday}


def _date_time(value: object) -> object:
    # ORUK says only "datetime": take RFC 3339, a date alone (its midnight) or a time without
    # an offset (UTC), and refuse anything else by name rather than guess.
    if not isinstance(value, str):
        return value
    try:
        # An unescaped "+01:00" arrives as " 01:00".
        parsed = datetime.fromisoformat(re.sub(r" (\d\d:\d\d)$", r"+\1", value.strip()))
    except ValueError:
        raise ValueError(
            "expected a date-time such as 2026-11-23T09:00:00Z, or a date such as 2026-11-23"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _day(value: object) -> object:
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    day = _BYDAY.get(text.upper()) or next((d for d in Weekday if d.value == text), None)
    if day is None:
        raise ValueError("expected a day of the week, e.g. monday or MO")
    return day.value


def _clock(value: object) -> object:
    # Opening hours are the venue's wall clock: an offset ("09:00Z") is read and dropped.
    if not isinstance(value, str):
        return value
    try:
        return time.fromisoformat(value.strip()).replace(tzinfo=None)
    except ValueError:
        raise ValueError("expected a time of day, e.g. 09:00 or 17:30:00") from None


OrukDateTime = Annotated[AwareDatetime, BeforeValidator(_date_time)]
# Text in the schema (our OpenAPI lists query parameters without shared definitions).
OrukDay = Annotated[str, BeforeValidator(_day)]
OrukTime = Annotated[time, BeforeValidator(_clock)]

routes = RouteTable("oruk")

PREFIX = "/oruk"
NDJSON = "application/x-ndjson"
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


class ListQuery(Paging):
    """What every ORUK list takes besides paging: words to search, and the format."""

    search: str | None = Field(
        default=None, max_length=200, description="Words in the name or description."
    )
    format: Literal["json", "ndjson"] = Field(
        default="json", description="ndjson: every result, one record a line, no paging."
    )


class ServiceListQuery(ListQuery):
    """The filters of ``/services`` and ``/service_at_locations``."""

    taxonomy_term_id: str | None = Field(default=None, max_length=100)
    taxonomy_id: str | None = Field(default=None, max_length=100)
    organization_id: str | None = Field(default=None, max_length=100)
    modified_after: OrukDateTime | None = Field(default=None, description="On or after.")
    full: bool = Field(default=False, description="Fully nested records.")
    postcode: str | None = Field(
        default=None, max_length=10, description="Services covering it (their areas)."
    )
    proximity: float | None = Field(
        default=None, gt=0, le=1_000_000, description="Metres from the postcode's point."
    )
    minimum_age: float | None = Field(
        default=None, ge=0, le=130, description="Services whose minimum age is at least this."
    )
    maximum_age: float | None = Field(
        default=None, ge=0, le=130, description="Services whose maximum age is at most this."
    )
    day: OrukDay | None = Field(default=None, description="Open on this day (monday or MO).")
    start_time: OrukTime | None = Field(default=None, description="Opening at or after.")
    end_time: OrukTime | None = Field(default=None, description="Closing at or before.")


class ServicesQuery(ServiceListQuery):
    """ORUK ``/services`` filters and shapes."""

    text: str | None = Field(
        default=None, max_length=200, description="The older name of search (same meaning)."
    )
    minimal: bool = Field(
        default=False, description="Only id, name, status and last_modified; one page."
    )


class OrganizationsQuery(ListQuery):
    """ORUK ``/organizations`` shapes."""

    full: bool = Field(default=False, description="Each organization with its services.")
    full_service: bool = Field(
        default=False, description="Each organization with its services in full."
    )


class OrganizationQuery(BaseModel):
    """ORUK ``/organizations/{id}`` shape."""

    model_config = ConfigDict(extra="forbid")

    full_service: bool = Field(
        default=True, description="Its services in full (false: as list items)."
    )


class TermsQuery(ListQuery):
    """ORUK ``/taxonomy_terms`` filters."""

    taxonomy_id: str | None = Field(default=None, max_length=100)
    top_only: bool = Field(default=False, description="Only terms without a parent.")
    parent_id: str | None = Field(default=None, max_length=100)


class OrukCache:
    """The ORUK index at one directory revision, shared by the requests."""

    def __init__(self) -> None:
        self.revision = -1
        self.index: OrukIndex | None = None
        self.lock = asyncio.Lock()


ORUK_INDEX = web.AppKey("oruk_index", OrukCache)


async def oruk_index(app: web.Application) -> OrukIndex:
    """The directory prepared for the ORUK API, rebuilt only when the directory changed."""
    cache = app[ORUK_INDEX]
    revision = await directory_revision(app[SESSIONS])
    if cache.index is None or cache.revision != revision:
        async with cache.lock:
            if cache.index is None or cache.revision != revision:
                snap = await directory_snapshot(app[SESSIONS])
                cache.index = OrukIndex(snap.directory, snap.mapping, snap.last_modified)
                cache.revision = revision
    assert cache.index is not None
    return cache.index


def _json(body: object) -> web.Response:
    return web.Response(body=json.dumps(body, ensure_ascii=False), content_type="application/json")


def _page(items: list[dict[str, Any]], query: ListQuery, *, whole: bool = False) -> web.Response:
    """A page of ``items``; every item, one a line, for ndjson; one page of all for
    ``whole`` when the caller set no page size."""
    if query.format == "ndjson":
        lines = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items)
        return web.Response(text=lines, content_type=NDJSON)
    if whole and "per_page" not in query.model_fields_set:
        return _json(page(items, total=len(items), page_number=1, per_page=max(1, len(items))))
    start = query.offset
    contents = items[start : start + query.per_page]
    return _json(page(contents, total=len(items), page_number=query.page, per_page=query.per_page))


def _refuse(field: str, message: str) -> DomainRefusal:
    return DomainRefusal(
        f"{field}: {message}",
        status=422,
        detail=[{"field": field, "message": message, "type": "value_error"}],
    )


@web.middleware
async def oruk_cors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Answer a browser's CORS preflight for any ``/oruk`` path."""
    if (
        _is_oruk(request.path)
        and request.method == "OPTIONS"
        and "Access-Control-Request-Method" in request.headers
    ):
        return web.Response(status=204, headers=_CORS)
    response: web.StreamResponse = await handler(request)
    return response


def _is_oruk(path: str) -> bool:
    return path == PREFIX or path.startswith(f"{PREFIX}/")


async def oruk_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """ORUK asks for an open API any browser page may read: CORS for every origin on every
    answer under ``/oruk``, errors included, so a browser client sees the reason."""
    if _is_oruk(request.path):
        response.headers.update(_CORS)


async def _filter(call: Call, query: ServiceListQuery, index: OrukIndex) -> ServiceFilter:
    if query.proximity is not None and not query.postcode:
        raise _refuse("proximity", "needs a postcode to measure from")
    ward = None
    origin = None
    if query.postcode:
        postcode = normalise_postcode(query.postcode)
        if postcode is None:
            raise _refuse("postcode", f"{query.postcode!r} is not a UK postcode")
        place = await postcode_place(call.request.app, postcode, index.mapping)
        if place is None:
            ward = index.mapping.ward_for_postcode(postcode)
            if ward is None or query.proximity is not None:
                raise _refuse("postcode", f"{postcode} is not a postcode we know the place of")
        else:
            ward = place.ward
            if place.latitude is not None and place.longitude is not None:
                origin = (place.latitude, place.longitude)
    search = query.search or (query.text if isinstance(query, ServicesQuery) else None) or ""
    return ServiceFilter(
        search=search,
        taxonomy_term_id=query.taxonomy_term_id,
        taxonomy_id=query.taxonomy_id,
        organization_id=query.organization_id,
        modified_after=query.modified_after,
        covering=bool(query.postcode),
        ward=ward,
        origin=origin,
        proximity=query.proximity,
        minimum_age=query.minimum_age,
        maximum_age=query.maximum_age,
        day=Weekday(query.day) if query.day else None,
        start_time=query.start_time,
        end_time=query.end_time,
    )


def _details() -> web.Response:
    return _json(
        ApiDetails(
            version="HSDS-UK-3.0", profile=ORUK_PROFILE, openapi_url=ORUK_OPENAPI
        ).model_dump()
    )


@routes.route(
    "GET", f"{PREFIX}/", summary="ORUK: details of this API", public=True, response=ApiDetails
)
async def oruk_details(_call: Call) -> web.Response:
    """Which HSDS profile and OpenAPI description this API follows."""
    return _details()


@routes.route(
    "GET",
    PREFIX,
    summary="ORUK: details of this API (the base URL without its slash)",
    public=True,
    response=ApiDetails,
)
async def oruk_details_base(_call: Call) -> web.Response:
    """The same answer as ``/oruk/``: a validator given the base URL reads it here."""
    return _details()


def _minimal(record: dict[str, Any]) -> dict[str, Any]:
    # ORUK's list schema requires name and status beside the id and date asked for.
    keep = ("id", "name", "status", "last_modified")
    return {k: record[k] for k in keep if k in record}


@routes.route(
    "GET",
    f"{PREFIX}/services",
    summary="ORUK: services, paged and filtered",
    public=True,
    query=ServicesQuery,
    response=OrukPage,
    also_content_types=(NDJSON,),
)
async def oruk_services(call: Call) -> web.Response:
    """Services with their organisation, filtered by every parameter ORUK and its UK profile
    publish; nearest first from a postcode, best match first for a search."""
    query = call.query_as(ServicesQuery)
    index = await oruk_index(call.request.app)
    found = index.select(await _filter(call, query, index))
    if query.minimal:
        return _page([_minimal(index.flat(m)) for m in found], query, whole=True)
    if query.full:
        return _page([index.full(m) for m in found], query)
    return _page([index.flat(m) for m in found], query)


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
    index = await oruk_index(call.request.app)
    listed = index.service(call.path("id"))
    if listed is None:
        raise web.HTTPNotFound(reason="no service with that id")
    return _json(index.full(listed))


def _with_services(index: OrukIndex, org: Organisation, *, full: bool) -> dict[str, Any]:
    services = []
    for listed in index.services_of(org):
        record = dict(index.full(listed) if full else index.flat(listed))
        del record["organization"]
        services.append(record)
    return {**index.organisation_record(org), "services": services}


@routes.route(
    "GET",
    f"{PREFIX}/organizations",
    summary="ORUK: organisations, paged",
    public=True,
    query=OrganizationsQuery,
    response=OrukPage,
    also_content_types=(NDJSON,),
)
async def oruk_organizations(call: Call) -> web.Response:
    """Every organisation of the directory; ``full`` adds its services, ``full_service``
    adds them in full."""
    query = call.query_as(OrganizationsQuery)
    index = await oruk_index(call.request.app)
    items = []
    for org in index.organisations:
        record = index.organisation_record(org)
        if query.search and not record_matches(record, query.search):
            continue
        if query.full or query.full_service:
            record = _with_services(index, org, full=query.full_service)
        items.append(record)
    return _page(items, query)


@routes.route(
    "GET",
    f"{PREFIX}/organizations/{{id}}",
    summary="ORUK: one organisation with its services",
    public=True,
    query=OrganizationQuery,
    response=OrukRecord,
    errors=(404,),
)
async def oruk_organization(call: Call) -> web.Response:
    """One organisation and the services it offers (in full unless ``full_service=false``)."""
    query = call.query_as(OrganizationQuery)
    index = await oruk_index(call.request.app)
    org = index.organisation(call.path("id"))
    if org is None:
        raise web.HTTPNotFound(reason="no organization with that id")
    return _json(_with_services(index, org, full=query.full_service))


@routes.route(
    "GET",
    f"{PREFIX}/taxonomies",
    summary="ORUK: taxonomies, paged",
    public=True,
    query=ListQuery,
    response=OrukPage,
    also_content_types=(NDJSON,),
)
async def oruk_taxonomies(call: Call) -> web.Response:
    """The taxonomies our services are classified by: need categories and eligibility."""
    query = call.query_as(ListQuery)
    index = await oruk_index(call.request.app)
    items = [t for t in index.taxonomies if not query.search or record_matches(t, query.search)]
    return _page(items, query)


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
    index = await oruk_index(call.request.app)
    wanted = call.path("id").lower()
    for taxonomy in index.taxonomies:
        if taxonomy["id"] == wanted:
            return _json(taxonomy)
    raise web.HTTPNotFound(reason="no taxonomy with that id")


@routes.route(
    "GET",
    f"{PREFIX}/taxonomy_terms",
    summary="ORUK: taxonomy terms, paged",
    public=True,
    query=TermsQuery,
    response=OrukPage,
    also_content_types=(NDJSON,),
)
async def oruk_taxonomy_terms(call: Call) -> web.Response:
    """Every term a service points at: the need categories and each service's eligibility."""
    query = call.query_as(TermsQuery)
    index = await oruk_index(call.request.app)
    taxonomy = query.taxonomy_id.lower() if query.taxonomy_id else None
    parent = query.parent_id.lower() if query.parent_id else None
    items = [
        t
        for t in index.terms
        if (taxonomy is None or t.get("taxonomy_id") == taxonomy)
        and (parent is None or t.get("parent_id") == parent)
        and not (query.top_only and t.get("parent_id"))
        and (not query.search or record_matches(t, query.search))
    ]
    return _page(items, query)


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
    index = await oruk_index(call.request.app)
    term = index.term(call.path("id"))
    if term is None:
        raise web.HTTPNotFound(reason="no taxonomy term with that id")
    return _json(term)


def _service_at_locations(index: OrukIndex, listed: Listed, *, full: bool) -> list[dict[str, Any]]:
    if listed.place is None:
        return []
    record = index.full(listed)
    service = record if full else index.flat(listed)
    return [{**sal, "service": service} for sal in record["service_at_locations"]]


@routes.route(
    "GET",
    f"{PREFIX}/service_at_locations",
    summary="ORUK: where services are offered, paged and filtered",
    public=True,
    query=ServiceListQuery,
    response=OrukPage,
    also_content_types=(NDJSON,),
)
async def oruk_service_at_locations(call: Call) -> web.Response:
    """Each service at the place residents can go to for it, with the service; the filters
    of ``/services``."""
    query = call.query_as(ServiceListQuery)
    index = await oruk_index(call.request.app)
    found = index.select(await _filter(call, query, index))
    items = [sal for m in found for sal in _service_at_locations(index, m, full=query.full)]
    return _page(items, query)


@routes.route(
    "GET",
    f"{PREFIX}/service_at_locations/{{id}}",
    summary="ORUK: one service at a location",
    public=True,
    response=OrukRecord,
    errors=(404,),
)
async def oruk_service_at_location(call: Call) -> web.Response:
    """One service-at-location by id, with its service."""
    wanted = call.path("id").lower()
    index = await oruk_index(call.request.app)
    listed = index.service_at(wanted)
    for record in _service_at_locations(index, listed, full=False) if listed else []:
        if record["id"] == wanted:
            return _json(record)
    raise web.HTTPNotFound(reason="no service at location with that id")
