"""`partnerflow status` prints the overview from the configured database."""

import asyncio
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.partnership import Stage
from domain.partnership_schedule import PartnershipSummary
from store.db import create_engine, sessionmaker
from store.demo import load_demo_directory
from store.migrate import upgrade
from store.partnerships import save_partnership
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


async def test_status_prints_partnerships_by_stage_overdue_and_due_this_week(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pf.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    sessions = sessionmaker(engine)
    now = datetime.now(UTC)
    rows = [
        ("late-one", Stage.IMPLEMENT, now - timedelta(days=2), True),
        ("soon-one", Stage.NEGOTIATE, now + timedelta(days=3), False),
        ("later-one", Stage.NEGOTIATE, now + timedelta(days=30), False),
    ]
    for pid, stage, deadline, overdue in rows:
        await save_partnership(
            sessions,
            PartnershipSummary(
                id=pid,
                name=f"Partnership {pid}",
                parent_id=None,
                strategic=False,
                stage=stage,
                cycle=1,
                next_deadline=deadline,
                overdue=overdue,
            ),
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
    assert "Partnerships by stage" in out
    assert re.search(r"negotiate\s+│\s+2", out), out
    assert re.search(r"implement\s+│\s+1", out), out
    assert re.search(r"overdue\s+│\s+1", out), out
    overdue = out.split("Overdue partnership actions")[1].split("this week")[0]
    assert "late-one" in overdue
    assert "soon-one" not in overdue
    week = out.split("Partnership reminders due this week")[1]
    assert "soon-one" in week
    assert "later-one" not in week
