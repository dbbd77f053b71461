"""Referrals in the store: numbers, the resident's personal data, and the read model.

The API saves a submission (with its personal data) before starting the workflow; the
workflow's record activities keep the anonymous read model current; notices load the
personal data at send time; erasure removes it and leaves the statistics.

Longer than 400 lines on purpose: the referral read model's writes (from the workflows) and
reads (for the API) share its row shapes; they change together.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import FREE_TEXT_EVENTS
from domain.agency_stats import ANSWERS, answer_working_days, answered_late
from domain.declines import DeclineReason
from domain.directory import NeedCategory, Urgency
from domain.referral import (
    WAITING_LEG_STATES,
    Consent,
    LegState,
    Need,
    NeedState,
    OutcomeCode,
    ReferralSource,
    ReferralStatus,
    ReferralSubmission,
    Referrer,
    Resident,
    format_referral_number,
    highest_urgency,
)
from domain.referral_records import LegRecord, ReferralEvent, ReferralRecord
from domain.resident_match import (
    MATCHING_STATUSES,
    OpenReferral,
    ResidentDetails,
    open_referrals_for,
    postcode_key,
)
from store.data_keys import StoredDataKey, destroy_data_key
from store.db import Sessions
from store.schema import (
    DataKeyRow,
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
    data_key: StoredDataKey | None = None,
) -> None:
    """Store a new referral: its anonymous row and needs, and its personal data apart.

    With ``data_key`` (wrapped), the referral's data key is stored in the same transaction,
    so no referral step has to write one later.
    """
    async with sessions.begin() as session:
        session.add(
            ReferralRow(
                number=number,
                source=submission.source.value,
                ward=submission.ward,
                status="open",
                urgency=highest_urgency([n.urgency for n in submission.needs]).value,
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
        if data_key is not None:
            session.add(
                DataKeyRow(
                    key_id=data_key.key_id,
                    number=number,
                    master_key_id=data_key.master_key_id,
                    wrapped=data_key.wrapped,
                    created_at=at,
                    destroyed_at=None,
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
        # What agencies, referrers and co-ordinators wrote about the resident goes too.
        await session.execute(
            update(ReferralLegRow)
            .where(ReferralLegRow.number == number, ReferralLegRow.decline_reason.is_not(None))
            .values(decline_reason=ERASED)
        )
        await session.execute(
            update(ReferralLegRow)
            .where(ReferralLegRow.number == number, ReferralLegRow.withdraw_reason.is_not(None))
            .values(withdraw_reason=ERASED)
        )
        await session.execute(
            update(ReferralOutcomeRow)
            .where(ReferralOutcomeRow.number == number, ReferralOutcomeRow.note.is_not(None))
            .values(note=ERASED)
        )
        await session.execute(
            update(ReferralEventRow)
            .where(
                ReferralEventRow.number == number,
                ReferralEventRow.kind.in_(sorted(FREE_TEXT_EVENTS)),
                ReferralEventRow.detail != "",
            )
            .values(detail=ERASED)
        )
        await session.execute(
            update(ReferralRow)
            .where(ReferralRow.number == number, ReferralRow.status_reason != "")
            .values(status_reason=ERASED)
        )
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
        # Crypto-shredding: what workflow history holds sealed with this key is unreadable now.
        await destroy_data_key(session, number, at=datetime.now(UTC))
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
        # Once erased, free text arriving later (the withdrawal's reason) is not kept.
        erased = view.personal_data_erased or row.personal_data_erased
        row.status_reason = ERASED if erased and view.status_reason else view.status_reason
        row.follow_up_due_at = view.follow_up_due_at
        row.follow_up_made_difference = view.follow_up.made_difference if view.follow_up else None
        row.follow_up_score = view.follow_up.score if view.follow_up else None
        row.personal_data_erased = view.personal_data_erased
        if view.personal_data_erased:
            row.consent = {**row.consent, "agency_ids": [], "withdrawn": True}
        else:
            # Consent a co-ordinator recorded for one more agency joins the stored consent.
            known = list(row.consent.get("agency_ids", []))
            added = [a for a in view.consent_agency_ids if a not in known]
            if added:
                row.consent = {**row.consent, "agency_ids": known + added}
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
                    signposted_service_ids=list(need.signposted_service_ids),
                    unallocated_at=need.unallocated_at,
                    queue_overdue=need.queue_overdue,
                )
            )
        await _add_events(session, _kept(record.events, erased=erased))


async def record_leg(sessions: Sessions, record: LegRecord) -> None:
    """Upsert a leg, its outcome if any, and add its new events (idempotent)."""
    leg = record.view
    async with sessions.begin() as session:
        referral = await session.get(ReferralRow, leg.number)
        erased = referral is not None and referral.personal_data_erased
        if erased:
            leg = leg.model_copy(
                update={
                    "decline_reason": ERASED if leg.decline_reason else None,
                    "withdraw_reason": ERASED if leg.withdraw_reason else None,
                    "outcome": leg.outcome.note_replaced_by(ERASED) if leg.outcome else None,
                }
            )
        existing = await session.get(ReferralLegRow, leg.leg_id)
        row = await session.merge(
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
                decline_why=leg.decline_why.value if leg.decline_why else None,
                withdraw_reason=leg.withdraw_reason,
                accepted_at=leg.accepted_at,
                outcome_due_at=leg.outcome_due_at,
                outcome_overdue=leg.outcome_overdue,
                offered=leg.offered,
                offer_lost=leg.offer_lost,
                updated_at=leg.updated_at,
                answered_at=existing.answered_at if existing else None,
                answer=existing.answer if existing else None,
                answer_working_days=existing.answer_working_days if existing else None,
                answered_late=existing.answered_late if existing else False,
            )
        )
        if row.answered_at is None:
            _note_first_answer(row, record.events)
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
                    note=leg.outcome.note,
                    recorded_at=leg.outcome_at,
                )
            )
        await _add_events(session, _kept(record.events, erased=erased))


def _kept(events: list[ReferralEvent], *, erased: bool) -> list[ReferralEvent]:
    """The events to store: free text withheld once the resident's data is erased."""
    if not erased:
        return events
    return [
        e.model_copy(update={"detail": ERASED}) if e.kind in FREE_TEXT_EVENTS and e.detail else e
        for e in events
    ]


