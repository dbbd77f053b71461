"""Record referrals in the store, read the directory, erase personal data: store activities.

Every record is an upsert keyed by referral number, need or leg id, and events by an id the
workflow chose, so a retried activity writes the same rows again and nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from temporalio import activity

from domain.capacity import directory_now
from domain.directory import Directory
from domain.referral_records import (
    ERASE_PERSONAL_DATA,
    LOAD_DIRECTORY,
    MARK_SERVICE_FULL,
    RECORD_LEG,
    RECORD_REFERRAL,
    Erasure,
    ErasureResult,
    LegRecord,
    ReferralRecord,
    ServiceFull,
)
from store import referrals
from store.db import Sessions
from store.directory import load_directory, mark_full

log = structlog.get_logger(__name__)


class ReferralRecords:
    """The referral workflows' store activities, bound to the database."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    @activity.defn(name=LOAD_DIRECTORY)
    async def load_directory(self) -> Directory:
        """The service directory as it is now, each service's capacity included (routing
        reads it through this activity)."""
        return directory_now(await load_directory(self._sessions), datetime.now(UTC))[0]

    @activity.defn(name=RECORD_REFERRAL)
    async def record_referral(self, record: ReferralRecord) -> None:
        """Write the referral's state, its needs and new events to the read model."""
        await referrals.record_referral(self._sessions, record)

    @activity.defn(name=RECORD_LEG)
    async def record_leg(self, record: LegRecord) -> None:
        """Write a leg's state, its outcome and new events to the read model."""
        await referrals.record_leg(self._sessions, record)

    @activity.defn(name=MARK_SERVICE_FULL)
    async def mark_service_full(self, full: ServiceFull) -> None:
        """Mark a service full for a spell after its agency declined for lack of capacity."""
        listed = await mark_full(self._sessions, full.service_id, full.until)
        log.info("service marked full", service=full.service_id, until=full.until, listed=listed)

    @activity.defn(name=ERASE_PERSONAL_DATA)
    async def erase_personal_data(self, erasure: Erasure) -> ErasureResult:
        """Erase the resident's personal data; the anonymous statistics stay."""
        erased = await referrals.erase_personal_data(self._sessions, erasure.number)
        log.info("personal data erased", referral=erasure.number, found=erased)
        return ErasureResult(number=erasure.number, erased=erased)
