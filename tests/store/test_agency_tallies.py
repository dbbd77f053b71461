"""The agencies' statistics from the store agree with the rules in domain.agency_stats."""

from datetime import UTC, datetime, timedelta

from domain.agency_stats import LegFacts, agency_statistics, tally
from domain.declines import DeclineReason
from domain.directory import NeedCategory, Urgency
from domain.referral import LegState, LegView
from domain.referral_records import LegRecord, ReferralEvent
from store.db import Sessions
from store.referral_stats import agency_statistics_from_store, agency_tallies
from store.referrals import record_leg, save_referral
from tests.helpers.referral_world import submission

MON = datetime(2026, 11, 2, 9, tzinfo=UTC)
NOW = MON + timedelta(days=21)

# (agency, final state, answer, answered after, deadline after)
LEGS = [
    ("cab", LegState.CLOSED, "accepted", timedelta(hours=12), timedelta(days=7)),
    ("cab", LegState.IN_PROGRESS, "accepted", timedelta(days=1), timedelta(days=7)),
    ("cab", LegState.DECLINED, "declined", timedelta(days=2), timedelta(days=7)),
    ("cab", LegState.DECLINED, "declined", timedelta(days=1), timedelta(days=7)),
    ("cab", LegState.OUTCOME_RECORDED, "accepted", timedelta(days=9), timedelta(days=7)),
    ("cab", LegState.SENT, None, None, timedelta(days=7)),
    ("cab", LegState.SENT, None, None, timedelta(days=30)),
    ("cab", LegState.WITHDRAWN, None, None, timedelta(days=7)),
    ("cab", LegState.EXPIRED, None, None, timedelta(days=7)),
    ("police", LegState.ACCEPTED, "accepted", timedelta(hours=2), timedelta(days=1)),
    ("police", LegState.DECLINED, "declined", timedelta(days=1), timedelta(days=7)),
]
# The declines' reasons, by leg: the cab's second decline is from before there was a list.
WHY = {3: DeclineReason.NO_CAPACITY, 11: DeclineReason.CANNOT_CONTACT}


async def _record(sessions: Sessions) -> list[LegFacts]:
    facts = []
    for n, (agency, state, answer, after, due) in enumerate(LEGS, start=1):
        number = f"TEN-2026-{n:06d}"
        await save_referral(sessions, number, submission(), submitted_by="u", at=MON)
        view = LegView(
            leg_id=f"{number}-L1",
            number=number,
            need_id="N1",
            category=NeedCategory.BENEFITS_DEBT,
            urgency=Urgency.ROUTINE,
            service_id=f"{agency}-svc",
            agency_id=agency,
            route_reason="best",
            state=LegState.SENT,
            sent_at=MON,
            deadline=MON + due,
            updated_at=MON,
        )
        # As the workflow records it: sent, then answered, then on to its final state.
        await record_leg(sessions, LegRecord(view=view))
        if answer is not None:
            answered = MON + after
            event = ReferralEvent(
                event_id=f"e{n}",
                number=number,
                leg_id=view.leg_id,
                at=answered,
                kind=answer,
                actor="staff",
            )
            moved = view.model_copy(
                update={
                    "state": LegState(answer),
                    "updated_at": answered,
                    "decline_why": WHY.get(n),
                }
            )
            await record_leg(sessions, LegRecord(view=moved, events=[event]))
        final = view.model_copy(
            update={"state": state, "updated_at": NOW, "decline_why": WHY.get(n)}
        )
        await record_leg(sessions, LegRecord(view=final))
        facts.append(
            LegFacts(
                agency_id=agency,
                state=state.value,
                sent_at=MON,
                deadline=MON + due,
                answered_at=MON + after if after is not None else None,
                answer=answer,
                answered_late=after is not None and after > due,
                decline_why=WHY.get(n),
            )
        )
    return facts


async def test_store_tallies_match_the_domain_rules(sessions: Sessions) -> None:
    facts = await _record(sessions)
    assert await agency_tallies(sessions, now=NOW) == tally(facts, now=NOW)
    from_store = await agency_statistics_from_store(sessions, now=NOW)
    assert from_store == agency_statistics(tally(facts, now=NOW), {})
    cab = next(s for s in from_store if s.agency_id == "cab")
    assert (cab.received, cab.late_percent, cab.median_working_days) == (9, 33.3, 1.0)
    assert cab.declines_by_reason == {
        **dict.fromkeys(DeclineReason, 0),
        DeclineReason.NO_CAPACITY: 1,
        DeclineReason.OTHER: 1,
    }
    police = next(s for s in from_store if s.agency_id == "police")
    assert police.declines_by_reason[DeclineReason.CANNOT_CONTACT] == 1
