"""`partnerflow status` prints the overview from the configured database."""

import asyncio
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from store.db import create_engine, sessionmaker
from store.demo import load_demo_directory
from store.migrate import upgrade
from store.schema import NotificationFailure
from tests.conftest import SCRIPTS


async def test_status_prints_directory_and_failing_notifications(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pf.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    sessions = sessionmaker(engine)
    await load_demo_directory(sessions)
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        session.add(
            NotificationFailure(
                idempotency_key="k1",
                channel="webhook",
                recipient="https://housing.example/hook",
                subject_ref="TEN-2026-000042",
                workflow_id="TEN-2026-000042",
                attempts=7,
                last_error="webhook failed: HTTP 503",
                first_failed_at=now,
                last_failed_at=now,
                gave_up=True,
            )
        )
    await engine.dispose()

    done = await asyncio.to_thread(
        subprocess.run,
        [str(SCRIPTS / "partnerflow"), "status"],
        env={**os.environ, "PARTNERFLOW_DATABASE_URL": url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = done.stdout
    assert "Service directory" in out
    assert "Failing notifications" in out
    assert "TEN-2026-000042" in out
    assert "HTTP 503" in out
    assert "7 (gave up)" in out
