"""A service's room now: what its agency says overrides the listing while it holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from domain.capacity import CapacityReport, capacity_now, directory_now, reported
from domain.directory import Capacity, Directory, Organisation, Service

MONDAY = datetime(2026, 12, 7, 10, tzinfo=UTC)


def _service(**extra: object) -> Service:
    return Service.model_validate(
        {
            "id": "cab-debt",
            "organisation_id": "cab",
            "name": "CAB debt advice",
            "categories": ["benefits_debt"],
            "email": "intake@cab.example",
            **extra,
        }
    )


def test_places_say_open_limited_or_full_and_nothing_said_keeps_the_listing() -> None:
    listed = _service(capacity="limited")
    assert capacity_now(listed, MONDAY) is Capacity.LIMITED
    for places, expected in ((0, Capacity.FULL), (2, Capacity.LIMITED), (3, Capacity.OPEN)):
        said = reported(listed, CapacityReport(places_available=places), MONDAY)
        assert capacity_now(said, MONDAY) is expected, places
        assert said.capacity_updated_at == MONDAY
    cleared = reported(_service(places_available=0), CapacityReport(), MONDAY)
    assert capacity_now(cleared, MONDAY) is Capacity.OPEN


def test_a_full_spell_lasts_its_working_days_then_clears_by_itself() -> None:
    friday = datetime(2026, 12, 4, 15, tzinfo=UTC)
    said = reported(_service(), CapacityReport(full_for_working_days=2, places_available=5), friday)
    # Two working days from Friday afternoon: the Tuesday, past the weekend.
    assert said.full_until is not None
    assert said.full_until.date() == date(2026, 12, 8)
    assert capacity_now(said, friday) is Capacity.FULL
    assert capacity_now(said, MONDAY) is Capacity.FULL
    assert capacity_now(said, said.full_until - timedelta(seconds=1)) is Capacity.FULL
    assert capacity_now(said, said.full_until) is Capacity.OPEN  # its five places again


def test_the_directory_now_and_when_it_next_changes_by_itself() -> None:
    soon = MONDAY + timedelta(hours=3)
    later = MONDAY + timedelta(days=2)
    directory = Directory(
        organisations=[Organisation(id="cab", name="CAB")],
        services=[
            _service(id="a", full_until=later),
            _service(id="b", full_until=soon),
            _service(id="c", full_until=MONDAY - timedelta(hours=1)),
            _service(id="d", places_available=0),
        ],
    )
    now, until = directory_now(directory, MONDAY)
    assert [s.capacity for s in now.services] == [
        Capacity.FULL,
        Capacity.FULL,
        Capacity.OPEN,
        Capacity.FULL,
    ]
    assert until == soon
    # The stored directory is left as listed: only the copy read now changes.
    assert {s.capacity for s in directory.services} == {Capacity.OPEN}
    assert directory_now(directory, later)[1] is None
