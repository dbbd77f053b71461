"""Referrals in the store: numbers, the resident's personal data, and the read model.

The API saves a submission (with its personal data) before starting the workflow; the
workflow's record activities keep the anonymous read model current; notices load the
personal data at send time; erasure removes it and leaves the statistics.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain.referral import (
    Consent,
    ReferralSubmission,
    Referrer,
    Resident,
    format_referral_number,
)
from domain.referral_records import LegRecord, ReferralEvent, ReferralRecord
from store.db import Sessions
from store.schema import (
    NotificationRecord,
    ReferralEventRow,
    ReferralLegRow,
    ReferralNeedRow,
    ReferralOutcomeRow,
    ReferralRow,
    ReferralSequence,
    ResidentRow,
)

ERASED = "[erased]"


class PersonalData(BaseModel):
    """Everything personal about one referral, as the notices need it."""

    resident: Resident
    need_notes: dict[str, str]
    referrer: Referrer


async def next_referral_number(sessions: Sessions, prefix: str, year: int) -> str:
    """Issue the next number for ``prefix`` and ``year``, e.g. ``TEN-2026-000124``.

    One atomic upsert per number, so concurrent submissions never share one.
    """
    async with sessions.begin() as session:
        insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
        statement = (
            insert(ReferralSequence)
            .values(prefix=prefix, year=year, last=1)
            .on_conflict_do_update(
                index_elements=["prefix", "year"], set_={"last": ReferralSequence.last + 1}
            )
            .returning(ReferralSequence.last)
        )
        sequence = (await session.execute(statement)).scalar_one()
    return format_referral_number(prefix, year, sequence)


async def save_referral(
    sessions: Sessions,
    number: str,
    submission: ReferralSubmission,
    *,
    submitted_by: str,
    at: datetime,
) -> None:
    """Store a new referral: its anonymous row and needs, and its personal data apart."""
    async with sessions.begin() as session:
        session.add(
            ReferralRow(
                number=number,
                source=submission.source.value,
                ward=submission.ward,
                status="open",
                urgency=max(
                    (n.urgency for n in submission.needs),
                    key=["routine", "urgent", "emergency"].index,
                ).value,
                breached=False,
                submitted_by=submitted_by,
                referrer_agency_id=submission.referrer.agency_id,
                consent=submission.consent.model_dump(mode="json"),
                status_reason="",
                personal_data_erased=False,
                created_at=at,
                updated_at=at,
            )
        )
        await session.flush()
        for i, need in enumerate(submission.needs, start=1):
            session.add(
                ReferralNeedRow(
                    number=number,
                    need_id=f"N{i}",
                    category=need.category.value,
                    urgency=need.urgency.value,
                    state="routing",
                    tried_service_ids=[],
                    reason="",
                )
            )
        resident = submission.resident
        session.add(
            ResidentRow(
                number=number,
                name=resident.name,
                date_of_birth=resident.date_of_birth,
                address=resident.address,
                postcode=resident.postcode,
                phone=resident.phone,
                email=resident.email,
                need_notes={
                    f"N{i}": need.notes
                    for i, need in enumerate(submission.needs, start=1)
                    if need.notes
                },
                referrer_name=submission.referrer.name,
                referrer_email=submission.referrer.email,
            )
        )


async def load_personal_data(sessions: Sessions, number: str) -> PersonalData | None:
    """The resident's and referrer's details, or None once erased."""
    async with sessions() as session:
        row = await session.get(ResidentRow, number)
        referral = await session.get(ReferralRow, number)
    if row is None:
        return None
    return PersonalData(
        resident=Resident(
            name=row.name,
            date_of_birth=row.date_of_birth,
            address=row.address,
            postcode=row.postcode,
            phone=row.phone,
            email=row.email,
        ),
        need_notes=dict(row.need_notes),
        referrer=Referrer(
            name=row.referrer_name,
            email=row.referrer_email,
            agency_id=referral.referrer_agency_id if referral else None,
        ),
    )


async def erase_personal_data(sessions: Sessions, number: str) -> bool:
    """Erase the resident's personal data for ``number``; keep the anonymous statistics.

    On SQLite the row is deleted with ``secure_delete`` on (freed content is zeroed) and
    the write-ahead log is truncated afterwards, so the data is gone from the files, not
    only from queries. Addresses in the notification ledger are blanked too. Returns
    whether there was anything to erase.
    """
    async with sessions.begin() as session:
        is_sqlite = _dialect(session) == "sqlite"
        if is_sqlite:
            await session.execute(text("PRAGMA secure_delete=ON"))
        # Overwrite before deleting so no page keeps the old values, whatever the engine.
        await session.execute(
            update(ResidentRow)
            .where(ResidentRow.number == number)
            .values(
                name=ERASED,
                date_of_birth=None,
                address=None,
                postcode=None,
                phone=None,
                email=None,
                need_notes={},
                referrer_name=ERASED,
                referrer_email=None,
            )
        )
        deleted = await session.execute(delete(ResidentRow).where(ResidentRow.number == number))
        await session.execute(
            update(NotificationRecord)
            .where(NotificationRecord.subject_ref == number, NotificationRecord.channel == "email")
            .values(recipient=ERASED)
        )
        await session.execute(
            update(ReferralRow)
            .where(ReferralRow.number == number)
            .values(personal_data_erased=True)
        )
        erased = bool(getattr(deleted, "rowcount", 0))
    if is_sqlite:
        async with sessions() as session:
            connection = await session.connection()
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return erased


async def record_referral(sessions: Sessions, record: ReferralRecord) -> None:
    """Upsert the referral's row and needs and add its new events (idempotent)."""
    view = record.view
    async with sessions.begin() as session:
        row = await session.get(ReferralRow, view.number)
        if row is None:
            row = ReferralRow(
                number=view.number,
                submitted_by="",
                consent=Consent(agency_ids=view.consent_agency_ids).model_dump(mode="json"),
                created_at=view.created_at,
            )
            session.add(row)
        row.source = view.source.value
        row.ward = view.ward
        row.status = view.status.value
        row.urgency = view.urgency.value
        row.breached = view.breached
        row.next_deadline = view.next_deadline
        row.status_reason = view.status_reason
        row.follow_up_due_at = view.follow_up_due_at
        row.follow_up_made_difference = view.follow_up.made_difference if view.follow_up else None
        row.follow_up_score = view.follow_up.score if view.follow_up else None
        row.personal_data_erased = view.personal_data_erased
        if view.personal_data_erased:
            row.consent = {**row.consent, "agency_ids": [], "withdrawn": True}
        row.updated_at = view.updated_at
        await session.flush()
        for need in view.needs:
            await session.merge(
                ReferralNeedRow(
                    number=view.number,
                    need_id=need.need_id,
                    category=need.category.value,
                    urgency=need.urgency.value,
                    state=need.state.value,
                    signposted_service_id=need.signposted_service_id,
                    tried_service_ids=list(need.tried_service_ids),
                    reason=need.reason,
                )
            )
        await _add_events(session, record.events)


