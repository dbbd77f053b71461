import pytest
from pydantic import ValidationError

from domain.directory import Directory, Eligibility, Service
from store.db import Sessions
from store.demo import demo_directory, demo_wards, load_demo_directory
from store.directory import active_services, get_service, load_directory


def test_demo_directory_is_valid_and_wards_are_known() -> None:
    directory = demo_directory()
    assert len(directory.organisations) >= 10
    known = {w.id for w in demo_wards()}
    for svc in directory.services:
        assert set(svc.areas) <= known, svc.id


def test_service_needs_a_channel_and_sane_ages() -> None:
    with pytest.raises(ValidationError, match="email or a webhook_url"):
        Service(id="x", organisation_id="o", name="X", categories=["housing"])
    with pytest.raises(ValidationError, match="minimum_age is above maximum_age"):
        Eligibility(minimum_age=20, maximum_age=10)
    assert Eligibility(minimum_age=18).admits(None)
    assert not Eligibility(minimum_age=18).admits(17)


def test_directory_refuses_dangling_organisations() -> None:
    svc = Service(
        id="x", organisation_id="ghost", name="X", categories=["housing"], email="a@b.org"
    )
    with pytest.raises(ValidationError, match="unknown organisations"):
        Directory(organisations=[], services=[svc])


async def test_demo_directory_loads_once_and_reads_back(sessions: Sessions) -> None:
    assert await load_demo_directory(sessions)
    assert not await load_demo_directory(sessions)
    assert await load_directory(sessions) == Directory(
        organisations=sorted(demo_directory().organisations, key=lambda o: o.id),
        services=sorted(demo_directory().services, key=lambda s: s.id),
    )
    active = await active_services(sessions)
    assert len(active) == len(demo_directory().services)
    cab = await get_service(sessions, "cab-benefits-debt")
    assert cab is not None
    assert cab.agency_id == "tendring-cab"
