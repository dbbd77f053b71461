"""The ORUK index's shortcuts give the answers of reading every service the plain way."""

from __future__ import annotations

import random

from bench.find import WORDS, borough
from domain.find import ServiceWords, distance_miles, search_terms
from domain.oruk.query import METRES_PER_MILE, OrukIndex, ServiceFilter
from store.oruk import shipped_mapping


def test_word_tables_and_distance_boxes_answer_as_reading_every_service() -> None:
    directory = borough(random.Random(7), services=400)
    index = OrukIndex(directory, shipped_mapping(), {})
    names = {o.id: o.name for o in directory.organisations}
    for search in [*WORDS, "debt advice", "club housing support", "x"]:
        scored = [
            (-ServiceWords.of(s, names[s.organisation_id]).score(search_terms(search)), i)
            for i, s in enumerate(directory.services)
        ]
        expected = [directory.services[i].id for n, i in sorted(scored) if n < 0]
        assert [s.service.id for s in index.select(ServiceFilter(search=search))] == expected
    origin = (51.86, 1.15)
    for metres in (300.0, 2_000.0, 6_000.0, 40_000.0):
        near = []
        for i, s in enumerate(directory.services):
            point = (s.details.latitude, s.details.longitude)
            assert point[0] is not None
            assert point[1] is not None
            away = distance_miles(origin, (point[0], point[1])) * METRES_PER_MILE
            if away <= metres:
                near.append((away, i))
        found = index.select(ServiceFilter(origin=origin, proximity=metres))
        assert [s.service.id for s in found] == [directory.services[i].id for _, i in sorted(near)]
