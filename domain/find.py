"""Finding a service on the public signposting website: filters, ranking and distance.

Pure rules over the directory. The website builds one :class:`FinderIndex` per directory
revision (lower-cased text and coordinates worked out once) and asks it for a page of
results; each search is then a single pass over the active services.

Order: suitability first (how well the words match, a service for the resident's own ward
before a borough-wide one, room to take people), then distance from the place searched, then
name, so the same search always gives the same order.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from domain.directory import Capacity, Directory, NeedCategory, Service, ServiceStatus
from domain.find_words import NEED_WORDS
from domain.service_details import Weekday

EARTH_RADIUS_MILES = 3958.8
_NO_LIMIT = 1000
_CAPACITY_ORDER = {Capacity.OPEN: 0, Capacity.LIMITED: 1, Capacity.FULL: 2}
_WORD = re.compile(r"[a-z0-9]+")


class Place(BaseModel):
    """Where the resident searched from: a ward and, for a postcode, a point."""

    model_config = ConfigDict(frozen=True)

    label: str
    ward: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class FinderQuery(BaseModel):
    """What the resident asked for; every filter is optional."""

    model_config = ConfigDict(frozen=True)

    need: NeedCategory | None = None
    keywords: str = Field(default="", max_length=200)
    age: int | None = Field(default=None, ge=0, le=130)
    free_only: bool = False
    open_on: Weekday | None = None
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=10, ge=1, le=50)


@dataclass(frozen=True, slots=True)
class Found:
    """One result: the service, its organisation's name and how far it is."""

    service: Service
    organisation: str
    miles: float | None
    local: bool


@dataclass(frozen=True, slots=True)
class FinderPage:
    """A page of results and how many matched in all."""

    total: int
    page: int
    per_page: int
    items: list[Found]

    @property
    def pages(self) -> int:
        """How many pages the results fill."""
        return max(1, math.ceil(self.total / self.per_page))


@dataclass(frozen=True, slots=True)
class ServiceWords:
    """A service's searchable words: its name and organisation's, then its description and
    needs. The finder and the Open Referral UK ``search`` parameter both score with it."""

    name_words: frozenset[str]
    text_words: frozenset[str]
    name_stems: frozenset[str]
    text_stems: frozenset[str]

    @classmethod
    def of(cls, service: Service, organisation: str) -> ServiceWords:
        """The words of ``service``, offered by the organisation named ``organisation``."""
        category_words = " ".join(NEED_WORDS[c].search_text for c in service.categories)
        name_words = frozenset(words(f"{service.name} {organisation}"))
        text_words = frozenset(words(f"{service.description} {category_words}"))
        return cls(name_words, text_words, _stems(name_words), _stems(text_words))

    def score(self, wanted: list[tuple[str, str]]) -> int:
        """How well ``wanted`` (from :func:`search_terms`) matches: 2 a word in the name, 1 in
        the description; 0 is no match."""
        score = 0
        for word, stem in wanted:
            if word in self.name_words or stem in self.name_stems:
                score += 2
            elif word in self.text_words or stem in self.text_stems:
                score += 1
        return score


def search_terms(keywords: str) -> list[tuple[str, str]]:
    """The words of a search (one letter ones dropped), each with its stem."""
    return [(w, _stem(w)) for w in words(keywords) if len(w) > 1]


@dataclass(frozen=True, slots=True)
class _Entry:
    service: Service
    organisation: str
    vocabulary: ServiceWords
    categories: frozenset[NeedCategory]
    capacity_rank: int
    point: tuple[float, float] | None
    areas: frozenset[str]
    min_age: int
    max_age: int
    free: bool
    open_days: frozenset[Weekday]
    sort_name: str


def words(text: str) -> list[str]:
    """The lower-case words of ``text``."""
    return _WORD.findall(text.lower())


class FinderIndex:
    """A directory's active services prepared for searching."""

    def __init__(self, directory: Directory) -> None:
        names = {o.id: o.name for o in directory.organisations}
        entries = []
        for service in directory.services:
            if service.status is not ServiceStatus.ACTIVE:
                continue
            organisation = names.get(service.organisation_id, "")
            details = service.details
            point = (
                (details.latitude, details.longitude)
                if details.latitude is not None and details.longitude is not None
                else None
            )
            entries.append(
                _Entry(
                    service=service,
                    organisation=organisation,
                    vocabulary=ServiceWords.of(service, organisation),
                    categories=frozenset(service.categories),
                    capacity_rank=_CAPACITY_ORDER[service.capacity],
                    point=point,
                    areas=frozenset(service.areas),
                    min_age=service.eligibility.minimum_age or 0,
                    max_age=_NO_LIMIT
                    if service.eligibility.maximum_age is None
                    else service.eligibility.maximum_age,
                    free=details.free is True,
                    open_days=frozenset(o.weekday for o in details.opening_times),
                    sort_name=service.name.lower(),
                )
            )
        self._entries = entries
        # Most searches name a need: they scan only that need's services.
        self._by_need: dict[NeedCategory, list[_Entry]] = {}
        for entry in entries:
            for category in entry.categories:
                self._by_need.setdefault(category, []).append(entry)

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, query: FinderQuery, place: Place | None = None) -> FinderPage:
        """The page of services matching ``query`` near ``place``, best first."""
        wanted = search_terms(query.keywords)
        ward = place.ward if place else None
        origin = (
            (place.latitude, place.longitude)
            if place and place.latitude is not None and place.longitude is not None
            else None
        )
        ranked: list[tuple[tuple[int, int, int, float, str], _Entry, float | None]] = []
        candidates = self._entries if query.need is None else self._by_need.get(query.need, [])
        age = query.age
        for entry in candidates:
            if ward is not None and entry.areas and ward not in entry.areas:
                continue
            if age is not None and not entry.min_age <= age <= entry.max_age:
                continue
            if query.free_only and not entry.free:
                continue
            if query.open_on is not None and query.open_on not in entry.open_days:
                continue
            score = 0
            if wanted:
                score = entry.vocabulary.score(wanted)
                if score == 0:
                    continue
            miles = (
                distance_miles(origin, entry.point)
                if origin is not None and entry.point is not None
                else None
            )
            local = bool(ward is not None and entry.areas)
            key = (
                -score,
                0 if local else 1,
                entry.capacity_rank,
                miles if miles is not None else math.inf,
                entry.sort_name,
            )
            ranked.append((key, entry, miles))
        ranked.sort(key=lambda item: item[0])
        start = (query.page - 1) * query.per_page
        items = [
            Found(service=e.service, organisation=e.organisation, miles=m, local=k[1] == 0)
            for k, e, m in ranked[start : start + query.per_page]
        ]
        return FinderPage(total=len(ranked), page=query.page, per_page=query.per_page, items=items)


def _stem(word: str) -> str:
    # "debts" finds "debt" and "advice" finds "advisers": words of four letters or more match
    # on their first four. A shorter word has no stem and must match whole.
    return word[:4] if len(word) >= 4 else f"={word}"


def _stems(vocabulary: frozenset[str]) -> frozenset[str]:
    return frozenset(_stem(w) for w in vocabulary)


def distance_miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points, in miles."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))
