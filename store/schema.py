"""Tables of the app database. Every timestamp is timezone-aware UTC.

One module over 400 lines on purpose: Alembic compares the migrations with one metadata, and
every table is declared beside the others so none is missed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    SQLite keeps no offset and hands back naive values; this stores UTC and gives back
    aware UTC datetimes everywhere, so API responses are always RFC 3339 with an offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (so migrations can alter them)."""

    metadata = MetaData(naming_convention=NAMING)


class ApiToken(Base):
    """A bearer token: only its SHA-256 hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    agency_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class NotificationRecord(Base):
    """One delivered notification, keyed by its idempotency key: the guard against resending."""

    __tablename__ = "notifications"

    idempotency_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(Text)
    subject_ref: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_notifications_subject_ref", "subject_ref"),)


class NotificationClaim(Base):
    """A notification one attempt is sending now, held until ``until``: another execution of
    the same notice (a duplicate task, a retry of a slow attempt) waits instead of sending it
    too. Deleted once the message is in the ledger or the send has failed."""

    __tablename__ = "notification_claims"

    idempotency_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    until: Mapped[datetime] = mapped_column(UtcDateTime())


class NotificationFailure(Base):
    """A notification that is failing now: its last error, until it is delivered or given up."""

    __tablename__ = "notification_failures"

    idempotency_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(Text)
    subject_ref: Mapped[str] = mapped_column(String(200), default="")
    workflow_id: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text)
    first_failed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_failed_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    gave_up: Mapped[bool] = mapped_column(Boolean, default=False)


class OrganisationRow(Base):
    """A directory organisation; ``data`` holds the full domain model as JSON."""

    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    last_modified: Mapped[datetime] = mapped_column(UtcDateTime())


class ServiceRow(Base):
    """A directory service: routing columns indexed, the full model in ``data``."""

    __tablename__ = "services"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(32), index=True)
    capacity: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    last_modified: Mapped[datetime] = mapped_column(UtcDateTime())
    source: Mapped[str | None] = mapped_column(String(500), index=True, default=None)
    """The feed (URL, file or name) a service was last imported from; none: entered here."""


class DirectoryRevisionRow(Base):
    """A counter raised by every write to the directory, so readers can keep a loaded copy
    and reload it only when it changed."""

    __tablename__ = "directory_revision"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    revision: Mapped[int]


class DirectoryMappingRow(Base):
    """The admin-edited ORUK mapping (taxonomy terms → need categories, areas → wards)."""

    __tablename__ = "directory_mapping"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str | None] = mapped_column(String(200))


class AuditEvent(Base):
    """One authenticated request: who, as what, from where, did what. Append-only."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    request_id: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(200), index=True)
    role: Mapped[str | None] = mapped_column(String(32))
    agency_id: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[int]
    remote: Mapped[str | None] = mapped_column(String(64))


class StaffUser(Base):
    """A person who signs in to the dashboard; the password only as an argon2 hash."""

    __tablename__ = "staff_users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(32))
    agency_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebSession(Base):
    """A signed-in browser: only the hash of the cookie value is kept."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LoginAttempt(Base):
    """One sign-in attempt, kept to rate-limit guessing by user name and by address."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    remote: Mapped[str | None] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    succeeded: Mapped[bool]


class ReferralRow(Base):
    """A referral in the read model: anonymous facts only (personal data is kept apart)."""

    __tablename__ = "referrals"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    ward: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16))
    breached: Mapped[bool] = mapped_column(default=False)
    next_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime())
    submitted_by: Mapped[str] = mapped_column(String(200))
    referrer_agency_id: Mapped[str | None] = mapped_column(String(100))
    consent: Mapped[dict[str, Any]] = mapped_column(JSON)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    follow_up_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    follow_up_made_difference: Mapped[bool | None]
    follow_up_score: Mapped[int | None]
    personal_data_erased: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_referrals_created_at", "created_at"),
        Index("ix_referrals_status_created_at", "status", "created_at"),
        Index("ix_referrals_ward_created_at", "ward", "created_at"),
        Index("ix_referrals_urgency_created_at", "urgency", "created_at"),
        Index("ix_referrals_breached_created_at", "breached", "created_at"),
        Index("ix_referrals_submitted_by_created_at", "submitted_by", "created_at"),
        # The referrals-per-week chart, read from the index alone.
        Index("ix_referrals_created_at_source", "created_at", "source"),
    )


