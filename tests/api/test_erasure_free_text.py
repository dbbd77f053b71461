"""Erasure is complete: what agencies and referrers wrote about the resident (decline and
withdrawal reasons, outcome notes) goes with the resident's details, from the whole database
file and its write-ahead log; operations staff never see that free text, and no agency's email
or webhook carries it."""

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
    STATE_QUERY,
    WITHDRAW_UPDATE,
    AgencyAction,
    Decline,
    LegState,
    LegView,
    Need,
    ReferralStatus,
    Withdrawal,
)
from domain.retention import RetentionBatch
from store.db import Sessions
from tests.api.test_dashboard_referrals import signed_in
from tests.helpers.referral_server import serve
from tests.helpers.referral_world import World, submission

Bearer = Callable[..., Awaitable[dict[str, str]]]
NOTES = "Quixotic-notes-7781"
DECLINE = "Quixotic-decline-7782"
WITHDRAW = "Quixotic-withdraw-7783"
OUTCOME_NOTE = "Quixotic-outcome-7784"
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
        # The page too, signed in (a bearer token only reaches the sign-in page).
        ops_page, _ = await signed_in(world.sessions, "olu", Role.OPERATIONS)
        page = await (await api.get(f"/referrals/{number}", cookies=ops_page)).text()
        assert f"Referral {number}" in page
        assert DECLINE not in page
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


def _sent_anywhere(world: World, text: str) -> bool:
    """Whether ``text`` went out in any email (any part) or webhook event."""
    emails = any(text in m.as_string() for m in world.smtp.messages)
    return emails or any(text in str(e) for e in world.webhooks.events)


async def test_an_outcome_note_is_withheld_never_sent_and_erased(
    world: World, bearer: Bearer
) -> None:
    handle = await world.submit(submission(Need(category="benefits_debt", notes=NOTES)))
    number = handle.id
    view = await world.until(handle, lambda v: len(v.legs) == 1)
    leg_id = view.legs[0].leg_id
    cab = world.client.get_workflow_handle(leg_id)
    await cab.execute_update(ACCEPT_UPDATE, AgencyAction(agency_id="cab", actor="cab-user"))
    coordinator, ops = await bearer(Role.COORDINATOR), await bearer(Role.OPERATIONS)
    cab_api = await bearer(Role.AGENCY, agency_id="cab")
    cab_page, cab_csrf = await signed_in(world.sessions, "cab-1", Role.AGENCY, "cab")
    cora_page, _ = await signed_in(world.sessions, "cora", Role.COORDINATOR)
    ops_page, _ = await signed_in(world.sessions, "olu", Role.OPERATIONS)
    async with serve(world) as api:
        # The agency records the outcome with a note from its worklist's dialog.
        form = await (await api.get("/worklist", cookies=cab_page)).text()
        assert f'<textarea id="note-{leg_id}" name="note"' in form
        recorded = await api.post(
            f"/worklist/{leg_id}/outcome",
            data={
                "csrf_token": cab_csrf,
                "code": "got_help",
                "value": "1240",
                "unit": "GBP",
                "note": f"  {OUTCOME_NOTE}\r\n",
            },
            cookies=cab_page,
            allow_redirects=False,
        )
        assert recorded.status == 303, await recorded.text()
        leg = await cab.query(STATE_QUERY, result_type=LegView)
        assert leg.outcome is not None
        assert leg.outcome.note == OUTCOME_NOTE
        await world.until(handle, lambda v: v.legs[0].state is LegState.OUTCOME_RECORDED)
        # The agency that wrote it and the co-ordinator read the note, recorded and live.
        for who in (coordinator, cab_api):
            seen = await (await api.get(f"/api/referrals/{number}", headers=who)).json()
            assert seen["legs"][0]["outcome_note"] == OUTCOME_NOTE
            assert seen["live"]["legs"][0]["outcome"]["note"] == OUTCOME_NOTE
        page = await (await api.get(f"/referrals/{number}", cookies=cora_page)).text()
        assert OUTCOME_NOTE in page
        # Operations staff see that there is a note, never what it says.
        hidden = await (await api.get(f"/api/referrals/{number}", headers=ops)).json()
        assert hidden["legs"][0]["outcome_note"] == "(withheld)"
        assert hidden["live"]["legs"][0]["outcome"]["note"] == "(withheld)"
        assert hidden["legs"][0]["outcome_code"] == "got_help"
        page = await (await api.get(f"/referrals/{number}", cookies=ops_page)).text()
        assert "Got help" in page or "got help" in page
        assert OUTCOME_NOTE not in page
        resp = await api.post(
            f"/api/referrals/{number}/withdraw-consent",
            json={"reason": WITHDRAW},
            headers=coordinator,
        )
        assert resp.status == 200, await resp.text()
        assert OUTCOME_NOTE not in await resp.text()
        final = await handle.result()
        assert final.status is ReferralStatus.CONSENT_WITHDRAWN
        after = await (await api.get(f"/api/referrals/{number}", headers=coordinator)).text()
    assert OUTCOME_NOTE not in after
    assert not _on_disk(world.sessions, OUTCOME_NOTE)
    # The CAB has email and a webhook, and was told to stop: neither carried the note.
    assert len(world.smtp.to("intake@cab.example")) >= 2
    assert {e["event"] for e in world.webhooks.events} >= {"referral.leg_stopped"}
    assert not _sent_anywhere(world, OUTCOME_NOTE)


async def test_a_blank_or_overlong_note_is_no_note_or_refused(world: World, bearer: Bearer) -> None:
    handle = await world.submit(submission(Need(category="benefits_debt")))
    view = await world.until(handle, lambda v: len(v.legs) == 1)
    leg_id = view.legs[0].leg_id
    cab_api = await bearer(Role.AGENCY, agency_id="cab")
    async with serve(world) as api:
        assert (await api.post(f"/api/legs/{leg_id}/accept", json={}, headers=cab_api)).ok
        long = await api.post(
            f"/api/legs/{leg_id}/outcome",
            json={"code": "got_help", "note": "x" * 1001},
            headers=cab_api,
        )
        assert long.status == 422, await long.text()
        assert "note" in await long.text()
        blank = await api.post(
            f"/api/legs/{leg_id}/outcome",
            json={"code": "got_help", "note": " \n "},
            headers=cab_api,
        )
        assert blank.status == 200, await blank.text()
        assert (await blank.json())["outcome"]["note"] is None
