"""Services' room for new referrals in the dashboard: an agency says how many places each of
its services has now, or that one is full for some working days; the directory's staff may say
it for any service. The same rule and store as ``PUT /api/services/{id}/capacity``."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import structlog
from aiohttp import web
from pydantic import ValidationError

from api.http.state import SESSIONS
from api.web.pages import PageCall, PageTable, render, require_form
from domain.access import Action, Role, may_report_capacity
from domain.capacity import CapacityReport, capacity_now
from domain.directory import Service
from store.directory import get_service, load_directory, report_capacity
from store.names import read_names

log = structlog.get_logger(__name__)
pages = PageTable()
_MESSAGES = {
    "places_available": "Enter the number of places, a whole number of 0 or more",
    "full_for_working_days": "Enter the number of working days, from 1 to 60, or leave it empty",
}


async def _services_for(call: PageCall) -> list[Service]:
    principal = call.me().principal
    directory = await load_directory(call.request.app[SESSIONS])
    if principal.role is Role.AGENCY:
        return [s for s in directory.services if s.agency_id == principal.agency_id]
    return list(directory.services)


async def _page(
    call: PageCall,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    failed: str = "",
    status: int = 200,
) -> web.Response:
    now = datetime.now(UTC)
    services = await _services_for(call)
    return render(
        call,
        "capacity.html",
        status,
        rows=[(s, capacity_now(s, now)) for s in sorted(services, key=lambda s: s.name)],
        names=await read_names(call.request.app[SESSIONS]),
        errors=errors or {},
        values=values or {},
        failed=failed,
        done=call.request.query.get("done", ""),
    )


@pages.page(
    "GET", "/capacity", summary="Services' room for referrals", action=Action.REPORT_CAPACITY
)
async def capacity_page(call: PageCall) -> web.StreamResponse:
    """Each of the agency's services (every service for the directory's staff): its capacity
    now, what was last said and when, and a form to say it again."""
    return await _page(call)


@pages.page(
    "POST",
    "/capacity/{service_id}",
    summary="Say how much room a service has",
    action=Action.REPORT_CAPACITY,
)
async def capacity_answer(call: PageCall) -> web.StreamResponse:
    """Keep what was said of one service; routing and the finder follow at once."""
    form = await require_form(call)
    service_id = call.request.match_info["service_id"]
    sessions = call.request.app[SESSIONS]
    service = await get_service(sessions, service_id)
    if service is None or not may_report_capacity(call.me().principal, service.agency_id):
        raise web.HTTPNotFound(reason="no such service")
    values = {f: form.get(f, "").strip() for f in _MESSAGES}
    try:
        report = CapacityReport.model_validate({k: v or None for k, v in values.items()})
    except ValidationError as exc:
        errors = {str(e["loc"][0]): _MESSAGES[str(e["loc"][0])] for e in exc.errors() if e["loc"]}
        return await _page(call, errors=errors, values=values, failed=service_id, status=400)
    await report_capacity(sessions, service_id, report, datetime.now(UTC))
    log.info("capacity reported", service=service_id, by=call.me().principal.subject)
    raise web.HTTPSeeOther("/capacity?" + urlencode({"done": f"{service.name} updated"}))
