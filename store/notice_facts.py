"""What a referral notice may say about a referral: words that identify no one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete

from domain.directory import Organisation
from store.db import Sessions
from store.schema import AgencyEmailDetails, OrganisationRow, ReferralNeedRow, ReferralRow


@dataclass(frozen=True, kw_only=True)
class NoticeFacts:
    """The referral's ward, how it came and, for a need, its category and urgency (codes);
    the referring organisation and how to reach it (the directory's, never a person's)."""

    ward: str | None = None
    category: str | None = None
    urgency: str | None = None
    source: str | None = None
    referrer_organisation: str | None = None
    referrer_contact: str | None = None


async def notice_facts(sessions: Sessions, number: str, need_id: str | None) -> NoticeFacts:
    """The ward of ``number`` and the category and urgency of its need ``need_id``."""
    async with sessions() as session:
        referral = await session.get(ReferralRow, number)
        need = await session.get(ReferralNeedRow, (number, need_id)) if need_id else None
        referrer_id = referral.referrer_agency_id if referral else None
        organisation_row = await session.get(OrganisationRow, referrer_id) if referrer_id else None
    organisation = Organisation.model_validate(organisation_row.data) if organisation_row else None
    contact = None
    if organisation is not None:
        ways = [way for way in (organisation.phone, organisation.email) if way]
        contact = " or ".join(str(way) for way in ways) or None
    return NoticeFacts(
        ward=referral.ward if referral else None,
        category=need.category if need else None,
        urgency=need.urgency if need else (referral.urgency if referral else None),
        source=referral.source if referral else None,
        referrer_organisation=organisation.name if organisation else None,
        referrer_contact=contact,
    )


async def sends_details_by_email(sessions: Sessions, agency_id: str) -> bool:
    """Whether ``agency_id`` was set to receive residents' details by email (off by default)."""
    async with sessions() as session:
        return await session.get(AgencyEmailDetails, agency_id) is not None


async def set_email_details(
    sessions: Sessions, agency_id: str, *, lawful_reason: str | None, by: str, at: datetime
) -> None:
    """Turn details by email on for ``agency_id`` with its lawful reason, or off (None)."""
    async with sessions.begin() as session:
        await session.execute(
            delete(AgencyEmailDetails).where(AgencyEmailDetails.agency_id == agency_id)
        )
        if lawful_reason is not None:
            session.add(
                AgencyEmailDetails(
                    agency_id=agency_id, lawful_reason=lawful_reason, set_by=by, set_at=at
                )
            )
