"""What the referral service offers partnerships when an outcome is recorded: the outcome as
anonymous facts, and the partnerships whose indicators take actuals now."""

from __future__ import annotations

from sqlalchemy import select

from domain.outcome_binding import ReferralOutcomeFact
from domain.partnership import Stage
from store.db import Sessions
from store.schema import PartnershipRow, ReferralOutcomeRow, ReferralRow

TAKING_ACTUALS = (Stage.IMPLEMENT.value, Stage.REVIEW.value)


async def outcome_fact(sessions: Sessions, leg_id: str) -> ReferralOutcomeFact | None:
    """The recorded outcome of ``leg_id`` with its referral's ward, or None if none is."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(ReferralOutcomeRow, ReferralRow.ward)
                .join(ReferralRow, ReferralRow.number == ReferralOutcomeRow.number)
                .where(ReferralOutcomeRow.leg_id == leg_id)
            )
        ).first()
    if row is None:
        return None
    outcome, ward = row
    return ReferralOutcomeFact(
        outcome_id=outcome.leg_id,
        number=outcome.number,
        ward=ward,
        category=outcome.category,
        code=outcome.code,
        value=outcome.value,
        unit=outcome.unit,
        recorded_at=outcome.recorded_at,
    )


async def partnerships_taking_actuals(sessions: Sessions) -> list[str]:
    """Ids of the partnerships in Implement or Review, whose indicators take actuals."""
    async with sessions() as session:
        return list(
            (
                await session.scalars(
                    select(PartnershipRow.id)
                    .where(PartnershipRow.stage.in_(TAKING_ACTUALS))
                    .order_by(PartnershipRow.id)
                )
            ).all()
        )