def _note_first_answer(row: ReferralLegRow, events: list[ReferralEvent]) -> None:
    """Keep the leg's first accept or decline, for the agencies' statistics."""
    answers = sorted((e for e in events if e.kind in ANSWERS), key=lambda e: e.at)
    if not answers:
        return
    first = answers[0]
    row.answered_at, row.answer = first.at, first.kind
    row.answer_working_days = answer_working_days(row.sent_at, first.at)
    row.answered_late = answered_late(answered_at=first.at, deadline=row.deadline)


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


async def open_referrals_of_resident(
    sessions: Sessions, resident: ResidentDetails
) -> list[OpenReferral]:
    """The open referrals whose resident is ``resident`` (:mod:`domain.resident_match`).

    The store narrows to open referrals with the same date of birth or postcode (spaces and
    case aside); the rule judges the names. Erased residents have no row left to find.
    """
    same_place: list[ColumnElement[bool]] = []
    if resident.date_of_birth is not None:
        same_place.append(ResidentRow.date_of_birth == resident.date_of_birth)
    code = postcode_key(resident.postcode)
    if code:
        squeezed = func.upper(func.replace(ResidentRow.postcode, " ", ""))
        same_place.append(squeezed == code)
    if not same_place:
        return []
    statuses = sorted(s.value for s in MATCHING_STATUSES)
    query = (
        select(ReferralRow, ResidentRow)
        .join(ResidentRow, ResidentRow.number == ReferralRow.number)
        .where(
            ReferralRow.status.in_(statuses),
            ReferralRow.personal_data_erased.is_(False),
            or_(*same_place),
        )
    )
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    return open_referrals_for(
        resident,
        (
            OpenReferral(
                number=referral.number,
                status=ReferralStatus(referral.status),
                submitted_by=referral.submitted_by,
                erased=referral.personal_data_erased,
                resident=ResidentDetails(
                    name=person.name,
                    date_of_birth=person.date_of_birth,
                    postcode=person.postcode,
                ),
            )
            for referral, person in rows
        ),
    )


async def claim_added_need(sessions: Sessions, number: str, need: Need) -> str | None:
    """Give a need joining referral ``number`` the next need id and keep its notes with the
    resident's details, before the workflow routes it (its notice reads them). None when the
    resident's details are erased. Two needs added at once cannot share an id: the id's row
    is the claim (a clash raises ``IntegrityError``)."""
    async with sessions.begin() as session:
        person = await session.get(ResidentRow, number)
        if person is None:
            return None
        ids = (
            await session.scalars(
                select(ReferralNeedRow.need_id).where(ReferralNeedRow.number == number)
            )
        ).all()
        need_id = f"N{max((int(i[1:]) for i in ids if i[1:].isdigit()), default=0) + 1}"
        session.add(
            ReferralNeedRow(
                number=number,
                need_id=need_id,
                category=need.category.value,
                urgency=need.urgency.value,
                state="routing",
                tried_service_ids=[],
                reason="",
            )
        )
        if need.notes:
            person.need_notes = {**person.need_notes, need_id: need.notes}
    return need_id


