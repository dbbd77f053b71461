"""An agency's worklist: most pressing first, counts by state, finished legs under "recent"."""

from datetime import timedelta

from domain.waiting import Pressure
from store.db import Sessions
from store.schema import ReferralLegRow, ReferralOutcomeRow
from store.worklists import worklist_view
from tests.store.test_waiting import NOW, _leg, _referral


async def test_the_worklist_puts_the_most_pressing_first_and_finished_legs_apart(
    sessions: Sessions,
) -> None:
    async with sessions.begin() as session:
        for n in range(1, 8):
            session.add(_referral(f"R{n}"))
        await session.flush()
        session.add_all(
            [
                _leg("R1", "cab", "sent", timedelta(days=4)),
                _leg("R2", "cab", "sent", -timedelta(hours=1)),
                _leg("R3", "cab", "sent", timedelta(hours=3)),
                _leg("R4", "cab", "accepted", -timedelta(days=2), answered_at=NOW),
                _leg("R5", "cab", "outcome_recorded", -timedelta(days=2)),
                _leg("R6", "cab", "declined", -timedelta(days=2)),
                _leg("R7", "council", "sent", -timedelta(days=2)),
            ]
        )
        session.add(
            ReferralOutcomeRow(
                leg_id="R5-L1",
                number="R5",
                need_id="N1",
                category="benefits_debt",
                service_id="cab-svc",
                agency_id="cab",
                code="got_help",
                value=1240.0,
                unit="GBP",
                recorded_at=NOW,
            )
        )
    todo = await worklist_view(sessions, "cab", recent=False, now=NOW)
    assert [r.leg_id for r in todo.rows] == ["R2-L1", "R3-L1", "R1-L1", "R4-L1"]
    assert [r.pressure for r in todo.rows[:3]] == [
        Pressure.BREACHED,
        Pressure.DUE_SOON,
        Pressure.WAITING,
    ]
    assert todo.counts == {"sent": 3, "accepted": 1, "outcome_recorded": 1, "declined": 1}
    assert (todo.to_answer_breached, todo.total) == (1, 4)
    done = await worklist_view(sessions, "cab", recent=True, now=NOW)
    assert sorted(r.leg_id for r in done.rows) == ["R5-L1", "R6-L1"]
    got_help = next(r for r in done.rows if r.leg_id == "R5-L1")
    assert (got_help.outcome_code, got_help.outcome_value, got_help.ward) == (
        "got_help",
        1240,
        "pier",
    )
    # Finished more than 30 days ago: off the recent tab.
    async with sessions.begin() as session:
        row = await session.get(ReferralLegRow, "R6-L1")
        assert row is not None
        row.updated_at = NOW - timedelta(days=31)
    done = await worklist_view(sessions, "cab", recent=True, now=NOW)
    assert [r.leg_id for r in done.rows] == ["R5-L1"]
