"""The overview page: what is running, what waits on whom, what is late."""

from __future__ import annotations

from aiohttp import web

from api.http.state import SESSIONS
from api.web.pages import PageCall, PageTable, render
from domain.access import Action, may
from store.overview import read_overview

pages = PageTable()


@pages.page("GET", "/", summary="Overview of every running process", action=Action.VIEW_DASHBOARD)
async def overview(call: PageCall) -> web.StreamResponse:
    """Counts and lists that tell staff what needs attention."""
    return render(
        call,
        "overview.html",
        overview=await read_overview(call.request.app[SESSIONS]),
        sees_partnerships=may(call.me().principal, Action.READ_PARTNERSHIPS),
        sees_sign_ins=may(call.me().principal, Action.READ_STATISTICS),
    )
