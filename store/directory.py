"""Directory queries: load and save organisations and services."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.capacity import CapacityReport, reported
from domain.directory import Directory, Organisation, Service, ServiceStatus
from store.db import Sessions
from store.schema import DirectoryRevisionRow, OrganisationRow, ServiceRow

_REVISION_ID = 1


async def raise_revision(session: AsyncSession) -> None:
    """Mark the directory changed (in the caller's transaction, with the change itself)."""
    row = await session.get(DirectoryRevisionRow, _REVISION_ID, with_for_update=True)
    if row is None:
        session.add(DirectoryRevisionRow(id=_REVISION_ID, revision=1))
    else:
        row.revision += 1


async def directory_revision(sessions: Sessions) -> int:
    """The directory's revision: it changes whenever any organisation or service does."""
    async with sessions() as session:
        revision = await session.scalar(
            select(DirectoryRevisionRow.revision).where(DirectoryRevisionRow.id == _REVISION_ID)
        )
    return revision or 0


async def save_directory(session: AsyncSession, directory: Directory) -> None:
    """Insert or update every organisation and service of ``directory`` (in the caller's
    transaction); rows not mentioned are left as they are."""
    now = datetime.now(UTC)
    await merge_organisations(session, directory.organisations, now)
    for svc in directory.services:
        await session.merge(service_row(svc, now))


async def merge_organisations(
    session: AsyncSession, organisations: Iterable[Organisation], now: datetime
) -> None:
    """Raise the directory's revision and insert or update ``organisations`` (flushed, so
    their services may follow in the same transaction)."""
    await raise_revision(session)
    for org in organisations:
        await session.merge(
            OrganisationRow(
                id=org.id, name=org.name, data=org.model_dump(mode="json"), last_modified=now
            )
        )
    await session.flush()


def service_row(svc: Service, last_modified: datetime) -> ServiceRow:
    """The row that stores ``svc`` (its feed, if any, is set by the caller)."""
    return ServiceRow(
        id=svc.id,
        organisation_id=svc.organisation_id,
        name=svc.name,
        status=svc.status.value,
        capacity=svc.capacity.value,
        data=svc.model_dump(mode="json"),
        last_modified=last_modified,
    )


async def load_directory(sessions: Sessions) -> Directory:
    """The whole directory."""
    async with sessions() as session:
        orgs = (await session.scalars(select(OrganisationRow).order_by(OrganisationRow.id))).all()
        svcs = (await session.scalars(select(ServiceRow).order_by(ServiceRow.id))).all()
    return Directory(
        organisations=[Organisation.model_validate(o.data) for o in orgs],
        services=[Service.model_validate(s.data) for s in svcs],
    )


async def report_capacity(
    sessions: Sessions, service_id: str, report: CapacityReport, now: datetime
) -> Service | None:
    """Keep what the agency says of the service's room (raising the directory's revision, so
    routing and the finder read it at once); the service as stored, or None if unknown."""
    async with sessions.begin() as session:
        row = await session.get(ServiceRow, service_id, with_for_update=True)
        if row is None:
            return None
        service = reported(Service.model_validate(row.data), report, now)
        row.data = service.model_dump(mode="json")
        row.last_modified = now
        await raise_revision(session)
    return service


async def mark_full(sessions: Sessions, service_id: str, until: datetime) -> bool:
    """Mark the service full until ``until`` (a later spell already kept stays), leaving the
    places its agency said; whether the service is listed."""
    async with sessions.begin() as session:
        row = await session.get(ServiceRow, service_id, with_for_update=True)
        if row is None:
            return False
        service = Service.model_validate(row.data)
        if service.full_until is not None and service.full_until >= until:
            return True
        now = datetime.now(UTC)
        changed = service.model_copy(update={"full_until": until, "capacity_updated_at": now})
        row.data = changed.model_dump(mode="json")
        row.last_modified = now
        await raise_revision(session)
    return True


async def active_services(sessions: Sessions) -> list[Service]:
    """Services that may receive new referrals."""
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(ServiceRow)
                .where(ServiceRow.status == ServiceStatus.ACTIVE.value)
                .order_by(ServiceRow.id)
            )
        ).all()
    return [Service.model_validate(r.data) for r in rows]


async def get_service(sessions: Sessions, service_id: str) -> Service | None:
    """One service by id."""
    async with sessions() as session:
        row = await session.get(ServiceRow, service_id)
    return Service.model_validate(row.data) if row else None


async def known_agencies(sessions: Sessions, agency_ids: Iterable[str]) -> set[str]:
    """Those of ``agency_ids`` that are organisations of the directory."""
    wanted = set(agency_ids)
    if not wanted:
        return set()
    async with sessions() as session:
        found = await session.scalars(
            select(OrganisationRow.id).where(OrganisationRow.id.in_(sorted(wanted)))
        )
        return set(found.all())


async def directory_is_empty(sessions: Sessions) -> bool:
    """Whether no organisation has been loaded yet."""
    async with sessions() as session:
        return (await session.scalar(select(OrganisationRow.id).limit(1))) is None


__all__ = [
    "active_services",
    "directory_is_empty",
    "directory_revision",
    "get_service",
    "known_agencies",
    "load_directory",
    "mark_full",
    "raise_revision",
    "report_capacity",
    "save_directory",
]


async def organisation_exists(sessions: Sessions, organisation_id: str) -> bool:
    """Whether the directory holds organisation ``organisation_id``."""
    async with sessions() as session:
        found = await session.scalar(
            select(OrganisationRow.id).where(OrganisationRow.id == organisation_id)
        )
    return found is not None
