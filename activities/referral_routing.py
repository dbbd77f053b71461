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

from domain.capacity import directory_now
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
        self._loaded: tuple[int, Directory, datetime | None] | None = None
        self._loading = asyncio.Lock()

    def _fresh(self, revision: int, now: datetime) -> bool:
        if self._loaded is None or self._loaded[0] != revision:
            return False
        until = self._loaded[2]
        return until is None or now < until

    async def directory(self) -> Directory:
        """The directory with each service's capacity as it is now, reloaded only when its
        revision changed or a full spell has ended since."""
        revision = await directory_revision(self._sessions)
        now = datetime.now(UTC)
        if self._loaded is not None and self._fresh(revision, now):
            return self._loaded[1]
        async with self._loading:
            if self._loaded is None or not self._fresh(revision, now):
                # The revision was read before the load: a write in between shows as a newer
                # revision next time, so a copy is reloaded early but never kept stale.
                directory, until = directory_now(await load_directory(self._sessions), now)
                self._loaded = (revision, directory, until)
                log.info("directory loaded", revision=revision, services=len(directory.services))
            return self._loaded[1]

    @activity.defn(name=ROUTE_NEED)
    async def route_need(self, request: RouteRequest) -> RouteResult:
        """The best untried, active service with room for the need, with its reason; among the
        consented agencies, with the services to signpost to and a note on each candidate,
        when the request names the consent."""
        if request.service_id is not None:
            named = next(
                (s for s in (await self.directory()).services if s.id == request.service_id),
                None,
            )
            if named is None or named.status is not ServiceStatus.ACTIVE:
                return RouteResult()
            return RouteResult(
                choice=RouteChoice(service=named, reason="assigned by the co-ordinator")
            )
        if request.consent_agency_ids is not None:
            routing = route_consented(
                await self.directory(),
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
            await self.directory(),
            category=request.category,
            ward=request.ward,
            age=request.age,
            exclude=set(request.exclude),
        )
        return RouteResult(choice=choice)
