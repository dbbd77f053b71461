"""Erasure requests over HTTP, for a running and a finished referral, on real workflows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from domain.access import Role
from domain.referral import WITHDRAW_UPDATE, LegState, ReferralStatus, Withdrawal
from store.audit import read_audit
from store.db import Sessions
from store.referral_stats import referrals_by_status
from store.referrals import load_personal_data
from store.schema import ReferralEventRow
from tests.helpers.referral_server import serve
from tests.helpers.referral_world import RESIDENT_NAME, World, run_world, submission
from tests.helpers.sinks import SmtpSink, WebhookSink

Bearer = Callable[..., Awaitable[dict[str, str]]]
PERSONAL = (RESIDENT_NAME, "Marine Parade", "CO15 1AA", "Rent arrears")


def _files(sessions: Sessions) -> tuple[Path, Path]:
    database = Path(str(sessions.kw["bind"].url.database))
    return database, database.with_name(database.name + "-wal")


def _on_disk(sessions: Sessions, text: str) -> bool:
    return any(text.encode() in p.read_bytes() for p in _files(sessions) if p.exists())


async def _erase_and_check(
    world: World, bearer: Bearer, number: str, *, erased_by: str, status: str
) -> None:
    # The name is on disk before erasure, so the checks after it can fail.
    assert _on_disk(world.sessions, RESIDENT_NAME)
    coordinator = await bearer(Role.COORDINATOR)
    url = f"/api/referrals/{number}/erasure"
    async with serve(world) as api:
        # Operations staff may not erase; agencies neither.
        ops = await bearer(Role.OPERATIONS)
        assert (await api.post(url, json={"reason": "x"}, headers=ops)).status == 403
        assert (await api.post(url, json={"why": "x"}, headers=coordinator)).status == 422
        resp = await api.post(url, json={"reason": "subject access erasure"}, headers=coordinator)
        assert resp.status == 200, await resp.text()
        receipt = await resp.json()
        assert receipt == {
            "number": number,
            "already_erased": False,
            "erased_by": erased_by,
            "status": status,
        }
        again = await api.post(url, json={"reason": "asked twice"}, headers=coordinator)
        assert again.status == 200
        assert (await again.json())["already_erased"] is True
        missing = await api.post(
            "/api/referrals/NOPE-2026-000001/erasure", json={"reason": "x"}, headers=coordinator
        )
        assert missing.status == 404

    assert await load_personal_data(world.sessions, number) is None
    for text in PERSONAL:
        assert not _on_disk(world.sessions, text), text
    # The statistics still count it.
    assert (await referrals_by_status(world.sessions)).get(status) == 1
    # The request is on the audit trail, with who made it.
    _, trail = await read_audit(world.sessions, subject="test-coordinator", limit=50)
    assert [(e.action, e.method, e.path, e.status) for e in trail if e.status == 200] == [
        ("request_erasure", "POST", f"/api/referrals/{number}/erasure", 200),
        ("request_erasure", "POST", f"/api/referrals/{number}/erasure", 200),
    ]


async def test_erasure_of_a_running_referral_goes_through_its_workflow(
    world: World, bearer: Bearer
) -> None:
    handle = await world.submit(submission())
    view = await world.until(handle, lambda v: any(leg.state is LegState.SENT for leg in v.legs))
    await _erase_and_check(
        world, bearer, view.number, erased_by="workflow", status="consent_withdrawn"
    )
    final = await handle.result()
    assert final.status is ReferralStatus.CONSENT_WITHDRAWN
    assert {leg.state for leg in final.legs} == {LegState.WITHDRAWN}
    # The agency was told to stop and delete the resident's details.
    stop = [m for m in world.smtp.to("intake@cab.example") if "Stop work" in str(m["Subject"])]
    assert stop


async def test_erasure_of_a_finished_referral_goes_to_the_store(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
    bearer: Bearer,
) -> None:
    await erase_finished_referral(time_skipping_env, sessions, smtp_sink, webhook_sink, bearer)


@pytest.mark.e2e
async def test_erasure_of_a_finished_referral_on_the_real_server(
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
    bearer: Bearer,
) -> None:
    # The real server answers an Update to a finished workflow its own way; erasure still works.
    await erase_finished_referral(dev_env, sessions, smtp_sink, webhook_sink, bearer)


async def erase_finished_referral(
    env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
    bearer: Bearer,
) -> None:
    """Withdraw a referral, let its workflow finish, then erase it over HTTP."""

    async def body(world: World) -> None:
        handle = await world.submit(submission())
        await world.until(handle, lambda v: any(leg.state is LegState.SENT for leg in v.legs))
        await handle.execute_update(
            WITHDRAW_UPDATE, Withdrawal(actor="reach-out-1", reason="entered in error")
        )
        final = await handle.result()
        assert final.status is ReferralStatus.WITHDRAWN
        assert await load_personal_data(world.sessions, final.number) is not None
        await _erase_and_check(world, bearer, final.number, erased_by="store", status="withdrawn")
        async with world.sessions() as session:
            events = (
                await session.scalars(
                    select(ReferralEventRow).where(
                        ReferralEventRow.number == final.number,
                        ReferralEventRow.kind == "personal_data_erased",
                    )
                )
            ).all()
        assert [(e.actor, e.detail) for e in events] == [
            ("test-coordinator", "subject access erasure")
        ]

    await run_world(env.client, sessions, smtp_sink, webhook_sink, body)
