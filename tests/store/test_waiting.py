"""What waits on whom: the overview's lines and the referral list's "waiting on" filter."""

from datetime import UTC, datetime, timedelta

from domain.waiting import OpenLeg, Party, Pressure, due_soon_until, waiting_on
from store.db import Sessions
from store.overview import read_overview
from store.referrals import ReferralFilter, list_referrals
from store.schema import (
    NotificationFailure,
    OrganisationRow,
    PartnershipRow,
    ReferralLegRow,
    ReferralNeedRow,
    ReferralRow,
)
from store.waiting import agencies_of, open_legs_of, unallocated_counts, waiting_lines

# Tuesday 24 November 2026, 10:00: a working day, so "due soon" ends Wednesday 10:00.
NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)


def _referral(number: str, *, status: str = "open") -> ReferralRow:
    return ReferralRow(
        number=number,
        source="reach_out",
        ward="pier",
        status=status,
        urgency="routine",
        breached=False,
        submitted_by="u",
        consent={"agency_ids": []},
        status_reason="",
        personal_data_erased=False,
        created_at=NOW - timedelta(days=3),
        updated_at=NOW,
    )


def _leg(
    number: str, agency: str, state: str, deadline: timedelta, **more: object
) -> ReferralLegRow:
    fields: dict[str, object] = {"breached": False, **more}
    return ReferralLegRow(
        leg_id=f"{number}-L1",
        number=number,
        need_id="N1",
        category="benefits_debt",
        urgency="routine",
        service_id=f"{agency}-svc",
        agency_id=agency,
        state=state,
        route_reason="",
        sent_at=NOW - timedelta(days=2),
        deadline=NOW + deadline,
        updated_at=NOW,
        **fields,
    )


async def _seed(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        session.add_all(
            [
                OrganisationRow(id="cab", name="Citizens Advice", data={}, last_modified=NOW),
                OrganisationRow(id="council", name="Council Housing", data={}, last_modified=NOW),
            ]
        )
        for n in range(1, 7):
            session.add(_referral(f"R{n}", status="follow_up" if n == 6 else "open"))
        await session.flush()
        session.add_all(
            [
                _leg("R1", "cab", "sent", -timedelta(hours=1)),  # breached
                _leg("R2", "cab", "sent", timedelta(hours=5)),  # due within a working day
                _leg("R3", "cab", "sent", timedelta(days=4)),  # in time
                _leg("R4", "council", "accepted", -timedelta(days=1), answered_at=NOW),
                _leg(
                    "R5",
                    "council",
                    "sent",
                    -timedelta(days=1),
                    breached=True,
                    escalated_at=NOW - timedelta(hours=2),
                ),
            ]
        )
        session.add(
            ReferralNeedRow(
                number="R6",
                need_id="N2",
                category="housing",
                urgency="routine",
                state="unallocated",
            )
        )
        session.add(
            PartnershipRow(
                id="interaction",
                name="Interaction",
                strategic=True,
                stage="implement",
                cycle=1,
                next_deadline=NOW - timedelta(days=1),
                overdue=True,
                updated_at=NOW,
            )
        )
        session.add(
            NotificationFailure(
                idempotency_key="k1",
                channel="webhook",
                recipient="https://cab.example/hook",
                subject_ref="R1",
                workflow_id="R1-L1",
                attempts=60,
                last_error="webhook failed: HTTP 500",
                first_failed_at=NOW - timedelta(days=1),
                last_failed_at=NOW,
                gave_up=True,
            )
        )


async def test_lines_say_who_must_act_breached_and_due_soon_apart(sessions: Sessions) -> None:
    await _seed(sessions)
    lines = await waiting_lines(sessions, now=NOW, due_by=due_soon_until(NOW))
    by = {(line.who, line.work.split()[0]): line for line in lines}
    cab = by[("cab", "referrals")]
    assert (cab.name, cab.total, cab.breached, cab.due_soon) == ("Citizens Advice", 3, 1, 1)
    assert cab.pressure is Pressure.BREACHED
    assert cab.link == "/referrals?waiting_on=agency&agency=cab"
    assert by[("council", "outcomes")].total == 1
    assert by[("council", "referrals")].breached == 1
    escalations = by[("coordinator", "escalations:")]
    assert (escalations.total, escalations.party) == (1, Party.COORDINATOR)
    assert by[("coordinator", "unallocated")].total == 1
    assert by[("partners", "partnership")].breached == 1
    # Most breached first.
    assert lines[0].breached >= lines[-1].breached


async def test_overview_counts_failing_notices_and_links_them(sessions: Sessions) -> None:
    await _seed(sessions)
    overview = await read_overview(sessions)
    assert (overview.failing_total, overview.failing_need_a_person) == (1, 1)
    [failing] = overview.failing_notifications
    assert failing.link == "/referrals/R1"


async def test_the_list_filters_by_who_must_act(sessions: Sessions) -> None:
    await _seed(sessions)

    async def numbers(**where: object) -> list[str]:
        page = await list_referrals(sessions, ReferralFilter.model_validate(where))
        return sorted(r.number for r in page.items)

    assert await numbers(waiting_on="agency", agency_id="cab") == ["R1", "R2", "R3"]
    assert await numbers(waiting_on="agency") == ["R1", "R2", "R3", "R4", "R5"]
    assert await numbers(waiting_on="coordinator") == ["R5", "R6"]
    assert await numbers(waiting_on="referrer") == ["R6"]
    legs = await open_legs_of(sessions, ["R4", "R5", "R6"])
    assert legs["R6"] == []
    assert waiting_on(status="open", open_legs=legs["R5"], unallocated_needs=0) == [
        (Party.COORDINATOR, None, "an escalation"),
        (Party.AGENCY, "council", "an answer"),
    ]
    assert await agencies_of(sessions, ["R4"]) == {"R4": ["council"]}
    assert await unallocated_counts(sessions, ["R5", "R6"]) == {"R6": 1}


def test_waiting_on_a_referral() -> None:
    legs = [OpenLeg(agency_id="cab", state="accepted")]
    assert waiting_on(status="open", open_legs=legs, unallocated_needs=1) == [
        (Party.COORDINATOR, None, "an unallocated need"),
        (Party.AGENCY, "cab", "an outcome"),
    ]
    assert waiting_on(status="follow_up", open_legs=[], unallocated_needs=0) == [
        (Party.REFERRER, None, "the follow-up")
    ]
    assert waiting_on(status="closed", open_legs=[], unallocated_needs=0) == []
