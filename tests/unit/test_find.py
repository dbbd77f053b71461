"""Finding a service: filters, order, paging, distance, and the directory in plain words."""

from __future__ import annotations

from datetime import time

import pytest

from domain.directory import Directory, Eligibility, NeedCategory, Organisation, Service
from domain.find import FinderIndex, FinderQuery, Place, distance_miles
from domain.find_words import eligibility_words, miles_words, opening_words
from domain.postcodes import normalise_postcode, point_from_row, sector_of
from domain.service_details import OpeningTime, ServiceDetails, Weekday
from store.demo import demo_directory

CLACTON = Place(label="CO15 6JQ", ward="pier", latitude=51.7938, longitude=1.1672)


def service(sid: str, **kw: object) -> Service:
    data: dict[str, object] = {
        "id": sid,
        "organisation_id": "org",
        "name": sid.replace("-", " "),
        "categories": ["benefits_debt"],
        "email": "a@b.example",
    }
    data.update(kw)
    return Service.model_validate(data)


def index(*services: Service) -> FinderIndex:
    return FinderIndex(
        Directory(organisations=[Organisation(id="org", name="Org")], services=list(services))
    )


def ids(idx: FinderIndex, query: FinderQuery, place: Place | None = None) -> list[str]:
    return [f.service.id for f in idx.search(query, place).items]


def test_need_filter_and_inactive_services_left_out() -> None:
    idx = index(
        service("debt"),
        service("housing", categories=["housing"]),
        service("closed-debt", status="inactive"),
    )
    assert ids(idx, FinderQuery(need=NeedCategory.BENEFITS_DEBT)) == ["debt"]
    assert sorted(ids(idx, FinderQuery())) == ["debt", "housing"]


def test_age_free_and_open_day_filters() -> None:
    monday = ServiceDetails(
        free=True,
        opening_times=[OpeningTime(weekday=Weekday.MONDAY, opens=time(9), closes=time(17))],
    )
    idx = index(
        service("adults", eligibility=Eligibility(minimum_age=18), details=monday),
        service("paid", details=ServiceDetails(free=False)),
        service("unknown-cost"),
    )
    assert ids(idx, FinderQuery(age=16)) == ["paid", "unknown-cost"]
    assert ids(idx, FinderQuery(free_only=True)) == ["adults"]
    assert ids(idx, FinderQuery(open_on=Weekday.MONDAY)) == ["adults"]
    assert ids(idx, FinderQuery(open_on=Weekday.SUNDAY)) == []


def test_ward_filter_keeps_borough_wide_and_puts_local_first() -> None:
    idx = index(
        service("a-borough-wide"),
        service("b-pier-only", areas=["pier"]),
        service("c-walton-only", areas=["walton"]),
    )
    assert ids(idx, FinderQuery(), CLACTON) == ["b-pier-only", "a-borough-wide"]
    found = idx.search(FinderQuery(), CLACTON).items
    assert [f.local for f in found] == [True, False]


def test_keywords_rank_name_matches_before_description_matches() -> None:
    idx = index(
        service("z-plain", description="We give debt advice."),
        service("a-other", description="Nothing relevant.", categories=["housing"]),
        service("m-debt-clinic", name="Debt clinic", categories=["health"]),
        service("k-by-category"),
    )
    assert ids(idx, FinderQuery(keywords="debts")) == ["m-debt-clinic", "k-by-category", "z-plain"]
    # Category words find services too: "money" is how residents say benefits and debt.
    assert ids(idx, FinderQuery(keywords="money")) == ["k-by-category", "z-plain"]


def test_nearer_services_first_among_equally_suitable() -> None:
    far = ServiceDetails(latitude=51.94, longitude=1.28)  # Harwich
    near = ServiceDetails(latitude=51.79, longitude=1.155)  # Clacton
    idx = index(service("far", details=far), service("near", details=near), service("nowhere"))
    found = idx.search(FinderQuery(), CLACTON).items
    assert [f.service.id for f in found] == ["near", "far", "nowhere"]
    assert found[0].miles is not None
    assert found[0].miles < 1
    assert found[1].miles is not None
    assert 9 < found[1].miles < 12
    assert found[2].miles is None


def test_capacity_orders_before_distance() -> None:
    near_full = ServiceDetails(latitude=51.7938, longitude=1.1672)
    idx = index(
        service("near-limited", capacity="limited", details=near_full),
        service("far-open", details=ServiceDetails(latitude=51.94, longitude=1.28)),
    )
    assert ids(idx, FinderQuery(), CLACTON) == ["far-open", "near-limited"]


def test_paging() -> None:
    idx = index(*(service(f"s{i:02d}") for i in range(25)))
    page = idx.search(FinderQuery(page=3, per_page=10))
    assert page.total == 25
    assert page.pages == 3
    assert [f.service.id for f in page.items] == [f"s{i:02d}" for i in range(20, 25)]


def test_demo_directory_finds_debt_help_near_a_clacton_postcode() -> None:
    found = FinderIndex(demo_directory()).search(
        FinderQuery(need=NeedCategory.BENEFITS_DEBT), CLACTON
    )
    assert [f.service.id for f in found.items][:2] == ["tdc-tenancy-support", "cab-benefits-debt"]


def test_distance_clacton_to_harwich_is_about_eleven_miles() -> None:
    assert distance_miles((51.7938, 1.1672), (51.9431, 1.2852)) == pytest.approx(11.4, abs=0.3)
    assert miles_words(0.04) == "less than 0.1 miles away"
    assert miles_words(2.345) == "2.3 miles away"
    assert miles_words(None) == ""


def test_eligibility_and_opening_times_in_words() -> None:
    assert eligibility_words(Eligibility()) == ""
    assert eligibility_words(Eligibility(minimum_age=16, maximum_age=66)) == (
        "For people aged 16 to 66."
    )
    assert eligibility_words(Eligibility(minimum_age=60, description="Living alone")) == (
        "For people aged 60 and over. Living alone."
    )
    times = [
        OpeningTime(weekday=Weekday.TUESDAY, opens=time(13, 30), closes=time(16)),
        OpeningTime(weekday=Weekday.MONDAY, opens=time(9), closes=time(12)),
    ]
    assert opening_words(times) == [("Monday", "9am to 12pm"), ("Tuesday", "1:30pm to 4pm")]


def test_postcodes_written_and_read_from_nspl_rows() -> None:
    assert normalise_postcode(" co156jq ") == "CO15 6JQ"
    assert normalise_postcode("W1A0AX") == "W1A 0AX"
    assert normalise_postcode("not a postcode") is None
    assert sector_of("CO15 6JQ") == "CO15 6"
    row = {"pcds": "CO15 6JQ", "lat": "51.79", "long": "1.16", "osward": "E05000001"}
    point = point_from_row(row, {"E05000001": "Pier"})
    assert point is not None
    assert point.ward_name == "Pier"
    assert point.postcode == "CO15 6JQ"
    unplaced = {"pcds": "CO15 6JQ", "lat": "99.999999", "long": "0.0"}
    assert point_from_row(unplaced, {}) is None
