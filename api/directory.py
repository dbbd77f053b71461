"""The service directory: public read, ORUK imports and the ORUK mapping (admins, co-ordinators)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from api.http.errors import DomainRefusal
from api.http.routing import Call, RouteTable
from api.http.state import SESSIONS, TASK_QUEUE, TEMPORAL
from clients.temporal import connect, start_rerouting
from domain.access import Action, may_report_capacity
from domain.capacity import CapacityReport, capacity_now, directory_now
from domain.directory import (
    Capacity,
    Eligibility,
    NeedCategory,
    Service,
    ServiceStatus,
)
from domain.oruk.export import service_capacity_records
from domain.oruk.importing import read_document
from domain.oruk.mapping import OrukMapping
from store.directory import get_service, load_directory, report_capacity
from store.oruk import ImportReport, get_mapping, import_feed, set_mapping

log = structlog.get_logger(__name__)

routes = RouteTable("directory")


class ServiceView(BaseModel):
    """A service as anyone may see it (partner arrangements such as webhooks left out)."""

    id: str
    organisation_id: str
    organisation_name: str
    name: str
    description: str
    categories: list[NeedCategory]
    areas: list[str]
    eligibility: Eligibility
    capacity: Capacity
    """As it is now: full while a full spell lasts or no place is left."""
    places_available: int | None
    full_until: datetime | None
    capacity_updated_at: datetime | None
    status: ServiceStatus
    email: str | None
    phone: str | None
    url: HttpUrl | None
    address: str | None


class DirectoryServices(BaseModel):
    """Every service of the directory."""

    services: list[ServiceView]


class DirectoryImportRequest(BaseModel):
    """ORUK JSON to import: a service, a page of services, an organisation with its services,
    or a list of these (for feeds by URL and CSV tables use the CLI or the scheduled sync)."""

    model_config = ConfigDict(extra="forbid")

    document: dict[str, Any] | list[dict[str, Any]]
    source: str = Field(
        default="api", min_length=1, max_length=500, description="Name of the feed imported."
    )
    full: bool = Field(
        default=False,
        description="The document lists every service of `source`: missing ones are withdrawn.",
    )
    dry_run: bool = Field(default=False, description="Validate and report; write nothing.")


class DirectoryImportResult(BaseModel):
    """What an import did, and the run re-routing referrals off withdrawn services."""

    report: ImportReport
    rerouting_workflow_id: str | None = None


@routes.route(
    "GET",
    "/api/directory/services",
    summary="Every service of the directory",
    public=True,
    response=DirectoryServices,
)
async def list_services(call: Call) -> DirectoryServices:
    """The directory as residents and referrers see it: what each service offers and where."""
    directory, _ = directory_now(
        await load_directory(call.request.app[SESSIONS]), datetime.now(UTC)
    )
    names = {o.id: o.name for o in directory.organisations}
    return DirectoryServices(
        services=[
            ServiceView(
                organisation_name=names[s.organisation_id],
                **s.model_dump(
                    include={
                        "id",
                        "organisation_id",
                        "name",
                        "description",
                        "categories",
                        "areas",
                        "eligibility",
                        "capacity",
                        "places_available",
                        "full_until",
                        "capacity_updated_at",
                        "status",
                        "phone",
                        "url",
                        "address",
                    }
                ),
                email=str(s.email) if s.email else None,
            )
            for s in directory.services
        ]
    )


@routes.route(
    "POST",
    "/api/directory/import",
    summary="Import an ORUK document into the directory",
    action=Action.MANAGE_DIRECTORY,
    body=DirectoryImportRequest,
    response=DirectoryImportResult,
    errors=(409, 503),
)
async def import_directory(call: Call) -> DirectoryImportResult:
    """Validate every record, import the valid ones in one transaction (nothing on a dry run),
    and re-route open referrals off services that stopped taking referrals."""
    req = call.body_as(DirectoryImportRequest)
    try:
        feed = read_document(req.document)
    except ValueError as exc:
        raise DomainRefusal(str(exc)) from None
    app = call.request.app
    sessions = app[SESSIONS]
    if not req.dry_run:
        # Withdrawals must reach the referrals: refuse before writing if Temporal is away.
        preview = await import_feed(sessions, feed, source=req.source, full=req.full, dry_run=True)
        if preview.withdrawn:
            await connect(app[TEMPORAL])
    report = await import_feed(
        sessions, feed, source=req.source, full=req.full, dry_run=req.dry_run
    )
    workflow_id = None
    if report.withdrawn and not req.dry_run:
        client = await connect(app[TEMPORAL])
        workflow_id = await start_rerouting(client, app[TASK_QUEUE], report.withdrawn)
    return DirectoryImportResult(report=report, rerouting_workflow_id=workflow_id)


@routes.route(
    "GET",
    "/api/directory/mapping",
    summary="The ORUK mapping (taxonomy terms, areas, postcodes)",
    action=Action.MANAGE_DIRECTORY,
    response=OrukMapping,
)
async def read_mapping(call: Call) -> OrukMapping:
    """Which ORUK taxonomy terms mean which need category, and which areas and postcodes
    mean which ward."""
    return await get_mapping(call.request.app[SESSIONS])


@routes.route(
    "PUT",
    "/api/directory/mapping",
    summary="Replace the ORUK mapping",
    action=Action.MANAGE_DIRECTORY,
    body=OrukMapping,
    response=OrukMapping,
    errors=(409,),
)
async def replace_mapping(call: Call) -> OrukMapping:
    """Replace the mapping; it applies from the next import or sync."""
    mapping = call.body_as(OrukMapping)
    problems = mapping.inconsistencies()
    if problems:
        raise DomainRefusal("; ".join(problems))
    await set_mapping(call.request.app[SESSIONS], mapping, by=call.user().subject)
    return mapping


class ServiceCapacity(BaseModel):
    """A service's room for new referrals: what its agency last said, and what that makes it."""

    service_id: str
    capacity: Capacity = Field(description="As it is now, the rule routing applies.")
    places_available: int | None
    full_until: datetime | None
    capacity_updated_at: datetime | None
    service_capacity: list[dict[str, Any]] = Field(
        description="The same as HSDS 3.1 service_capacity records (unit: referral places), "
        "as a directory that reads HSDS 3.1 imports them."
    )


