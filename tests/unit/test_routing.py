"""Routing: deterministic, explained ranking of directory services for a need."""

from domain.directory import Directory, NeedCategory, Organisation, Service
from domain.routing import best_service, rank_services
from store.demo import demo_directory

ORGS = [Organisation(id="a", name="A"), Organisation(id="b", name="B")]


def svc(id_: str, **kwargs: object) -> Service:
    base: dict[str, object] = {
        "organisation_id": "a",
        "name": id_.upper(),
        "categories": ["benefits_debt"],
        "email": f"{id_}@x.example",
    }
    return Service.model_validate({"id": id_, **base, **kwargs})


def ids(directory: Directory, **kwargs: object) -> list[str]:
    ranked = rank_services(
        directory,
        category=kwargs.pop("category", NeedCategory.BENEFITS_DEBT),  # type: ignore[arg-type]
        ward=str(kwargs.pop("ward", "pier")),
        age=kwargs.pop("age", None),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )
    return [choice.service.id for choice in ranked]


def test_ranks_by_capacity_then_locality_then_focus_then_id() -> None:
    directory = Directory(
        organisations=ORGS,
        services=[
            svc("z-borough"),
            svc("y-local", areas=["pier"]),
            svc("x-limited", capacity="limited", areas=["pier"]),
            svc("w-generalist", categories=["benefits_debt", "housing"], areas=["pier"]),
            svc("v-full", capacity="full"),
        ],
    )
    assert ids(directory) == ["y-local", "w-generalist", "z-borough", "x-limited"]
    assert ids(directory, include_full=True)[-1] == "v-full"


def test_filters_category_area_age_status_and_tried() -> None:
    directory = Directory(
        organisations=ORGS,
        services=[
            svc("housing", categories=["housing"]),
            svc("elsewhere", areas=["walton"]),
            svc("young", eligibility={"maximum_age": 25}),
            svc("closed", status="temporarily closed"),
            svc("tried"),
            svc("ok", organisation_id="b"),
        ],
    )
    assert ids(directory, age=40, exclude={"tried"}) == ["ok"]
    assert ids(directory, age=19, exclude={"tried"}) == ["ok", "young"]
    assert ids(directory, age=None, exclude=frozenset()) == ["ok", "tried", "young"]


def test_choice_carries_a_readable_reason() -> None:
    directory = Directory(
        organisations=ORGS, services=[svc("local", areas=["pier"], eligibility={"minimum_age": 60})]
    )
    choice = best_service(directory, category=NeedCategory.BENEFITS_DEBT, ward="pier", age=70)
    assert choice is not None
    assert (
        choice.reason
        == "LOCAL meets benefits debt, serves pier, capacity open, age 60-any eligible"
    )
    assert best_service(directory, category=NeedCategory.HOUSING, ward="pier", age=70) is None


def test_ranking_is_deterministic_on_the_demo_directory() -> None:
    directory = demo_directory()
    shuffled = Directory(
        organisations=directory.organisations, services=list(reversed(directory.services))
    )
    for category in NeedCategory:
        first = ids(directory, category=category, ward="west-clacton-jaywick", age=40)
        assert first == ids(shuffled, category=category, ward="west-clacton-jaywick", age=40)
    assert ids(directory, category=NeedCategory.BENEFITS_DEBT, ward="pier", age=40)
