"""The overview page: what is running, what waits on whom, what is late."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import func, select

from api.state import SESSIONS
from api.web.pages import PageCall, PageTable, render
from domain.access import Action
from domain.directory import ServiceStatus
from store.schema import OrganisationRow, ServiceRow

pages = PageTable()


class DirectorySummary(BaseModel):
    """How much of the directory can take referrals."""

    organisations: int
    active: int
    closed: int


@pages.page("GET", "/", summary="Overview of every running process", action=Action.VIEW_DASHBOARD)
async def overview(call: PageCall) -> web.StreamResponse:
    """Counts and lists that tell staff what needs attention."""
    async with call.request.app[SESSIONS]() as session:
        organisations = await session.scalar(select(func.count()).select_from(OrganisationRow))
        by_status = dict(
            (
                await session.execute(
                    select(ServiceRow.status, func.count()).group_by(ServiceRow.status)
                )
            ).all()
        )
    active = by_status.pop(ServiceStatus.ACTIVE.value, 0)
    directory = DirectorySummary(
        organisations=organisations or 0, active=active, closed=sum(by_status.values())
    )
    return render(call, "overview.html", directory=directory)
