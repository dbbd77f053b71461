"""Retention: closed referrals lose the resident's personal data after the period; nothing else."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.retention import RETENTION_SUBJECT, Retention
from domain.retention import RetentionInput
from store.audit import read_audit
from store.db import Sessions
from store.referrals import load_personal_data, next_referral_number, save_referral
from store.schema import ReferralRow
from tests.helpers.referral_world import RESIDENT_NAME, submission
from workflows.retention import RetentionWorkflow


async def _referral(
    sessions: Sessions, *, status: str, last_change: datetime, name: str = RESIDENT_NAME
) -> str:
    number = await next_referral_number(sessions, "TEN", 2026)
    sub = submission()
    sub = sub.model_copy(update={"resident": sub.resident.model_copy(update={"name": name})})
    await save_referral(sessions, number, sub, submitted_by="ro-1", at=last_change)
    async with sessions.begin() as session:
        await session.execute(
            update(ReferralRow)
            .where(ReferralRow.number == number)
            .values(status=status, updated_at=last_change)
        )
    return number


async def test_only_referrals_closed_past_the_period_are_anonymised(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions, tmp_path: Path
) -> None:
    # The shared test server's clock may have been skipped far ahead by earlier tests.
    now = await time_skipping_env.get_current_time()
    long_ago = now - timedelta(days=400)
    old_closed = await _referral(
        sessions, status="closed", last_change=long_ago, name="Perpetua Glasswright"
    )
    old_withdrawn = await _referral(
        sessions, status="consent_withdrawn", last_change=long_ago, name="Ambrose Tillinghast"
    )
    recent_closed = await _referral(sessions, status="closed", last_change=now - timedelta(days=5))
    old_but_open = await _referral(sessions, status="open", last_change=long_ago)

    queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        time_skipping_env.client,
        task_queue=queue,
        workflows=[RetentionWorkflow],
        activities=[Retention(sessions).anonymise_closed_referrals],
    ):
        report = await time_skipping_env.client.execute_workflow(
            RetentionWorkflow.run,
            RetentionInput(retention_days=365, batch_size=1),
            id=f"retention-{uuid.uuid4()}",
            task_queue=queue,
        )
    assert report.anonymised == 2
    assert not report.continued

    for number in (old_closed, old_withdrawn):
        assert await load_personal_data(sessions, number) is None
    for number in (recent_closed, old_but_open):
        kept = await load_personal_data(sessions, number)
        assert kept is not None
        assert kept.resident.name == RESIDENT_NAME

    # The statistics still count all four; the erased ones say so.
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ReferralRow)) == 4
        erased = set(
            (
                await session.scalars(
                    select(ReferralRow.number).where(ReferralRow.personal_data_erased.is_(True))
                )
            ).all()
        )
    assert erased == {old_closed, old_withdrawn}

    # Gone from the database files themselves, not only from queries.
    files = await asyncio.to_thread(
        lambda: b"".join(p.read_bytes() for p in tmp_path.glob("app.db*"))
    )
    assert RESIDENT_NAME.encode() in files
    assert b"Perpetua Glasswright" not in files
    assert b"Ambrose Tillinghast" not in files

    total, events = await read_audit(sessions, subject=RETENTION_SUBJECT)
    assert total == 2
    assert {e.path for e in events} == {f"/api/referrals/{n}" for n in erased}
    assert {e.action for e in events} == {"anonymise_personal_data"}


async def test_recorded_retention_run_replays() -> None:
    history = WorkflowHistory.from_json(
        "retention", (Path(__file__).with_name("histories") / "retention.json").read_text()
    )
    assert len(history.events) > 10
    await Replayer(
        workflows=[RetentionWorkflow], data_converter=pydantic_data_converter
    ).replay_workflow(history)