async def release_added_need(sessions: Sessions, number: str, need_id: str) -> None:
    """Forget a claimed need, and its notes, that the referral's workflow refused."""
    async with sessions.begin() as session:
        await session.execute(
            delete(ReferralNeedRow).where(
                ReferralNeedRow.number == number, ReferralNeedRow.need_id == need_id
            )
        )
        person = await session.get(ResidentRow, number)
        if person is not None and need_id in person.need_notes:
            person.need_notes = {k: v for k, v in person.need_notes.items() if k != need_id}


# --- Reading the read model ------------------------------------------------------------------


class ReferralFilter(BaseModel):
    """Filters of the referral list (all optional) and its page."""

    status: str | None = None
    ward: str | None = None
    agency_id: str | None = None
    urgency: str | None = None
    breached: bool | None = None
    submitted_by: str | None = None
    waiting_on: str | None = Field(
        default=None, description="agency, coordinator or referrer: who must act next."
    )
    created_from: datetime | None = None
    created_to: datetime | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class ReferralSummary(BaseModel):
    """One row of the referral list."""

    number: str
    source: ReferralSource
    ward: str
    status: ReferralStatus
    urgency: Urgency
    breached: bool
    next_deadline: datetime | None
    personal_data_erased: bool
    created_at: datetime
    updated_at: datetime


class ReferralPage(BaseModel):
    """A page of referrals, newest first, and how many match in all."""

    items: list[ReferralSummary]
    total: int
    limit: int
    offset: int


class StoredNeed(BaseModel):
    """A need as recorded."""

    need_id: str
    category: NeedCategory
    urgency: Urgency
    state: NeedState
    signposted_service_id: str | None
    tried_service_ids: list[str]
    reason: str
    signposted_service_ids: list[str] = Field(default_factory=list)
    unallocated_at: datetime | None = None
    queue_overdue: bool = False


class StoredLeg(BaseModel):
    """A leg as recorded, with its outcome if any."""

    leg_id: str
    need_id: str
    category: NeedCategory
    urgency: Urgency
    service_id: str
    agency_id: str
    state: LegState
    route_reason: str
    breached: bool
    sent_at: datetime
    deadline: datetime
    reminded_at: datetime | None
    escalated_at: datetime | None
    decline_reason: str | None
    withdraw_reason: str | None
    updated_at: datetime
    decline_why: DeclineReason | None = None
    accepted_at: datetime | None = None
    outcome_due_at: datetime | None = None
    outcome_overdue: bool = False
    offered: bool = False
    offer_lost: bool = False
    outcome_code: OutcomeCode | None = None
    outcome_value: float | None = None
    outcome_unit: str | None = None
    outcome_note: str | None = None
    outcome_at: datetime | None = None


class StoredEvent(BaseModel):
    """An event as recorded."""

    event_id: str
    leg_id: str | None
    need_id: str | None
    at: datetime
    kind: str
    actor: str
    detail: str


class ReferralFacts(BaseModel):
    """What the read model keeps of a referral beyond its list row: no personal data."""

    submitted_by: str
    referrer_agency_id: str | None
    consent_agency_ids: list[str]
    status_reason: str
    follow_up_due_at: datetime | None
    follow_up_made_difference: bool | None
    follow_up_score: int | None


class StoredReferral(ReferralFacts):
    """One referral from the read model: no personal data."""

    summary: ReferralSummary
    needs: list[StoredNeed]
    legs: list[StoredLeg]
    events: list[StoredEvent]


def _summary(row: ReferralRow) -> ReferralSummary:
    return ReferralSummary.model_validate(row, from_attributes=True)


