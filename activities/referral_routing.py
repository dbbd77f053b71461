"""Routing a referral's need against the service directory, for the referral workflow.

The worker keeps the directory it last loaded and reloads it only when the store's
directory revision moves on, so routing costs the indexed lookup, not a load of every
service, and no workflow history carries the directory.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog
from temporalio import activity

from domain.capacity import directory_now, same_capacity_between
from domain.directory import Directory, ServiceStatus
from domain.referral_records import ROUTE_NEED, RouteRequest, RouteResult
from domain.routing import RouteChoice, best_service, route_consented
from store.db import Sessions
from store.directory import directory_revision, load_directory

log = structlog.get_logger(__name__)


class ReferralRouting:
    """The routing activity, with the directory loaded once per revision."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions
        self._loaded: tuple[int, Directory] | None = None
        # The directory as of a moment, the same from the last full spell's end to the next.
        self._now: tuple[int, datetime | None, datetime | None, Directory] | None = None
        self._loading = asyncio.Lock()

    async def directory(self, at: datetime | None = None) -> Directory:
        """The directory with each service's capacity as it is at ``at`` (default: now),
        reloaded only when its revision changed, re-read only when a full spell has ended."""
        revision = await directory_revision(self._sessions)
        moment = at or datetime.now(UTC)
        now = self._now
        if now is not None and now[0] == revision:
            since, until = now[1], now[2]
            if (since is None or since <= moment) and (until is None or moment < until):
                return now[3]
        async with self._loading:
            if self._loaded is None or self._loaded[0] != revision:
                # The revision was read before the load: a write in between shows as a newer
                # revision next time, so a copy is reloaded early but never kept stale.
                stored = await load_directory(self._sessions)
                self._loaded = (revision, stored)
                log.info("directory loaded", revision=revision, services=len(stored.services))
            directory, _ = directory_now(self._loaded[1], moment)
            since, until = same_capacity_between(self._loaded[1], moment)
            self._now = (self._loaded[0], since, until, directory)
            return directory

    @activity.defn(name=ROUTE_NEED)
    async def route_need(self, request: RouteRequest) -> RouteResult:
        """The best untried, active service with room for the need, with its reason; among the
        consented agencies, with the services to signpost to and a note on each candidate,
        when the request names the consent."""
        if request.service_id is not None:
            named = next(
                (
                    s
                    for s in (await self.directory(request.at)).services
                    if s.id == request.service_id
                ),
                None,
            )
            if named is None or named.status is not ServiceStatus.ACTIVE:
                return RouteResult()
            return RouteResult(
                choice=RouteChoice(service=named, reason="assigned by the co-ordinator")
            )
        if request.consent_agency_ids is not None:
            routing = route_consented(
                await self.directory(request.at),
                category=request.category,
                ward=request.ward,
                age=request.age,
                consent=set(request.consent_agency_ids),
                exclude=set(request.exclude),
                limit=request.limit,
            )
            return RouteResult(
                choice=routing.chosen[0] if routing.chosen else None, routing=routing
            )
        choice = best_service(
            await self.directory(request.at),
            category=request.category,
            ward=request.ward,
            age=request.age,
            exclude=set(request.exclude),
        )
        return RouteResult(choice=choice)
