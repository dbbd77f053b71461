"""The indexed routing ranks exactly like a plain scan of the directory, on a generated one."""

from __future__ import annotations

import random

from bench.routing import WARDS, generated_directory
from domain.directory import Capacity, Directory, NeedCategory, Service, ServiceStatus
from domain.routing import RouteChoice, best_service, rank_key, rank_services, route_reason


def reference(
    directory: Directory,
    *,
    category: NeedCategory,
    ward: str,
    age: int | None,
    exclude: set[str],
    include_full: bool,
) -> list[RouteChoice]:
    """The rule as written: scan every service, keep the suitable ones, sort by rank."""
    kept: list[Service] = [
        s
        for s in directory.services
        if s.id not in exclude
        and s.status is ServiceStatus.ACTIVE
        and category in s.categories
        and s.serves(ward)
        and s.eligibility.admits(age)
        and (include_full or s.capacity is not Capacity.FULL)
    ]
    return [
        RouteChoice(service=s, reason=route_reason(s, category, ward))
        for s in sorted(kept, key=rank_key)
    ]


def test_indexed_ranking_equals_the_reference_on_a_generated_directory() -> None:
    rng = random.Random(7)
    raw = generated_directory(rng, services=1_500)
    for service in raw["services"]:  # type: ignore[attr-defined]
        if rng.random() < 0.1:
            service["status"] = rng.choice(list(ServiceStatus))
        if rng.random() < 0.3:
            low = rng.randint(0, 60)
            service["eligibility"] = {"minimum_age": low, "maximum_age": low + rng.randint(0, 40)}
    directory = Directory.model_validate(raw)
    ids = [s.id for s in directory.services]
    for _ in range(400):
        category = rng.choice(list(NeedCategory))
        ward = rng.choice([*WARDS, "nowhere"])
        age = rng.choice([None, rng.randint(0, 100)])
        exclude = set(rng.sample(ids, k=rng.randint(0, 50)))
        include_full = rng.random() < 0.3
        expected = reference(
            directory,
            category=category,
            ward=ward,
            age=age,
            exclude=exclude,
            include_full=include_full,
        )
        ranked = rank_services(
            directory,
            category=category,
            ward=ward,
            age=age,
            exclude=exclude,
            include_full=include_full,
        )
        assert [(c.service.id, c.reason) for c in ranked] == [
            (c.service.id, c.reason) for c in expected
        ]
        limit = rng.randint(0, 4)
        limited = rank_services(
            directory, category=category, ward=ward, age=age, exclude=exclude, limit=limit
        )
        assert [c.service.id for c in limited] == [
            c.service.id for c in expected if c.service.capacity is not Capacity.FULL
        ][:limit]
        best = best_service(directory, category=category, ward=ward, age=age, exclude=exclude)
        first = next((c for c in expected if c.service.capacity is not Capacity.FULL), None)
        assert (best.service.id if best else None) == (first.service.id if first else None)


def test_a_changed_directory_is_indexed_again() -> None:
    rng = random.Random(3)
    directory = Directory.model_validate(generated_directory(rng, services=200))
    before = rank_services(directory, category=NeedCategory.HOUSING, ward=WARDS[0], age=None)
    top = before[0].service
    directory.services.append(
        top.model_copy(update={"id": "a-new-one", "capacity": Capacity.OPEN, "areas": [WARDS[0]]})
    )
    after = rank_services(directory, category=NeedCategory.HOUSING, ward=WARDS[0], age=None)
    assert "a-new-one" in [c.service.id for c in after]
    assert len(after) == len(before) + 1
