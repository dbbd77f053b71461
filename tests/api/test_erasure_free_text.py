"""Erasure is complete: what agencies and referrers wrote about the resident (decline and
withdrawal reasons) goes with the resident's details, from the whole database file and its
write-ahead log; operations staff never see that free text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.testing import ActivityEnvironment

from activities.retention import Retention
from domain.access import Role
from domain.referral import (
    ACCEPT_UPDATE,
    DECLINE_UPDATE,
    WITHDRAW_UPDATE,
    AgencyAction,
    Decline,
    LegState,
    Need,
    ReferralStatus,
    Withdrawal,
)
from domain.retention import RetentionBatch
from store.db import Sessions
from tests.helpers.referral_server import serve
from tests.helpers.referral_world import World, submission

Bearer = Callable[..., Awaitable[dict[str, str]]]
NOTES = "Quixotic-notes-7781"
DECLINE = "Quixotic-decline-7782"
WITHDRAW = "Quixotic-withdraw-7783"
EVERY = (NOTES, DECLINE, WITHDRAW)


def _on_disk(sessions: Sessions, text: str) -> bool:
    database = Path(str(sessions.kw["bind"].url.database))
    files = (database, database.with_name(database.name + "-wal"))
    return any(text.encode() in p.read_bytes() for p in files if p.exists())


async def _declined_then_sent(world: World) -> Any:
    """A referral whose first leg the CAB declined with free text; the charity's leg waits."""
    handle = await world.submit(submission(Need(category="benefits_debt", notes=NOTES)))
    view = await world.until(handle, lambda v: len(v.legs) == 1)
    cab = world.client.get_workflow_handle(view.legs[0].leg_id)
    await cab.execute_update(
        DECLINE_UPDATE, Decline(agency_id="cab", actor="cab-user", reason=DECLINE)
    )
    await world.until(handle, lambda v: len(v.legs) == 2)
    return handle


async def test_consent_withdrawal_erases_every_free_text_from_the_files(
    world: World, bearer: Bearer
) -> None:
    handle = await _declined_then_sent(world)
    number = handle.id
    view = await world.state(handle)
    charity = world.client.get_workflow_handle(view.legs[1].leg_id)
    await charity.execute_update(
        ACCEPT_UPDATE, AgencyAction(agency_id="charity", actor="charity-user")
    )
    coordinator, ops = await bearer(Role.COORDINATOR), await bearer(Role.OPERATIONS)
    async with serve(world) as api:
        # Before erasure the co-ordinator reads the decline reason; operations never do.
        seen = await (await api.get(f"/api/referrals/{number}", headers=coordinator)).text()
        assert DECLINE in seen
        hidden = await (await api.get(f"/api/referrals/{number}", headers=ops)).text()
        assert DECLINE not in hidden
        assert "(withheld)" in hidden
        page = await api.get(f"/referrals/{number}", headers=ops)
        assert DECLINE not in await page.text()
        resp = await api.post(
            f"/api/referrals/{number}/withdraw-consent",
            json={"reason": WITHDRAW},
            headers=coordinator,
        )
        assert resp.status == 200, await resp.text()
        final = await handle.result()
        assert final.status is ReferralStatus.CONSENT_WITHDRAWN
        after = await (await api.get(f"/api/referrals/{number}", headers=coordinator)).text()
    for text in EVERY:
        assert text not in after, text
        assert not _on_disk(world.sessions, text), text


async def test_erasure_on_request_and_at_retention_erase_every_free_text(
    world: World, bearer: Bearer
) -> None:
    numbers = []
    for _ in range(2):
        handle = await _declined_then_sent(world)
        await handle.execute_update(
            WITHDRAW_UPDATE, Withdrawal(actor="reach-out-1", reason=WITHDRAW)
        )
        final = await handle.result()
        assert final.status is ReferralStatus.WITHDRAWN
        assert {leg.state for leg in final.legs} == {LegState.DECLINED, LegState.WITHDRAWN}
        numbers.append(final.number)
    for text in EVERY:
        assert _on_disk(world.sessions, text), text
    requested, retained = numbers
    async with serve(world) as api:
        resp = await api.post(
            f"/api/referrals/{requested}/erasure",
            json={"reason": "subject access erasure"},
            headers=await bearer(Role.COORDINATOR),
        )
        assert resp.status == 200, await resp.text()
    # Referral times are the test server's, which skips ahead: any cut-off far enough on.
    result = await ActivityEnvironment().run(
        Retention(world.sessions).anonymise_closed_referrals,
        RetentionBatch(
            closed_before=datetime.now(UTC) + timedelta(days=3650), limit=10, run_id="test"
        ),
    )
    assert result.anonymised == [retained]
    for text in EVERY:
        assert not _on_disk(world.sessions, text), text
