"""Routing: which services of the directory suit a need, best first, and why.

Ranking is deterministic (the same directory and need always give the same order) so a
workflow replays identically, and each choice carries a sentence that is stored with the leg.

Every part of a service's rank (capacity, locality, focus, id) is fixed by the service
itself, so each directory is indexed once: per category, its active services in rank order
(sorted when the category is first asked for), and per (category, ward) the services serving
that ward. Routing one need then only
filters a short, pre-sorted list by age, tried services and capacity, and words the reason
only for the choices it returns.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

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
    limit: int | None = None,
) -> list[RouteChoice]:
    """Active services meeting ``category`` in ``ward`` for a resident of ``age``, best first.

    Services in ``exclude`` (already tried) are left out. Full services are left out unless
    ``include_full``, when they come last. Among the rest: open before limited capacity,
    services for the ward before borough-wide ones, services focused on fewer categories
    first (a specialist before a generalist), then by id so ties are stable. At most
    ``limit`` choices are returned when it is given.
    """
    chosen: list[RouteChoice] = []
    if limit is not None and limit <= 0:
        return chosen
    for service in _index(directory).candidates(category, ward):
        if service.capacity is Capacity.FULL and not include_full:
            # Full services rank last: nothing after them is wanted.
            break
        if service.id in exclude or not service.eligibility.admits(age):
            continue
        # Built from validated parts: skip validating them again.
        chosen.append(
            RouteChoice.model_construct(
                service=service, reason=route_reason(service, category, ward)
            )
        )
        if limit is not None and len(chosen) >= limit:
            break
    return chosen


def best_service(
    directory: Directory,
    *,
    category: NeedCategory,
    ward: str,
    age: int | None,
    exclude: frozenset[str] | set[str] = frozenset(),
) -> RouteChoice | None:
    """The first ranked service, or None when no untried active service with room suits."""
    ranked = rank_services(
        directory, category=category, ward=ward, age=age, exclude=exclude, limit=1
    )
    return ranked[0] if ranked else None


class CandidateNote(BaseModel):
    """One service routing looked at for a need, and whether and why it was chosen."""

    model_config = ConfigDict(frozen=True)

    service_id: str
    service_name: str
    agency_id: str
    chosen: bool
    why: str


class Routing(BaseModel):
    """Where a need can go: consented services to send it to (best first), else services to
    signpost the resident to, and a note on each candidate looked at."""

    model_config = ConfigDict(frozen=True)

    chosen: list[RouteChoice] = Field(default_factory=list)
    signposts: list[RouteChoice] = Field(default_factory=list)
    notes: list[CandidateNote] = Field(default_factory=list)
    others: int = Field(default=0, description="Candidates looked at beyond the notes.")

    def explanation(self) -> str:
        """Why each candidate was or was not chosen, in words (the need's reason)."""
        parts = [f"{note.service_name} ({note.agency_id}): {note.why}" for note in self.notes]
        if self.others:
            parts.append(f"{self.others} more candidates ranked lower")
        if not parts:
            return "no active service in the directory meets this need here"
        return "; ".join(parts)


SIGNPOST_LIMIT = 3
"""How many services a signposted resident is given."""
NOTE_LIMIT = 8
"""How many candidates a need's reason describes one by one."""


def route_consented(
    directory: Directory,
    *,
    category: NeedCategory,
    ward: str,
    age: int | None,
    consent: frozenset[str] | set[str],
    exclude: frozenset[str] | set[str] = frozenset(),
    limit: int = 1,
    signpost_limit: int = SIGNPOST_LIMIT,
) -> Routing:
    """Route a need among the agencies the resident consented to.

    The best ``limit`` untried, eligible services with room whose agency is in ``consent``
    are chosen, in rank order. Only when none is left are the best ``signpost_limit``
    suitable services of any agency returned for signposting. Every candidate looked at gets
    a note saying why it was or was not chosen (tried, not eligible, full, no consent).
    """
    chosen: list[RouteChoice] = []
    suitable: list[Service] = []
    notes: list[CandidateNote] = []
    others = 0
    candidates = _index(directory).candidates(category, ward)
    for position, service in enumerate(candidates):
        if len(chosen) >= limit and len(notes) >= NOTE_LIMIT:
            # Enough chosen and described: the rest rank lower, whatever they are.
            others += len(candidates) - position
            break
        if service.id in exclude:
            why = "already tried"
        elif not service.eligibility.admits(age):
            why = "not eligible at the resident's age"
        elif service.capacity is Capacity.FULL:
            why = "full"
        elif service.agency_id not in consent:
            why = "no consent"
            suitable.append(service)
        elif len(chosen) < limit:
            why = "chosen: " + route_reason(service, category, ward)
            chosen.append(
                RouteChoice.model_construct(service=service, reason=why.removeprefix("chosen: "))
            )
        else:
            why = "consented but ranked lower"
        if len(notes) < NOTE_LIMIT:
            notes.append(
                CandidateNote.model_construct(
                    service_id=service.id,
                    service_name=service.name,
                    agency_id=service.agency_id,
                    chosen=why.startswith("chosen"),
                    why=why,
                )
            )
        else:
            others += 1
    signposts: list[RouteChoice] = []
    if not chosen:
        signposts = [
            RouteChoice.model_construct(
                service=service, reason="signposted: " + route_reason(service, category, ward)
            )
            for service in suitable[:signpost_limit]
        ]
    return Routing.model_construct(chosen=chosen, signposts=signposts, notes=notes, others=others)


def rank_key(service: Service) -> tuple[int, int, int, str]:
    """Where a service ranks among those meeting a need (lower first)."""
    return (
        _CAPACITY_ORDER[service.capacity],
        0 if service.areas else 1,
        len(service.categories),
        service.id,
    )


def route_reason(service: Service, category: NeedCategory, ward: str) -> str:
    """Why ``service`` suits a need of ``category`` in ``ward``, in words."""
    where = f"serves {ward}" if service.areas else "serves the whole borough"
    parts = [f"{service.name} meets {category.value.replace('_', ' ')}", where]
    parts.append(f"capacity {service.capacity.value}")
    eligibility = service.eligibility
    if eligibility.minimum_age is not None or eligibility.maximum_age is not None:
        low = eligibility.minimum_age if eligibility.minimum_age is not None else 0
        high = eligibility.maximum_age if eligibility.maximum_age is not None else "any"
        parts.append(f"age {low}-{high} eligible")
    return ", ".join(parts)


@dataclass
class _Index:
    """One directory's services by category in rank order, and candidates per ward."""

    services: list[Service]
    size: int
    by_category: dict[NeedCategory, list[Service]]
    _sorted: set[NeedCategory] = field(default_factory=set)
    _by_ward: dict[tuple[NeedCategory, str], list[Service]] = field(default_factory=dict)

    @classmethod
    def build(cls, directory: Directory) -> _Index:
        by_category: dict[NeedCategory, list[Service]] = {}
        for service in directory.services:
            if service.status is not ServiceStatus.ACTIVE:
                continue
            for category in set(service.categories):
                by_category.setdefault(category, []).append(service)
        return cls(directory.services, len(directory.services), by_category)

    def fresh(self, directory: Directory) -> bool:
        return directory.services is self.services and len(directory.services) == self.size

    def candidates(self, category: NeedCategory, ward: str) -> list[Service]:
        """Active services of ``category`` serving ``ward``, in rank order."""
        key = (category, ward)
        found = self._by_ward.get(key)
        if found is None:
            services = self.by_category.get(category, [])
            if category not in self._sorted:
                # Sorted on first use: a directory loaded to route one need sorts one category.
                services.sort(key=rank_key)
                self._sorted.add(category)
            found = [s for s in services if s.serves(ward)]
            self._by_ward[key] = found
        return found


# Indexes live as long as their directory (weakly held), shared by every caller.
_indexes: dict[int, tuple[weakref.ref[Directory], _Index]] = {}
_lock = threading.Lock()


def _index(directory: Directory) -> _Index:
    key = id(directory)
    entry = _indexes.get(key)
    if entry is not None and entry[0]() is directory and entry[1].fresh(directory):
        return entry[1]
    index = _Index.build(directory)

    def forget(ref: weakref.ref[Directory]) -> None:
        with _lock:
            entry = _indexes.get(key)
            if entry is not None and entry[0] is ref:
                del _indexes[key]

    with _lock:
        _indexes[key] = (weakref.ref(directory, forget), index)
    return index