class ReferralNeedRow(Base):
    """One need of a referral: category, urgency and where it is (no notes)."""

    __tablename__ = "referral_needs"

    number: Mapped[str] = mapped_column(ForeignKey("referrals.number"), primary_key=True)
    need_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    urgency: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32), index=True)
    signposted_service_id: Mapped[str | None] = mapped_column(String(100))
    tried_service_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    signposted_service_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    unallocated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    queue_overdue: Mapped[bool] = mapped_column(default=False)


class ReferralLegRow(Base):
    """One agency's part of a referral."""

    __tablename__ = "referral_legs"

    leg_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    number: Mapped[str] = mapped_column(ForeignKey("referrals.number"), index=True)
    need_id: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16))
    service_id: Mapped[str] = mapped_column(String(100))
    agency_id: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(32))
    route_reason: Mapped[str] = mapped_column(Text, default="")
    breached: Mapped[bool] = mapped_column(default=False)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deadline: Mapped[datetime] = mapped_column(UtcDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decline_reason: Mapped[str | None] = mapped_column(Text)
    decline_why: Mapped[str | None] = mapped_column(String(32), default=None)
    """A decline's reason from the list (no one's free text: it stays after erasure)."""
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome_overdue: Mapped[bool] = mapped_column(default=False)
    offered: Mapped[bool] = mapped_column(default=False)
    offer_lost: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    """The first accept or decline; none while unanswered."""
    answer: Mapped[str | None] = mapped_column(String(16), default=None)
    answer_working_days: Mapped[float | None] = mapped_column(Float, default=None)
    answered_late: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        Index("ix_referral_legs_agency_id_state", "agency_id", "state"),
        Index("ix_referral_legs_service_id_state", "service_id", "state"),
        # The agencies page, each figure read from an index alone: counts per agency (declines
        # by reason too), answer times per agency, answer times by month (every agency, one
        # agency).
        Index(
            "ix_referral_legs_agency_id_answers",
            "agency_id",
            "state",
            "answer",
            "answered_late",
            "offer_lost",  # lost offers are left out; without it each row is a table read
            "decline_why",  # declines by reason
        ),
        Index("ix_referral_legs_agency_id_answer_days", "agency_id", "answer_working_days"),
        Index("ix_referral_legs_answered_at_days", "answered_at", "answer_working_days"),
        Index(
            "ix_referral_legs_agency_id_answered_at",
            "agency_id",
            "answered_at",
            "answer_working_days",
        ),
        # A worklist's "recent" tab: one agency's legs changed in the last 30 days.
        Index("ix_referral_legs_agency_id_updated_at", "agency_id", "updated_at"),
        # The overview's "waiting on": open legs by state and agency, read from the index alone.
        Index(
            "ix_referral_legs_state_agency_id",
            "state",
            "agency_id",
            "deadline",
            "breached",
            "sent_at",
            "answered_at",
            "escalated_at",
        ),
    )


class ReferralEventRow(Base):
    """Something that happened to a referral and who did it. Written once per event id."""

    __tablename__ = "referral_events"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(ForeignKey("referrals.number"))
    leg_id: Mapped[str | None] = mapped_column(String(48))
    need_id: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_referral_events_number_at", "number", "at"),
        Index("ix_referral_events_leg_id_kind", "leg_id", "kind"),
    )


class ReferralOutcomeRow(Base):
    """The outcome of one leg, with its value: what partnership indicators add up."""

    __tablename__ = "referral_outcomes"

    leg_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    number: Mapped[str] = mapped_column(ForeignKey("referrals.number"), index=True)
    need_id: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    service_id: Mapped[str] = mapped_column(String(100))
    agency_id: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    """The agency's words about what happened: free text about the resident, erasable."""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_referral_outcomes_agency_id_recorded_at", "agency_id", "recorded_at"),
        Index("ix_referral_outcomes_code", "code"),
    )


