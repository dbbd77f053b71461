"""Open Referral UK in the store: the mapping, imports in one transaction, export reads."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.directory import Directory, Organisation, Service, ServiceWithdrawn
from domain.oruk.feed import Feed
from domain.oruk.importing import ImportPlan, plan_import
from domain.oruk.mapping import OrukMapping, Ward, default_mapping
from domain.oruk.validation import RecordProblem
from store.db import Sessions
from store.demo import demo_wards
from store.directory import merge_organisations, raise_revision, service_row
from store.schema import DirectoryMappingRow, OrganisationRow, ServiceRow

_MAPPING_ID = "default"


class ImportReport(BaseModel):
    """What one import did (or, in a dry run, would do)."""

    source: str
    dry_run: bool
    full: bool
    created: list[str] = Field(description="Ids of services new to the directory.")
    updated: list[str] = Field(description="Ids of services changed in place.")
    unchanged: list[str]
    organisations: int = Field(description="Organisations written.")
    withdrawn: list[ServiceWithdrawn] = Field(
        description="Services that stopped taking referrals; their open referrals are re-routed."
    )
    problems: list[RecordProblem]

    @property
    def refused(self) -> int:
        """How many records were refused."""
        return sum(1 for p in self.problems if p.refused)


@cache
def shipped_mapping() -> OrukMapping:
    """The default mapping, with the demonstration borough's wards (read once)."""
    return default_mapping([Ward(id=w.id, name=w.name) for w in demo_wards()])


async def _mapping(session: AsyncSession) -> OrukMapping:
    row = await session.get(DirectoryMappingRow, _MAPPING_ID)
    return OrukMapping.model_validate(row.data) if row else shipped_mapping()


async def get_mapping(sessions: Sessions) -> OrukMapping:
    """The mapping in force: the admin's, or the shipped default."""
    async with sessions() as session:
        return await _mapping(session)


async def set_mapping(sessions: Sessions, mapping: OrukMapping, *, by: str | None) -> None:
    """Replace the mapping (applies from the next import). The directory's revision rises:
    ward names in the published records come from the mapping."""
    async with sessions.begin() as session:
        await raise_revision(session)
        await session.merge(
            DirectoryMappingRow(
                id=_MAPPING_ID,
                data=mapping.model_dump(mode="json"),
                updated_at=datetime.now(UTC),
                updated_by=by,
            )
        )


async def _current(session: AsyncSession) -> tuple[Directory, dict[str, str | None]]:
    orgs = (await session.scalars(select(OrganisationRow).order_by(OrganisationRow.id))).all()
    svcs = (await session.scalars(select(ServiceRow).order_by(ServiceRow.id))).all()
    directory = Directory(
        organisations=[Organisation.model_validate(o.data) for o in orgs],
        services=[Service.model_validate(s.data) for s in svcs],
    )
    return directory, {s.id: s.source for s in svcs}


async def _write(session: AsyncSession, plan: ImportPlan, source: str) -> None:
    now = datetime.now(UTC)
    await merge_organisations(session, plan.organisations, now)
    unchanged = set(plan.unchanged)
    if unchanged:
        # An identical service still belongs to this feed from now on (a later full import
        # of it withdraws the service if the feed drops it).
        await session.execute(
            update(ServiceRow).where(ServiceRow.id.in_(unchanged)).values(source=source)
        )
    for item in plan.services:
        svc = item.service
        if svc.id in unchanged:
            continue
        row = service_row(svc, item.last_modified or now)
        row.source = source
        await session.merge(row)


async def import_feed(
    sessions: Sessions, feed: Feed, *, source: str, full: bool = False, dry_run: bool = False
) -> ImportReport:
    """Validate and import ``feed`` in one transaction (nothing written on a dry run).

    ``full``: the feed is the whole of ``source``, so services imported from it before and
    missing now are marked inactive.
    """
    async with sessions.begin() as session:
        mapping = await _mapping(session)
        current, sources = await _current(session)
        from_source = [sid for sid, src in sources.items() if src == source]
        plan = plan_import(feed, mapping, current, full=full, from_source=from_source)
        if not dry_run:
            await _write(session, plan, source)
        else:
            await session.rollback()
    unchanged = set(plan.unchanged)
    known = {s.id for s in current.services}
    return ImportReport(
        source=source,
        dry_run=dry_run,
        full=full,
        created=[i.service.id for i in plan.services if i.service.id not in known],
        updated=[
            i.service.id
            for i in plan.services
            if i.service.id in known and i.service.id not in unchanged
        ],
        unchanged=sorted(unchanged),
        organisations=len(plan.organisations),
        withdrawn=plan.withdrawn,
        problems=plan.problems,
    )


class DirectorySnapshot(BaseModel):
    """The directory with what the ORUK export needs besides it."""

    directory: Directory
    mapping: OrukMapping
    last_modified: dict[str, datetime]


async def directory_snapshot(sessions: Sessions) -> DirectorySnapshot:
    """The whole directory, its mapping and each service's last change, read at once."""
    async with sessions() as session:
        current, _ = await _current(session)
        mapping = await _mapping(session)
        stamps = (await session.execute(select(ServiceRow.id, ServiceRow.last_modified))).all()
    return DirectorySnapshot(
        directory=current, mapping=mapping, last_modified={sid: ts for sid, ts in stamps}
    )