async def record_leg(sessions: Sessions, record: LegRecord) -> None:
    """Upsert a leg, its outcome if any, and add its new events (idempotent)."""
    leg = record.view
    async with sessions.begin() as session:
        await session.merge(
            ReferralLegRow(
                leg_id=leg.leg_id,
                number=leg.number,
                need_id=leg.need_id,
                category=leg.category.value,
                urgency=leg.urgency.value,
                service_id=leg.service_id,
                agency_id=leg.agency_id,
                state=leg.state.value,
                route_reason=leg.route_reason,
                breached=leg.breached,
                sent_at=leg.sent_at,
                deadline=leg.deadline,
                reminded_at=leg.reminded_at,
                escalated_at=leg.escalated_at,
                decline_reason=leg.decline_reason,
                withdraw_reason=leg.withdraw_reason,
                updated_at=leg.updated_at,
            )
        )
        if leg.outcome is not None and leg.outcome_at is not None:
            await session.merge(
                ReferralOutcomeRow(
                    leg_id=leg.leg_id,
                    number=leg.number,
                    need_id=leg.need_id,
                    category=leg.category.value,
                    service_id=leg.service_id,
                    agency_id=leg.agency_id,
                    code=leg.outcome.code.value,
                    value=leg.outcome.value,
                    unit=leg.outcome.unit,
                    recorded_at=leg.outcome_at,
                )
            )
        await _add_events(session, record.events)


async def _add_events(session: AsyncSession, events: list[ReferralEvent]) -> None:
    if not events:
        return
    ids = [e.event_id for e in events]
    existing = set(
        (
            await session.scalars(
                select(ReferralEventRow.event_id).where(ReferralEventRow.event_id.in_(ids))
            )
        ).all()
    )
    for event in events:
        if event.event_id not in existing:
            session.add(ReferralEventRow(**event.model_dump()))


def _dialect(session: AsyncSession) -> str:
    bind: Any = session.bind
    return str(bind.dialect.name)


async def consented_agencies(sessions: Sessions, number: str) -> set[str]:
    """Agencies the resident agreed may receive their details (none once withdrawn)."""
    async with sessions() as session:
        row = await session.get(ReferralRow, number)
    if row is None or row.personal_data_erased:
        return set()
    return set(
        Consent.model_validate(
            {k: v for k, v in row.consent.items() if k != "withdrawn"}
        ).agency_ids
    )