class ResidentRow(Base):
    """The resident's personal data for one referral: the only place it is kept; erasable."""

    __tablename__ = "referral_residents"

    number: Mapped[str] = mapped_column(ForeignKey("referrals.number"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(320))
    need_notes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    referrer_name: Mapped[str] = mapped_column(String(200))
    referrer_email: Mapped[str | None] = mapped_column(String(320))


class DataKeyRow(Base):
    """A referral's data key, wrapped by the master key; erasure destroys it (crypto-shredding).

    Workflow history holds the referral's personal and free-text values sealed with this key,
    so once ``wrapped`` is gone nothing in history, a backup or a replay can reveal them.
    """

    __tablename__ = "data_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    master_key_id: Mapped[str | None] = mapped_column(String(100))
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    destroyed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AgencyEmailDetails(Base):
    """An agency whose referral emails carry the resident's details, and the lawful reason.

    Off for every agency unless a row says otherwise; setting it is an audited admin request.
    """

    __tablename__ = "agency_email_details"

    agency_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    lawful_reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReferralSequence(Base):
    """The last referral number issued per prefix and year."""

    __tablename__ = "referral_sequences"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int]


class PartnershipRow(Base):
    """The read model of one partnership: what the dashboard lists, kept by its workflow."""

    __tablename__ = "partnerships"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    parent_id: Mapped[str | None] = mapped_column(String(100), index=True)
    strategic: Mapped[bool]
    stage: Mapped[str] = mapped_column(String(32), index=True)
    cycle: Mapped[int]
    next_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    overdue: Mapped[bool]
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InboundCallback(Base):
    """A partner callback's Idempotency-Key, kept a while so a repeat is not acted on twice."""

    __tablename__ = "inbound_callbacks"

    agency_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(40))
    leg_id: Mapped[str] = mapped_column(String(48))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    status: Mapped[int | None] = mapped_column(Integer, default=None)
    """The answer the first delivery got; none while it is being acted on."""


class PostcodeRow(Base):
    """A postcode or postcode sector (``CO15 6``) with its point and ward, from the ONS
    National Statistics Postcode Lookup (or the demonstration borough's sectors)."""

    __tablename__ = "postcodes"

    postcode: Mapped[str] = mapped_column(String(8), primary_key=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    ward_code: Mapped[str | None] = mapped_column(String(12))
    ward_name: Mapped[str | None] = mapped_column(String(120))


class FindSessionRow(Base):
    """A visitor's session on the public website: their answers so far and shortlist, under
    the SHA-256 of the cookie's random value, deleted when the journey ends or it expires."""

    __tablename__ = "find_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class FindRateEvent(Base):
    """One counted action (a submission, an email) of a hashed address or recipient, so rate
    limits hold across every API process."""

    __tablename__ = "find_rate_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bucket: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_find_rate_events_bucket_at", "bucket", "at"),)


class FindOutboxRow(Base):
    """An email a visitor asked for (their shortlist), kept until its notice has sent it."""

    __tablename__ = "find_outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SubmissionKey(Base):
    """An ``Idempotency-Key`` of ``POST /api/referrals``, claimed before the referral is made,
    so a resent submission (its first answer lost, or two copies racing) makes one referral."""

    __tablename__ = "submission_keys"

    submitted_by: Mapped[str] = mapped_column(String(200), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    number: Mapped[str | None] = mapped_column(String(40), default=None)
    """The referral the first request made; none while it is being made."""
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class OutreachSessionRow(Base):
    """A logged Reach Out session: its figures only, no personal data."""

    __tablename__ = "outreach_sessions"

    session_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    logged_by: Mapped[str] = mapped_column(String(200), index=True)
    logged_at: Mapped[datetime] = mapped_column(UtcDateTime())
    held_on: Mapped[date] = mapped_column(Date, index=True)
    ward: Mapped[str] = mapped_column(String(100))
    area: Mapped[str] = mapped_column(String(300))
    doors_knocked: Mapped[int] = mapped_column(Integer)
    conversations: Mapped[int] = mapped_column(Integer)
    residents_helped: Mapped[int] = mapped_column(Integer)
    referrals_made: Mapped[int] = mapped_column(Integer)


class SpentLink(Base):
    """A signed link whose one-off action has been done: its token's hash, never the token,
    so a one-off link works once whichever process it reaches."""

    __tablename__ = "spent_links"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(60))
    spent_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    """When the link lapses anyway: its row may be forgotten after."""
