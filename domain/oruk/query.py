"""The Open Referral UK API's list questions over our directory: which records, in what order.

One :class:`OrukIndex` is built per directory revision: every service's ORUK record, ids,
terms, point, ages and opening times worked out once, so a request is one pass over the
services (or over those within reach of a postcode). Words are matched by the public
finder's own :class:`~domain.find.ServiceWords`, so ``search`` finds what the finder finds.

The filters follow the wording of the ORUK and UK profile OpenAPI descriptions:
``minimum_age`` keeps services whose minimum age is at least the value (no minimum counts as
0), ``maximum_age`` those whose maximum age is at most the value (no maximum is no limit, so
never at most a value); ``day``, ``start_time`` and ``end_time`` keep services with opening
hours on that day that start at or after ``start_time`` and end at or before ``end_time``;
``modified_after`` is on or after.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from domain.directory import Directory, Organisation, Service
from domain.find import ServiceWords, distance_miles, search_terms
from domain.oruk.export import (
    eligibility_term_record,
    organisation_record,
    service_at_location_id,
    service_record,
    taxonomy_records,
    taxonomy_term_records,
)
from domain.oruk.importing import oruk_id
from domain.oruk.mapping import (
    ELIGIBILITY_TAXONOMY_ID,
    TAXONOMY_ID,
    OrukMapping,
    category_term_id,
)
from domain.service_details import OpeningTime, Weekday

METRES_PER_MILE = 1609.344
_METRES_PER_DEGREE_LATITUDE = 111_000.0  # a little under the true 111,195: bands err wide


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceFilter:
    """What a list request asks of services; None (or empty) asks nothing."""

    search: str = ""
    taxonomy_term_id: str | None = None
    taxonomy_id: str | None = None
    organization_id: str | None = None
    modified_after: datetime | None = None
    covering: bool = False
    """A postcode was given: only services whose areas include ``ward`` (or that have none)."""
    ward: str | None = None
    origin: tuple[float, float] | None = None
    proximity: float | None = None
    """Metres from ``origin``: services further away, or with no point, are left out."""
    minimum_age: float | None = None
    maximum_age: float | None = None
    day: Weekday | None = None
    start_time: time | None = None
    end_time: time | None = None


@dataclass(frozen=True, slots=True)
class Listed:
    """One service as the ORUK API lists it, with what its filters read."""

    position: int
    service: Service
    organisation: Organisation
    id: str
    organisation_id: str
    term_ids: frozenset[str]
    taxonomy_ids: frozenset[str]
    vocabulary: ServiceWords
    point: tuple[float, float] | None
    areas: frozenset[str]
    minimum_age: int
    maximum_age: int | None
    opening_times: tuple[OpeningTime, ...]
    last_modified: datetime | None
    place: str | None
    """Its service-at-location's id; None when it names no place."""


def _opens_as_asked(times: tuple[OpeningTime, ...], f: ServiceFilter) -> bool:
    return any(
        (f.day is None or o.weekday is f.day)
        and (f.start_time is None or o.opens >= f.start_time)
        and (f.end_time is None or o.closes <= f.end_time)
        for o in times
    )


