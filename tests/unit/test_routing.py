"""Routing: deterministic, explained ranking of directory services for a need."""

from domain.directory import Directory, NeedCategory, Organisation, Service
from domain.routing import Routing, best_service, rank_services, route_consented
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


def consented(directory: Directory, consent: set[str], **kwargs: object) -> Routing:
    return route_consented(
        directory,
        category=kwargs.pop("category", NeedCategory.BENEFITS_DEBT),  # type: ignore[arg-type]
        ward=str(kwargs.pop("ward", "pier")),
        age=kwargs.pop("age", None),  # type: ignore[arg-type]
        consent=consent,
        **kwargs,  # type: ignore[arg-type]
    )


def test_the_best_consented_service_wins_over_a_better_one_without_consent() -> None:
    # The demo directory's case: tenancy support (tdc-housing) ranks first for a debt need in
    # Pier, but the resident consented only to Citizens Advice, which serves debt too.
    routing = consented(demo_directory(), {"tendring-cab"})
    assert [c.service.id for c in routing.chosen] == ["cab-benefits-debt"]
    assert routing.signposts == []
    reason = routing.explanation()
    assert "(tdc-housing): no consent" in reason
    assert "(tendring-cab): chosen" in reason
    housing = consented(
        demo_directory(), {"tendring-cab"}, category=NeedCategory.HOUSING, ward="frinton"
    )
    assert [c.service.id for c in housing.chosen] == ["cab-housing-advice"]


def test_signposts_name_the_best_few_suitable_services_only_when_no_consented_one_is_left() -> None:
    directory = Directory(
        organisations=[*ORGS, Organisation(id="c", name="C"), Organisation(id="d", name="D")],
        services=[
            svc("a1", areas=["pier"]),
            svc("b1", organisation_id="b"),
            svc("c1", organisation_id="c", capacity="limited"),
            svc(
                "d1",
                organisation_id="d",
                capacity="limited",
                categories=["benefits_debt", "housing"],
            ),
            svc("d-full", organisation_id="d", capacity="full"),
        ],
    )
    routing = consented(directory, {"a"}, exclude={"a1"})
    assert routing.chosen == []
    assert [c.service.id for c in routing.signposts] == ["b1", "c1", "d1"]
    assert [(n.service_id, n.why) for n in routing.notes] == [
        ("a1", "already tried"),
        ("b1", "no consent"),
        ("c1", "no consent"),
        ("d1", "no consent"),
        ("d-full", "full"),
    ]
    assert consented(directory, set(), signpost_limit=1).signposts[0].service.id == "a1"


def test_several_consented_services_are_chosen_for_an_offer_in_rank_order() -> None:
    directory = Directory(
        organisations=[*ORGS, Organisation(id="c", name="C")],
        services=[
            svc("a1", areas=["pier"]),
            svc("b1", organisation_id="b"),
            svc("c1", organisation_id="c", capacity="limited"),
            svc("young", organisation_id="b", eligibility={"maximum_age": 25}),
        ],
    )
    routing = consented(directory, {"a", "b", "c"}, age=40, limit=2)
    assert [c.service.id for c in routing.chosen] == ["a1", "b1"]
    assert dict((n.service_id, n.why) for n in routing.notes)["c1"] == "consented but ranked lower"
    assert dict((n.service_id, n.why) for n in routing.notes)["young"] == (
        "not eligible at the resident's age"
    )


def test_no_candidate_at_all_is_explained() -> None:
    routing = consented(
        demo_directory(), {"tendring-cab"}, category=NeedCategory.SUBSTANCE_MISUSE, age=12
    )
    assert routing.chosen == []
    assert routing.signposts == []
    assert "not eligible" in routing.explanation()
    empty = Directory(organisations=ORGS, services=[])
    assert "no active service" in consented(empty, {"a"}).explanation()