def _capacity_of(service: Service, now: datetime) -> ServiceCapacity:
    return ServiceCapacity(
        service_id=service.id,
        capacity=capacity_now(service, now),
        places_available=service.places_available,
        full_until=service.full_until,
        capacity_updated_at=service.capacity_updated_at,
        service_capacity=service_capacity_records(service, now),
    )


@routes.route(
    "GET",
    "/api/services/{service_id}/capacity",
    summary="A service's room for new referrals",
    public=True,
    response=ServiceCapacity,
    errors=(404,),
)
async def service_capacity(call: Call) -> ServiceCapacity:
    """What the service's agency last said of its room, and the capacity routing uses now."""
    service = await get_service(call.request.app[SESSIONS], call.path("service_id"))
    if service is None:
        raise web.HTTPNotFound(reason="no such service")
    return _capacity_of(service, datetime.now(UTC))


class CapacityExport(BaseModel):
    """Every service's room now, as HSDS 3.1 ``service_capacity`` records."""

    service_capacity: list[dict[str, Any]]


@routes.route(
    "GET",
    "/api/directory/service_capacity",
    summary="Every service's room now, as HSDS 3.1 service_capacity records",
    public=True,
    response=CapacityExport,
)
async def export_service_capacity(call: Call) -> CapacityExport:
    """Services whose agency has said how much room they have: one record each, with the
    ORUK id the directory's feed gives the service. Importing them back keeps the figures."""
    now = datetime.now(UTC)
    directory = await load_directory(call.request.app[SESSIONS])
    return CapacityExport(
        service_capacity=[
            record for svc in directory.services for record in service_capacity_records(svc, now)
        ]
    )


@routes.route(
    "PUT",
    "/api/services/{service_id}/capacity",
    summary="Say how much room a service has",
    action=Action.REPORT_CAPACITY,
    body=CapacityReport,
    strict_body=True,
    response=ServiceCapacity,
    errors=(404,),
)
async def report_service_capacity(call: Call) -> ServiceCapacity:
    """Places available now (0: full; a few: limited), or full for some working days (it
    clears by itself); both empty goes back to the directory's listing. The service's own
    agency says it, or the staff who keep the directory; routing and the finder follow at once.
    """
    user = call.user()
    sessions = call.request.app[SESSIONS]
    service_id = call.path("service_id")
    service = await get_service(sessions, service_id)
    if service is None or not may_report_capacity(user, service.agency_id):
        raise web.HTTPNotFound(reason="no such service")
    now = datetime.now(UTC)
    saved = await report_capacity(sessions, service_id, call.body_as(CapacityReport), now)
    if saved is None:
        raise web.HTTPNotFound(reason="no such service")
    log.info("capacity reported", service=service_id, by=user.subject)
    return _capacity_of(saved, now)