class OrukIndex:
    """The directory prepared for the ORUK API at one revision."""

    def __init__(
        self, directory: Directory, mapping: OrukMapping, last_modified: dict[str, datetime]
    ) -> None:
        self.mapping = mapping
        orgs = {o.id: o for o in directory.organisations}
        self.organisations = list(directory.organisations)
        self._org_by_id = {oruk_id(o.id): o for o in directory.organisations} | orgs
        self.services: list[Listed] = []
        terms = {t["id"]: t for t in taxonomy_term_records()}
        for position, svc in enumerate(directory.services):
            org = orgs[svc.organisation_id]
            details = svc.details
            eligibility = eligibility_term_record(svc)
            term_ids = {category_term_id(c) for c in svc.categories}
            taxonomies = {TAXONOMY_ID}
            if eligibility is not None:
                terms[eligibility["id"]] = eligibility
                term_ids.add(eligibility["id"])
                taxonomies.add(ELIGIBILITY_TAXONOMY_ID)
            stamp = last_modified.get(svc.id)
            self.services.append(
                Listed(
                    position=position,
                    service=svc,
                    organisation=org,
                    id=oruk_id(svc.id),
                    organisation_id=oruk_id(org.id),
                    term_ids=frozenset(term_ids),
                    taxonomy_ids=frozenset(taxonomies),
                    vocabulary=ServiceWords.of(svc, org.name),
                    point=(details.latitude, details.longitude)
                    if details.latitude is not None and details.longitude is not None
                    else None,
                    areas=frozenset(svc.areas),
                    minimum_age=svc.eligibility.minimum_age or 0,
                    maximum_age=svc.eligibility.maximum_age,
                    opening_times=tuple(details.opening_times),
                    last_modified=stamp,
                    place=service_at_location_id(svc),
                )
            )
        self._by_id = {s.id: s for s in self.services} | {s.service.id: s for s in self.services}
        self._by_place = {s.place: s for s in self.services if s.place is not None}
        self.terms = list(terms.values())
        self._term_by_id = terms
        self.taxonomies = taxonomy_records()
        # Services with a point, by latitude: a proximity search reads only a band of them.
        located = sorted((s.point[0], s.position) for s in self.services if s.point)
        self._latitudes = [lat for lat, _ in located]
        self._by_latitude = [pos for _, pos in located]
        # Word → the positions of services with it (or its stem) in the name, or else in the
        # text: a search adds up scores from these instead of reading every service.
        self._in_name: dict[str, set[int]] = {}
        self._in_text: dict[str, set[int]] = {}
        for s in self.services:
            v = s.vocabulary
            for key in v.name_words | v.name_stems:
                self._in_name.setdefault(key, set()).add(s.position)
            for key in v.text_words | v.text_stems:
                self._in_text.setdefault(key, set()).add(s.position)
        self._flat: dict[str, dict[str, Any]] = {}
        self._full: dict[str, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self.services)

    def service(self, wanted: str) -> Listed | None:
        """A service by its ORUK id or our own."""
        return self._by_id.get(wanted.lower())

    def service_at(self, wanted: str) -> Listed | None:
        """The service offered at the service-at-location ``wanted``."""
        return self._by_place.get(wanted.lower())

    def organisation(self, wanted: str) -> Organisation | None:
        """An organisation by its ORUK id or our own."""
        return self._org_by_id.get(wanted.lower())

    def term(self, wanted: str) -> dict[str, Any] | None:
        """A taxonomy term by id."""
        return self._term_by_id.get(wanted.lower())

    def flat(self, listed: Listed) -> dict[str, Any]:
        """The ``/services`` list item (made once; shared: copy before changing it)."""
        record = self._flat.get(listed.id)
        if record is None:
            record = service_record(
                listed.service,
                listed.organisation,
                self.mapping,
                listed.last_modified,
                nested=False,
            )
            self._flat[listed.id] = record
        return record

    def full(self, listed: Listed) -> dict[str, Any]:
        """The full ``/services/{id}`` record (made once; shared: copy before changing it)."""
        record = self._full.get(listed.id)
        if record is None:
            record = service_record(
                listed.service, listed.organisation, self.mapping, listed.last_modified
            )
            self._full[listed.id] = record
        return record

    def organisation_record(self, org: Organisation) -> dict[str, Any]:
        """The ORUK organization record of ``org`` (without its services)."""
        return organisation_record(org)

    def services_of(self, org: Organisation) -> list[Listed]:
        """The services ``org`` offers, in directory order."""
        return [s for s in self.services if s.organisation.id == org.id]

    def _scores(self, wanted: list[tuple[str, str]]) -> dict[int, int]:
        # The same sums as ServiceWords.score, read from the word → services tables.
        scores: dict[int, int] = {}
        empty: set[int] = set()
        for word, stem in wanted:
            named = self._in_name.get(word, empty) | self._in_name.get(stem, empty)
            told = (self._in_text.get(word, empty) | self._in_text.get(stem, empty)) - named
            for position in named:
                scores[position] = scores.get(position, 0) + 2
            for position in told:
                scores[position] = scores.get(position, 0) + 1
        return scores

    def _candidates(self, f: ServiceFilter, scores: dict[int, int] | None) -> list[Listed]:
        positions: list[int] | None = None
        if f.origin is not None and f.proximity is not None:
            band = f.proximity / _METRES_PER_DEGREE_LATITUDE
            lo = bisect.bisect_left(self._latitudes, f.origin[0] - band)
            hi = bisect.bisect_right(self._latitudes, f.origin[0] + band)
            positions = self._by_latitude[lo:hi]
        if scores is not None:
            positions = list(scores) if positions is None else [p for p in positions if p in scores]
        if positions is None:
            return self.services
        return [self.services[p] for p in sorted(positions)]

    def select(self, f: ServiceFilter) -> list[Listed]:
        """The services that answer ``f``: nearest first when a postcode gave a point, best
        word match first for a search, else in directory order."""
        wanted = search_terms(f.search) if f.search else []
        if f.search and not wanted:
            return []
        scores = self._scores(wanted) if wanted else None
        if scores is not None and f == ServiceFilter(search=f.search):
            # Words alone: no other filter to read. Tuples sort without a key function: a
            # search matching thousands of services stays a few milliseconds.
            return [self.services[p] for _, p in sorted((-n, p) for p, n in scores.items())]
        term = f.taxonomy_term_id.lower() if f.taxonomy_term_id else None
        taxonomy = f.taxonomy_id.lower() if f.taxonomy_id else None
        org = f.organization_id.lower() if f.organization_id else None
        timed = f.day is not None or f.start_time is not None or f.end_time is not None
        reach = None
        if f.origin is not None and f.proximity is not None:
            # The circle's widest longitude is at its edge nearest a pole.
            edge = min(89.0, abs(f.origin[0]) + f.proximity / _METRES_PER_DEGREE_LATITUDE)
            cos = math.cos(math.radians(edge))
            reach = (f.origin[1], f.proximity / (_METRES_PER_DEGREE_LATITUDE * cos))
        found: list[tuple[float, int, int]] = []
        for s in self._candidates(f, scores):
            if term is not None and term not in s.term_ids:
                continue
            if taxonomy is not None and taxonomy not in s.taxonomy_ids:
                continue
            if org is not None and org not in (s.organisation_id, s.organisation.id):
                continue
            if f.modified_after is not None and (
                s.last_modified is None or s.last_modified < f.modified_after
            ):
                continue
            if f.covering and s.areas and (f.ward is None or f.ward not in s.areas):
                continue
            if f.minimum_age is not None and s.minimum_age < f.minimum_age:
                continue
            if f.maximum_age is not None and (
                s.maximum_age is None or s.maximum_age > f.maximum_age
            ):
                continue
            if timed and not _opens_as_asked(s.opening_times, f):
                continue
            metres = math.inf
            if reach is not None and (s.point is None or abs(s.point[1] - reach[0]) > reach[1]):
                continue  # outside the box around the circle: no need to measure
            if f.origin is not None and s.point is not None:
                metres = distance_miles(f.origin, s.point) * METRES_PER_MILE
            if f.proximity is not None and metres > f.proximity:
                continue
            score = scores[s.position] if scores is not None else 0
            found.append((metres if f.origin is not None else 0.0, -score, s.position))
        if f.origin is not None or scores is not None:
            found.sort()
        return [self.services[p] for _, _, p in found]


def record_matches(record: dict[str, Any], search: str) -> bool:
    """Whether a record's name or description holds a searched word (the finder's matching of
    words and their stems), for the taxonomies, terms and organisations."""
    wanted = search_terms(search)
    text = search_terms(f"{record.get('name', '')} {record.get('description', '')}")
    vocabulary = ServiceWords(
        name_words=frozenset(w for w, _ in text),
        text_words=frozenset(),
        name_stems=frozenset(s for _, s in text),
        text_stems=frozenset(),
    )
    return bool(wanted) and vocabulary.score(wanted) > 0
