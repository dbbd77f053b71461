"""A service's room for new referrals, as its agency says it: places available now, or full for
a number of working days (after declining for lack of capacity, say), which clears by itself.

What the agency says overrides the directory's listed capacity while it holds; routing, the
finder and the directory read the capacity *now* through :func:`directory_now`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from domain.calendar import add_working_days
from domain.directory import Capacity, Directory, Service
from domain.numbers import AS_WHOLE

LIMITED_PLACES = 2
"""At most this many places left: limited (ranked after services with more room)."""


class CapacityReport(BaseModel):
    """What an agency says of one service's room now. Both empty: back to the listing."""

    model_config = ConfigDict(extra="forbid")

    places_available: Annotated[int, Field(ge=0, le=100_000), AS_WHOLE] | None = Field(
        default=None, description="New referrals it can take now."
    )
    full_for_working_days: Annotated[int, Field(ge=1, le=60), AS_WHOLE] | None = Field(
        default=None,
        description="Full for this many working days from now, whatever the places say.",
    )


def reported(service: Service, report: CapacityReport, now: datetime) -> Service:
    """``service`` with ``report`` applied at ``now``."""
    full_until = (
        add_working_days(now, report.full_for_working_days)
        if report.full_for_working_days is not None
        else None
    )
    return service.model_copy(
        update={
            "places_available": report.places_available,
            "full_until": full_until,
            "capacity_updated_at": now,
        }
    )


def capacity_now(service: Service, now: datetime) -> Capacity:
    """The service's capacity at ``now``: full while a full spell lasts or no place is left,
    limited with few places, open with more; the listed capacity when its agency said nothing."""
    if service.full_until is not None and now < service.full_until:
        return Capacity.FULL
    places = service.places_available
    if places is None:
        return service.capacity
    if places == 0:
        return Capacity.FULL
    return Capacity.LIMITED if places <= LIMITED_PLACES else Capacity.OPEN


def directory_now(directory: Directory, now: datetime) -> tuple[Directory, datetime | None]:
    """The directory with each service's capacity as it is at ``now``, and when that next
    changes by itself (the end of the first full spell still running), if ever."""
    services: list[Service] = []
    for service in directory.services:
        now_capacity = capacity_now(service, now)
        services.append(
            service
            if now_capacity is service.capacity
            else service.model_copy(update={"capacity": now_capacity})
        )
    ends = [s.full_until for s in directory.services if s.full_until and s.full_until > now]
    changed = directory.model_copy(update={"services": services})
    return changed, min(ends, default=None)


def same_capacity_between(
    directory: Directory, moment: datetime
) -> tuple[datetime | None, datetime | None]:
    """The span around ``moment`` in which every service's capacity stays as it is then: from
    the last full spell to end at or before it, to the first to end after it (None: open)."""
    ends = [s.full_until for s in directory.services if s.full_until is not None]
    since = max((e for e in ends if e <= moment), default=None)
    until = min((e for e in ends if e > moment), default=None)
    return since, until
