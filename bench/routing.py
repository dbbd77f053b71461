"""Routing over a directory of 10,000 generated services: time per routed need next to the
time to load the directory (target: routing one need in under 1 ms).

A referral routes a need by taking the best untried service (``best_service``); the full
ranked list (what a co-ordinator browses) is timed too, as a figure."""

from __future__ import annotations

import random
import time

from bench.common import report
from domain.directory import Capacity, Directory, NeedCategory, Organisation, Service, Urgency
from domain.routing import best_service, rank_services

SERVICES = 10_000
NEEDS = 2_000
WARDS = [f"ward-{i:02d}" for i in range(40)]


def generated_directory(rng: random.Random, services: int = SERVICES) -> dict[str, object]:
    """A plausible borough-scale directory as JSON-like data, before validation."""
    categories = list(NeedCategory)
    organisations = [
        {"id": f"org-{i:04d}", "name": f"Organisation {i}", "email": f"o{i}@example.org"}
        for i in range((services + 9) // 10)
    ]
    services = [
        {
            "id": f"svc-{i:05d}",
            "organisation_id": f"org-{i // 10:04d}",
            "name": f"Service {i}",
            "categories": rng.sample(categories, k=rng.randint(1, 3)),
            "areas": rng.sample(WARDS, k=rng.randint(0, 4)),
            "capacity": rng.choice(list(Capacity)),
            "email": f"s{i}@example.org",
            "response_days": {Urgency.ROUTINE: rng.randint(3, 10)},
        }
        for i in range(services)
    ]
    return {"organisations": organisations, "services": services}


def main() -> bool:
    """Load, then route NEEDS needs; print both and the per-need time against its target."""
    rng = random.Random(20261123)
    raw = generated_directory(rng)
    started = time.perf_counter()
    directory = Directory.model_validate(raw)
    load_seconds = time.perf_counter() - started
    assert all(isinstance(o, Organisation) for o in directory.organisations)
    assert all(isinstance(s, Service) for s in directory.services)

    needs = [
        (rng.choice(list(NeedCategory)), rng.choice(WARDS), rng.randint(16, 90))
        for _ in range(NEEDS)
    ]
    # A workflow routes on a directory it has just loaded: the first need pays for the index.
    fresh = Directory.model_validate(raw)
    started = time.perf_counter()
    best_service(fresh, category=needs[0][0], ward=needs[0][1], age=needs[0][2])
    first_ms = (time.perf_counter() - started) * 1000
    routed = 0
    started = time.perf_counter()
    for category, ward, age in needs:
        routed += best_service(directory, category=category, ward=ward, age=age) is not None
    route_seconds = time.perf_counter() - started
    per_need_ms = route_seconds / NEEDS * 1000
    started = time.perf_counter()
    ranked = 0
    for category, ward, age in needs:
        ranked += len(rank_services(directory, category=category, ward=ward, age=age))
    rank_ms = (time.perf_counter() - started) / NEEDS * 1000
    return report(
        f"Routing over {SERVICES:,} services",
        {
            "load the directory (validate 10,000 services)": f"{load_seconds * 1000:.0f} ms",
            f"route {NEEDS:,} needs": f"{route_seconds * 1000:.0f} ms",
            "needs with at least one suitable service": f"{routed:,}",
            "first need on a freshly loaded directory (builds its index)": f"{first_ms:.3f} ms",
            "per routed need (best untried service, index built)": f"{per_need_ms:.3f} ms",
            "per full ranking (every suitable service with its reason)": (
                f"{rank_ms:.3f} ms for {ranked / NEEDS:.0f} services on average"
            ),
        },
        {
            "per-need routing time / 1 ms": (per_need_ms, "< 1"),
            "per-need routing time / directory load time": (
                route_seconds / NEEDS / load_seconds,
                "< 0.01",
            ),
        },
    )
