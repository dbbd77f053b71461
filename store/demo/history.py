"""A made-up history of referrals written straight into the read model: what the dashboard's
benchmark (100,000 referrals) and its screenshots (a few dozen) show.

Only anonymous rows are written (referrals, needs, legs, outcomes), the way the workflows'
record steps leave them; no resident, no workflow. The same seed gives the same history.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import insert

from domain.agency_stats import answer_working_days, answered_late
from domain.declines import DeclineReason
from domain.directory import Urgency
from domain.referral import response_deadline
from store.db import Sessions
from store.schema import ReferralLegRow, ReferralNeedRow, ReferralOutcomeRow, ReferralRow

_CHUNK = 2_000


class HistoryService(BaseModel):
    """A service the history sends legs to."""

    id: str
    agency_id: str
    category: str


class HistoryShape(BaseModel):
    """What the made-up history looks like."""

    referrals: int
    services: list[HistoryService]
    wards: list[str]
    now: datetime
    days: int = 365
    """How far back the referrals go."""
    open_share: float = 0.08
    """Share of referrals still open (sent, accepted or in progress)."""
    seed: int = 17
    prefix: str = "HIS"


async def seed_history(sessions: Sessions, shape: HistoryShape) -> int:
    """Write ``shape.referrals`` referrals with one leg each; the number written."""
    rng = random.Random(shape.seed)
    sources = ["reach_out"] * 5 + ["web_signposting"] * 3 + ["agency"] * 2
    urgencies = [Urgency.ROUTINE] * 7 + [Urgency.URGENT] * 2 + [Urgency.EMERGENCY]
    span = timedelta(days=shape.days)
    rows: dict[str, list[dict[str, Any]]] = {"r": [], "n": [], "l": [], "o": []}
    written = 0
    for i in range(shape.referrals):
        # Newer referrals are likelier: a service that grew over the year.
        created = shape.now - span * (1 - rng.random() ** 0.7)
        number = f"{shape.prefix}-{created.year}-{i + 1:06d}"
        service = rng.choice(shape.services)
        urgency = rng.choice(urgencies)
        deadline = response_deadline(created, urgency)
        still_open = (
            created > shape.now - timedelta(days=40) and rng.random() < shape.open_share * 4
        )
        state, answer, answered_at, status = _fate(rng, created, deadline, shape.now, still_open)
        breached = (answered_at is None and deadline < shape.now) or (
            answered_at is not None and answered_at > deadline
        )
        rows["r"].append(
            {
                "number": number,
                "source": rng.choice(sources),
                "ward": rng.choice(shape.wards),
                "status": status,
                "urgency": urgency.value,
                "breached": breached and status == "open",
                "next_deadline": deadline if state == "sent" else None,
                "submitted_by": "history",
                "consent": {"agency_ids": [service.agency_id]},
                "status_reason": "",
                "personal_data_erased": True,
                "created_at": created,
                "updated_at": answered_at or created,
            }
        )
        rows["n"].append(
            {
                "number": number,
                "need_id": "N1",
                "category": service.category,
                "urgency": urgency.value,
                "state": "outcome_recorded"
                if state in ("outcome_recorded", "closed")
                else "referred",
                "tried_service_ids": [],
                "reason": "",
            }
        )
        rows["l"].append(
            {
                "leg_id": f"{number}-L1",
                "number": number,
                "need_id": "N1",
                "category": service.category,
                "urgency": urgency.value,
                "service_id": service.id,
                "agency_id": service.agency_id,
                "state": state,
                "route_reason": "",
                "breached": breached,
                "sent_at": created,
                "deadline": deadline,
                "updated_at": answered_at or created,
                "answered_at": answered_at,
                "answer": answer,
                # Spread over the list without drawing from rng: the rest of the history stays
                # as it was for a given seed.
                "decline_why": _DEMO_DECLINES[i % len(_DEMO_DECLINES)].value
                if answer == "declined"
                else None,
                "answer_working_days": answer_working_days(created, answered_at)
                if answered_at
                else None,
                "answered_late": bool(
                    answered_at and answered_late(answered_at=answered_at, deadline=deadline)
                ),
            }
        )
        if state in ("outcome_recorded", "closed") and answered_at is not None:
            got_help = rng.random() < 0.7
            rows["o"].append(
                {
                    "leg_id": f"{number}-L1",
                    "number": number,
                    "need_id": "N1",
                    "category": service.category,
                    "service_id": service.id,
                    "agency_id": service.agency_id,
                    "code": "got_help" if got_help else "could_not_contact",
                    "value": float(rng.randrange(50, 3000, 10))
                    if got_help and service.category == "benefits_debt"
                    else None,
                    "unit": "GBP" if got_help and service.category == "benefits_debt" else None,
                    "recorded_at": answered_at + timedelta(days=rng.randint(3, 30)),
                }
            )
        if len(rows["r"]) >= _CHUNK:
            written += await _flush(sessions, rows)
    written += await _flush(sessions, rows)
    return written


# Lack of room is the commonest reason agencies give; every reason appears.
_DEMO_DECLINES = (
    DeclineReason.NO_CAPACITY,
    DeclineReason.NOT_ELIGIBLE,
    DeclineReason.NO_CAPACITY,
    DeclineReason.CANNOT_CONTACT,
    DeclineReason.RESIDENT_DECLINED,
    DeclineReason.NO_CAPACITY,
    DeclineReason.BETTER_SERVED_ELSEWHERE,
    DeclineReason.OTHER,
)


def _fate(
    rng: random.Random, created: datetime, deadline: datetime, now: datetime, still_open: bool
) -> tuple[str, str | None, datetime | None, str]:
    """(leg state, answer, answered at, referral status) for one made-up leg."""
    # Most agencies answer within a working day or two; a few are slow.
    delay = timedelta(
        hours=rng.expovariate(1 / 20) if rng.random() < 0.85 else rng.uniform(48, 240)
    )
    answered = created + delay
    if still_open:
        if answered > now or rng.random() < 0.4:
            return "sent", None, None, "open"
        return rng.choice(["accepted", "in_progress"]), "accepted", answered, "open"
    roll = rng.random()
    if roll < 0.12:
        return "declined", "declined", answered, "closed"
    if roll < 0.16:
        return "expired", None, None, "closed"
    if roll < 0.19:
        return "withdrawn", None, None, "withdrawn"
    return ("closed" if roll < 0.9 else "outcome_recorded"), "accepted", answered, "closed"


async def _flush(sessions: Sessions, rows: dict[str, list[dict[str, Any]]]) -> int:
    count = len(rows["r"])
    if not count:
        return 0
    async with sessions.begin() as session:
        for table, key in (
            (ReferralRow, "r"),
            (ReferralNeedRow, "n"),
            (ReferralLegRow, "l"),
            (ReferralOutcomeRow, "o"),
        ):
            if rows[key]:
                await session.execute(insert(table), rows[key])
            rows[key].clear()
    return count


def services_of(directory_services: Sequence[Any]) -> list[HistoryService]:
    """One history service per directory service and need category it meets."""
    return [
        HistoryService(id=s.id, agency_id=s.organisation_id, category=c.value)
        for s in directory_services
        for c in s.categories
    ]
