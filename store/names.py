"""Display names for ids, read from the directory and the ward mapping."""

from __future__ import annotations

from sqlalchemy import select

from domain.labels import Names
from store.db import Sessions
from store.oruk import get_mapping
from store.schema import OrganisationRow, ServiceRow


async def read_names(sessions: Sessions) -> Names:
    """Every agency's, service's and ward's name by id."""
    async with sessions() as session:
        agencies = dict(
            (await session.execute(select(OrganisationRow.id, OrganisationRow.name))).all()
        )
        services = dict((await session.execute(select(ServiceRow.id, ServiceRow.name))).all())
    mapping = await get_mapping(sessions)
    return Names(agencies=agencies, services=services, wards={w.id: w.name for w in mapping.wards})
