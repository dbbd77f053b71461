"""Residents' data and secrets are written owner-only whatever the umask (0000 here)."""

from __future__ import annotations

import asyncio
import smtplib
import stat
from pathlib import Path

from sqlalchemy import text

from store.db import create_engine
from tests.conftest import free_port
from workers.first_admin import read_first_admin, write_first_admin
from workers.mail import start_mail_sink
from workers.private_files import make_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_sqlite_database_wal_and_shm_are_private(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "var" / "partnerflow.db"
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            files = {p.name: mode(p) for p in db.parent.iterdir()}
    finally:
        await engine.dispose()
    assert files["partnerflow.db"] == 0o600
    assert files["partnerflow.db-wal"] == 0o600
    assert files["partnerflow.db-shm"] == 0o600
    assert mode(db.parent) == 0o700


async def test_mail_sink_writes_private_messages(tmp_path: Path, open_umask: None) -> None:
    port = free_port()
    sink = await start_mail_sink("127.0.0.1", port, tmp_path / "mail")

    def send() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.sendmail("a@x.example", ["b@x.example"], b"Subject: s\r\n\r\nEdna Pettigrew")

    try:
        await asyncio.to_thread(send)
    finally:
        sink.close()
        await sink.wait_closed()
    (message,) = (tmp_path / "mail").iterdir()
    assert "Edna Pettigrew" in message.read_text()
    assert mode(message) == 0o600
    assert mode(tmp_path / "mail") == 0o700


def test_existing_files_are_made_private_and_reported(tmp_path: Path, open_umask: None) -> None:
    var = tmp_path / "var"
    (var / "mail").mkdir(parents=True)
    (var / "mail" / "a.eml").write_text("x")
    (var / "partnerflow.db").write_text("x")
    (var / "partnerflow.db").chmod(0o644)
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours")
    outside.chmod(0o644)
    (var / "link").symlink_to(outside)
    fixed = make_private(var)
    assert {str(p) for p in fixed} == {".", "mail", "mail/a.eml", "partnerflow.db"}
    assert {mode(p) for p in [var, var / "mail"]} == {0o700}
    assert {mode(p) for p in [var / "mail" / "a.eml", var / "partnerflow.db"]} == {0o600}
    assert mode(outside) == 0o644  # links are not followed out of the folder
    assert make_private(var) == []


def test_first_admin_file_is_private_and_readable_back(tmp_path: Path, open_umask: None) -> None:
    path = write_first_admin(tmp_path, token="pf_secret", password="correct horse")
    assert mode(path) == 0o600
    assert read_first_admin(tmp_path) == {
        "api_token": "pf_secret",
        "dashboard_user": "admin",
        "dashboard_password": "correct horse",
    }
