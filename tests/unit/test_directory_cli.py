"""`partnerflow directory import|export` end to end on real SQLite files."""

from __future__ import annotations

import asyncio
import csv
import json
import stat
from pathlib import Path

import pytest

from domain.directory import Directory
from store.db import create_engine, sessionmaker
from store.directory import load_directory
from tests.conftest import free_port
from tests.helpers.oruk_files import EXAMPLE_ID, ORUK, example_service
from workers.cli import main


def _directory(db: Path) -> Directory:
    async def read() -> Directory:
        engine = create_engine(f"sqlite+aiosqlite:///{db}")
        try:
            return await load_directory(sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _use(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    monkeypatch.setenv("PARTNERFLOW_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    monkeypatch.setenv("PARTNERFLOW_TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("PARTNERFLOW_LOG_LEVEL", "WARNING")


def test_import_dry_run_then_import_then_export_round_trips(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    open_umask: None,
) -> None:
    first = tmp_path / "first.db"
    _use(monkeypatch, first)
    main(["directory", "import", str(ORUK / "uk-profile/examples/csv"), "--dry-run"])
    out = capsys.readouterr().out
    assert "dry run, nothing written" in out
    assert "services: 1 new, 0 updated, 0 unchanged" in out
    assert "problems: 0 refused, 2 dropped, 2 noted" in out
    assert _directory(first).services == []

    main(["directory", "import", str(ORUK / "hsds/examples/service_full.json")])
    assert "services: 1 new" in capsys.readouterr().out
    main(["directory", "export", str(tmp_path / "tables")])
    assert "wrote 17 ORUK tables (1 services)" in capsys.readouterr().out
    assert (tmp_path / "tables" / "services.csv").read_text().count(EXAMPLE_ID) == 1
    # Exports are the owner's alone, whatever the umask.
    assert stat.S_IMODE((tmp_path / "tables").stat().st_mode) == 0o700
    modes = {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "tables").iterdir()}
    assert modes == {0o600}

    second = tmp_path / "second.db"
    _use(monkeypatch, second)
    main(["directory", "import", str(tmp_path / "tables")])
    # Only the note that the example's own area names no ward of ours remains.
    assert "problems: 0 refused, 0 dropped, 1 noted" in capsys.readouterr().out
    # ORUK's tables have no column for a language's name or the application process (HSDS
    # 3.0 JSON does): the tables carry every other detail residents see.
    original = _directory(first)
    assert original.services[0].details.languages == ["Urdu"]
    assert original.services[0].details.after_contact
    for service in original.services:
        service.details.languages, service.details.after_contact = [], ""
    assert _directory(second) == original


def test_an_import_that_withdraws_needs_temporal_and_writes_nothing_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "app.db"
    _use(monkeypatch, db)
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps(example_service()))
    main(["directory", "import", str(feed)])
    feed.write_text(json.dumps({**example_service(), "status": "temporarily closed"}))
    with pytest.raises(SystemExit) as exit_info:
        main(["directory", "import", str(feed)])
    assert exit_info.value.code == 2
    assert "would withdraw 1 service(s)" in capsys.readouterr().err
    assert [s.status.value for s in _directory(db).services] == ["active"]


def test_unreadable_feeds_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(monkeypatch, tmp_path / "app.db")
    with pytest.raises(SystemExit):
        main(["directory", "import", str(tmp_path / "missing.json")])
    assert "no such file or folder" in capsys.readouterr().err


def test_export_writes_formula_like_text_as_text_and_imports_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "first.db"
    _use(monkeypatch, first)
    service = example_service()
    service["name"] = '=HYPERLINK("http://evil.example","Counselling")'
    service["description"] = "@SUM(A1:A9) and -5 in a sentence"
    service["service_at_locations"][0]["location"].update(latitude=51.79, longitude=1.15)
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps(service))
    main(["directory", "import", str(feed)])
    main(["directory", "export", str(tmp_path / "tables")])
    capsys.readouterr()

    with (tmp_path / "tables" / "services.csv").open(newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["name"] == '\'=HYPERLINK("http://evil.example","Counselling")'
    assert row["description"] == "'@SUM(A1:A9) and -5 in a sentence"

    second = tmp_path / "second.db"
    _use(monkeypatch, second)
    main(["directory", "import", str(tmp_path / "tables")])
    (back,) = _directory(second).services
    assert back.name == service["name"]  # the apostrophe is taken off again on import
    assert _directory(second) == _directory(first)
