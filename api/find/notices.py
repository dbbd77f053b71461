"""Starting residents' emails (confirmation, shortlist) through the Temporal door."""

from __future__ import annotations

from aiohttp import web

from api.http.state import TASK_QUEUE, TEMPORAL
from clients import temporal
from clients.temporal import TemporalUnavailable, connect
from domain.resident_notice import ResidentNotice, ResidentNoticeKind


async def start_resident_notice(app: web.Application, kind: str, ref: str) -> bool:
    """Start the email's workflow (once per notice); False when Temporal cannot take it."""
    notice = ResidentNotice(kind=ResidentNoticeKind(kind), ref=ref)
    try:
        client = await connect(app[TEMPORAL])
        await temporal.start_resident_notice(client, notice, task_queue=app[TASK_QUEUE])
    except TemporalUnavailable:
        return False
    return True
