"""ORUK imports in the store: one transaction, dry runs, in-place updates, kept extensions."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.directory_sync import FeedUnreadable, read_source
from domain.directory import NeedCategory, ServiceStatus
from domain.oruk.feed import Feed
from domain.oruk.importing import oruk_id, read_document
from domain.oruk.mapping import TaxonomyRule
from store.db import Sessions
from store.directory import get_service, load_directory
from store.oruk import get_mapping, import_feed, set_mapping
from store.schema import ServiceRow
from tests.helpers.oruk_files import EXAMPLE, EXAMPLE_ID, ORUK, example_service


async def test_dry_run_reports_and_writes_nothing(sessions: Sessions) -> None:
    feed = await read_source(str(EXAMPLE))
    report = await import_feed(sessions, feed, source="example", dry_run=True)
    assert report.created == [EXAMPLE_ID]
    assert len(report.problems) == 3  # latitude 100, the term "name", the MyCity area
    assert (await load_directory(sessions)).services == []


async def test_import_then_reimport_updates_in_place_and_keeps_extensions(
    sessions: Sessions, tmp_path: Path
) -> None:
    feed = await read_source(str(EXAMPLE))
    first = await import_feed(sessions, feed, source="example")
    assert (first.created, first.updated, first.organisations) == ([EXAMPLE_ID], [], 1)
    async with sessions.begin() as session:
        row = await session.get(ServiceRow, EXAMPLE_ID)
        assert row is not None
        assert row.source == "example"
        assert row.last_modified.isoformat() == "2023-03-15T10:30:45.123000+00:00"
        row.data = {**row.data, "webhook_url": "https://partner.example.org/hook"}

    again = await import_feed(sessions, feed, source="example")
    assert (again.created, again.updated, again.unchanged) == ([], [], [EXAMPLE_ID])

    doc = example_service()
    doc.update(name="Counselling", status="defunct", last_modified="2024-01-01T00:00:00Z")
    changed = await import_feed(sessions, read_document(doc), source="example")
    assert changed.updated == [EXAMPLE_ID]
    assert [w.reason for w in changed.withdrawn] == ["defunct in the directory feed"]
    svc = await get_service(sessions, EXAMPLE_ID)
    assert svc is not None
    assert (svc.name, svc.status) == ("Counselling", ServiceStatus.DEFUNCT)
    assert str(svc.webhook_url) == "https://partner.example.org/hook"


async def test_full_feed_withdraws_only_services_of_its_own_source(sessions: Sessions) -> None:
    doc = example_service()
    other = {**doc, "id": "0b8e7a3c-1d2e-4f5a-8b9c-0d1e2f3a4b5c", "name": "Second counselling"}
    await import_feed(sessions, read_document([doc, other]), source="feed-a")
    elsewhere = {**doc, "id": "1c9f8b4d-2e3f-4a6b-9cad-1e2f3a4b5c6d"}
    await import_feed(sessions, read_document(elsewhere), source="feed-b")
    report = await import_feed(sessions, read_document([doc]), source="feed-a", full=True)
    assert [(w.service_id, w.reason) for w in report.withdrawn] == [
        (other["id"], "removed from the directory feed")
    ]
    statuses = {s.id: s.status for s in (await load_directory(sessions)).services}
    assert statuses == {
        EXAMPLE_ID: ServiceStatus.ACTIVE,
        other["id"]: ServiceStatus.INACTIVE,
        elsewhere["id"]: ServiceStatus.ACTIVE,
    }


async def test_a_feed_with_refused_records_imports_the_valid_ones(sessions: Sessions) -> None:
    doc = example_service()
    broken = {**doc, "id": "2d0a9c5e-3f4a-4b7c-8dbe-2f3a4b5c6d7e", "minimum_age": 101}
    report = await import_feed(sessions, Feed().extend(read_document([doc, broken])), source="x")
    assert report.created == [EXAMPLE_ID]
    assert report.refused == 1
    assert [s.id for s in (await load_directory(sessions)).services] == [EXAMPLE_ID]


async def test_the_mapping_is_stored_and_used_by_the_next_import(sessions: Sessions) -> None:
    mapping = await get_mapping(sessions)
    assert any(w.id == "pier" for w in mapping.wards)
    doc = example_service()
    doc["attributes"][0]["taxonomy_term"]["name"] = "Tenancy sustainment"
    edited = mapping.model_copy(
        update={
            "taxonomy": [
                TaxonomyRule(category=NeedCategory.HOUSING, terms=["tenancy sustainment"]),
                *mapping.taxonomy,
            ]
        }
    )
    await set_mapping(sessions, edited, by="admin")
    assert await get_mapping(sessions) == edited
    await import_feed(sessions, read_document(doc), source="x")
    svc = await get_service(sessions, EXAMPLE_ID)
    assert svc is not None
    assert svc.categories == [NeedCategory.HOUSING]


async def test_unreadable_sources_say_why(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(FeedUnreadable, match="is not JSON"):
        await read_source(str(tmp_path / "x.json"))
    with pytest.raises(FeedUnreadable, match="no such file"):
        await read_source(str(tmp_path / "missing.json"))
    (tmp_path / "y.json").write_text('{"hello": 1}')
    with pytest.raises(FeedUnreadable, match="not an ORUK document"):
        await read_source(str(tmp_path / "y.json"))


async def test_the_example_csv_tables_import(sessions: Sessions) -> None:
    feed = await read_source(str(ORUK / "uk-profile/examples/csv"))
    report = await import_feed(sessions, feed, source="csv")
    assert report.created == [EXAMPLE_ID]
    assert oruk_id(EXAMPLE_ID) == EXAMPLE_ID


async def test_import_and_reimport_on_postgresql(pg_sessions: Sessions) -> None:
    feed = await read_source(str(EXAMPLE))
    assert (await import_feed(pg_sessions, feed, source="example")).created == [EXAMPLE_ID]
    again = await import_feed(pg_sessions, feed, source="example", full=True)
    assert (again.unchanged, again.withdrawn) == ([EXAMPLE_ID], [])
    assert [s.id for s in (await load_directory(pg_sessions)).services] == [EXAMPLE_ID]


async def test_a_service_identical_to_the_feed_joins_its_source(sessions: Sessions) -> None:
    await import_feed(sessions, read_document(example_service()), source="typed-in")
    await import_feed(sessions, read_document(example_service()), source="feed")
    async with sessions() as session:
        row = await session.get(ServiceRow, EXAMPLE_ID)
    assert row is not None
    assert row.source == "feed"
