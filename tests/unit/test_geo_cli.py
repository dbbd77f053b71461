"""`partnerflow geo import` loads an NSPL CSV (or the area's rows) into the postcode table."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from domain.postcodes import PostcodePoint
from store.db import create_engine, sessionmaker
from store.geo import find_postcode, postcode_count
from workers.cli import main

# Columns as the NSPL has them (the many others it carries are ignored the same way).
NSPL = (
    "pcd,pcds,dointr,doterm,usertype,laua,osward,lat,long\n"
    "CO156JQ,CO15 6JQ,198001,,0,E07000076,E05004195,51.793800,1.167200\n"
    "CO125AA,CO12 5AA,198001,,0,E07000076,E05004185,51.925300,1.262100\n"
    "SW1A1AA,SW1A 1AA,198001,,0,E09000033,E05013806,51.501009,-0.141588\n"
    "ZZ991ZZ,ZZ99 1ZZ,198001,,9,,,99.999999,0.000000\n"
)
WARD_NAMES = "WD24CD,WD24NM\nE05004195,Pier\nE05004185,Dovercourt Tollgate\n"


def _read(db: Path, postcode: str) -> tuple[int, PostcodePoint | None]:
    async def read() -> tuple[int, PostcodePoint | None]:
        engine = create_engine(f"sqlite+aiosqlite:///{db}")
        try:
            sessions = sessionmaker(engine)
            return await postcode_count(sessions), await find_postcode(sessions, postcode)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_import_the_area_with_ward_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "app.db"
    monkeypatch.setenv("PARTNERFLOW_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    monkeypatch.setenv("PARTNERFLOW_LOG_LEVEL", "WARNING")
    (tmp_path / "nspl.csv").write_text(NSPL)
    (tmp_path / "wards.csv").write_text(WARD_NAMES)
    main(
        [
            "geo",
            "import",
            str(tmp_path / "nspl.csv"),
            "--ward-names",
            str(tmp_path / "wards.csv"),
            "--area",
            "CO",
        ]
    )
    assert "2 postcodes loaded" in capsys.readouterr().out
    count, point = _read(db, "CO15 6JQ")
    assert count == 2
    assert point == PostcodePoint(
        postcode="CO15 6JQ",
        latitude=51.7938,
        longitude=1.1672,
        ward_code="E05004195",
        ward_name="Pier",
    )
    assert _read(db, "SW1A 1AA")[1] is None  # outside the area asked for
    # Loading again replaces rows in place.
    main(["geo", "import", str(tmp_path / "nspl.csv")])
    count, _ = _read(db, "CO15 6JQ")
    assert count == 3  # the unplaced ZZ99 row is skipped


def test_missing_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTNERFLOW_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    with pytest.raises(SystemExit) as stopped:
        main(["geo", "import", str(tmp_path / "nope.csv")])
    assert stopped.value.code == 2
