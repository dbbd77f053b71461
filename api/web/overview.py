"""The overview page: what is running, what waits on whom, what is late."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from api.http.state import SESSIONS
from api.web.pages import PageCall, PageTable, render
from domain.access import Action, may, sees_agency_workload
from domain.labels import SOURCE_NAMES
from domain.waiting import Party
from store.names import read_names
from store.overview import read_overview
from store.trends import referrals_by_week

pages = PageTable()


@pages.page("GET", "/", summary="Overview of every running process", action=Action.VIEW_DASHBOARD)
async def overview(call: PageCall) -> web.StreamResponse:
    """Counts and lists that tell staff what needs attention."""
    sessions = call.request.app[SESSIONS]
    principal = call.me().principal
    figures = await read_overview(sessions)
    figures.waiting = [
        line
        for line in figures.waiting
        if sees_agency_workload(principal, line.who if line.party is Party.AGENCY else None)
    ]
    now = datetime.now(UTC)
    sees_charts = may(principal, Action.READ_STATISTICS)
    return render(
        call,
        "overview.html",
        overview=figures,
        weeks=await referrals_by_week(sessions, now=now) if sees_charts else [],
        sees_charts=sees_charts,
        source_names=SOURCE_NAMES,
        names=await read_names(sessions),
        now=now,
        sees_partnerships=may(call.me().principal, Action.READ_PARTNERSHIPS),
        sees_sign_ins=may(call.me().principal, Action.READ_STATISTICS),
    )
