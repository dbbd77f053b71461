"""Routing: which services of the directory suit a need, best first, and why.

Ranking is deterministic (the same directory and need always give the same order) so a
workflow replays identically, and each choice carries a sentence that is stored with the leg.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from domain.directory import Capacity, Directory, NeedCategory, Service, ServiceStatus

_CAPACITY_ORDER = {Capacity.OPEN: 0, Capacity.LIMITED: 1, Capacity.FULL: 2}


class RouteChoice(BaseModel):
    """A service that suits the need, and the reason in words."""

    model_config = ConfigDict(frozen=True)

    service: Service
    reason: str


def rank_services(
    directory: Directory,
    *,
    category: NeedCategory,
    ward: str,
    age: int | None,
    exclude: frozenset[str] | set[str] = frozenset(),
    include_full: bool = False,
) -> list[RouteChoice]:
    """Active services meeting ``category`` in ``ward`` for a resident of ``age``, best first.

    Services in ``exclude`` (already tried) are left out. Full services are left out unless
    ``include_full``, when they come last. Among the rest: open before limited capacity,
    services for the ward before borough-wide ones, services focused on fewer categories
    first (a specialist before a generalist), then by id so ties are stable.
    """
    choices: list[tuple[tuple[int, int, int, str], RouteChoice]] = []
    for service in directory.services:
        if service.id in exclude or service.status is not ServiceStatus.ACTIVE:
            continue
        if category not in service.categories or not service.serves(ward):
            continue
        if not service.eligibility.admits(age):
            continue
        if service.capacity is Capacity.FULL and not include_full:
            continue
        local = bool(service.areas)
        key = (
            _CAPACITY_ORDER[service.capacity],
            0 if local else 1,
            len(service.categories),
            service.id,
        )
        choices.append((key, RouteChoice(service=service, reason=_reason(service, category, ward))))
    choices.sort(key=lambda pair: pair[0])
    return [choice for _, choice in choices]


def _reason(service: Service, category: NeedCategory, ward: str) -> str:
    where = f"serves {ward}" if service.areas else "serves the whole borough"
    parts = [f"{service.name} meets {category.value.replace('_', ' ')}", where]
    parts.append(f"capacity {service.capacity.value}")
    eligibility = service.eligibility
    if eligibility.minimum_age is not None or eligibility.maximum_age is not None:
        low = eligibility.minimum_age if eligibility.minimum_age is not None else 0
        high = eligibility.maximum_age if eligibility.maximum_age is not None else "any"
        parts.append(f"age {low}-{high} eligible")
    return ", ".join(parts)


def best_service(
    directory: Directory,
    *,
    category: NeedCategory,
    ward: str,
    age: int | None,
    exclude: frozenset[str] | set[str] = frozenset(),
) -> RouteChoice | None:
    """The first ranked service, or None when no untried active service with room suits."""
    ranked = rank_services(directory, category=category, ward=ward, age=age, exclude=exclude)
    return ranked[0] if ranked else None