async def list_referrals(sessions: Sessions, where: ReferralFilter) -> ReferralPage:
    """Referrals matching ``where``, newest first (each filter is served by an index)."""
    conditions: list[ColumnElement[bool]] = []
    for column, value in (
        (ReferralRow.status, where.status),
        (ReferralRow.ward, where.ward),
        (ReferralRow.urgency, where.urgency),
        (ReferralRow.breached, where.breached),
        (ReferralRow.submitted_by, where.submitted_by),
    ):
        if value is not None:
            conditions.append(column == value)
    if where.created_from is not None:
        conditions.append(ReferralRow.created_at >= where.created_from)
    if where.created_to is not None:
        conditions.append(ReferralRow.created_at < where.created_to)
    if where.waiting_on == "agency":
        # Waiting on an agency (that agency, when one is named): an answer or an outcome.
        waiting: list[ColumnElement[bool]] = [
            ReferralLegRow.state.in_([s.value for s in WAITING_LEG_STATES])
        ]
        if where.agency_id is not None:
            waiting.append(ReferralLegRow.agency_id == where.agency_id)
        conditions.append(ReferralRow.number.in_(select(ReferralLegRow.number).where(*waiting)))
    elif where.agency_id is not None:
        conditions.append(
            ReferralRow.number.in_(
                select(ReferralLegRow.number).where(ReferralLegRow.agency_id == where.agency_id)
            )
        )
    if where.waiting_on == "coordinator":
        conditions.append(
            or_(
                ReferralRow.number.in_(
                    select(ReferralNeedRow.number).where(
                        ReferralNeedRow.state == NeedState.UNALLOCATED.value
                    )
                ),
                ReferralRow.number.in_(
                    select(ReferralLegRow.number).where(
                        ReferralLegRow.state == LegState.SENT.value,
                        ReferralLegRow.escalated_at.is_not(None),
                    )
                ),
            )
        )
    elif where.waiting_on == "referrer":
        conditions.append(ReferralRow.status == ReferralStatus.FOLLOW_UP.value)
    async with sessions() as session:
        total = await session.scalar(
            select(func.count()).select_from(ReferralRow).where(*conditions)
        )
        rows = (
            await session.scalars(
                select(ReferralRow)
                .where(*conditions)
                .order_by(ReferralRow.created_at.desc(), ReferralRow.number.desc())
                .limit(where.limit)
                .offset(where.offset)
            )
        ).all()
    return ReferralPage(
        items=[_summary(r) for r in rows],
        total=int(total or 0),
        limit=where.limit,
        offset=where.offset,
    )


async def get_referral(sessions: Sessions, number: str) -> StoredReferral | None:
    """A referral with its needs, legs (and outcomes) and events, or None."""
    async with sessions() as session:
        row = await session.get(ReferralRow, number)
        if row is None:
            return None
        needs = (
            await session.scalars(
                select(ReferralNeedRow)
                .where(ReferralNeedRow.number == number)
                .order_by(ReferralNeedRow.need_id)
            )
        ).all()
        legs = (
            await session.scalars(
                select(ReferralLegRow)
                .where(ReferralLegRow.number == number)
                .order_by(ReferralLegRow.sent_at, ReferralLegRow.leg_id)
            )
        ).all()
        outcomes = {
            o.leg_id: o
            for o in (
                await session.scalars(
                    select(ReferralOutcomeRow).where(ReferralOutcomeRow.number == number)
                )
            ).all()
        }
        events = (
            await session.scalars(
                select(ReferralEventRow)
                .where(ReferralEventRow.number == number)
                .order_by(ReferralEventRow.at, ReferralEventRow.event_id)
            )
        ).all()
    stored_legs = []
    for leg in legs:
        stored = StoredLeg.model_validate(leg, from_attributes=True)
        outcome = outcomes.get(leg.leg_id)
        if outcome is not None:
            stored.outcome_code = OutcomeCode(outcome.code)
            stored.outcome_value = outcome.value
            stored.outcome_unit, stored.outcome_at = outcome.unit, outcome.recorded_at
            stored.outcome_note = outcome.note
        stored_legs.append(stored)
    return StoredReferral(
        summary=_summary(row),
        submitted_by=row.submitted_by,
        referrer_agency_id=row.referrer_agency_id,
        consent_agency_ids=list(row.consent.get("agency_ids", [])),
        status_reason=row.status_reason,
        follow_up_due_at=row.follow_up_due_at,
        follow_up_made_difference=row.follow_up_made_difference,
        follow_up_score=row.follow_up_score,
        needs=[StoredNeed.model_validate(n, from_attributes=True) for n in needs],
        legs=stored_legs,
        events=[StoredEvent.model_validate(e, from_attributes=True) for e in events],
    )


async def get_leg(sessions: Sessions, leg_id: str) -> StoredLeg | None:
    """One leg (to check which agency may act on it), or None."""
    async with sessions() as session:
        row = await session.get(ReferralLegRow, leg_id)
    return StoredLeg.model_validate(row, from_attributes=True) if row is not None else None
