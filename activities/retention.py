"""The retention activity: erase the personal data of referrals closed long enough ago."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from temporalio import activity

from domain.retention import ANONYMISE_ACTIVITY, RetentionBatch, RetentionResult
from store.audit import append_audit
from store.db import Sessions
from store.referrals import erase_personal_data
from store.retention import due_for_anonymisation
from store.schema import AuditEvent

log = structlog.get_logger(__name__)

RETENTION_SUBJECT = "retention-schedule"


class Retention:
    """Retention activities, bound to the store."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    @activity.defn(name=ANONYMISE_ACTIVITY)
    async def anonymise_closed_referrals(self, batch: RetentionBatch) -> RetentionResult:
        """Erase one batch; each erasure is audited. Safe to retry: erased ones are skipped."""
        numbers = await due_for_anonymisation(
            self._sessions, closed_before=batch.closed_before, limit=batch.limit
        )
        for number in numbers:
            await erase_personal_data(self._sessions, number)
            await append_audit(
                self._sessions,
                AuditEvent(
                    at=datetime.now(UTC),
                    request_id=batch.run_id[:64],
                    subject=RETENTION_SUBJECT,
                    role=None,
                    agency_id=None,
                    action="anonymise_personal_data",
                    method="SCHEDULE",
                    path=f"/api/referrals/{number}",
                    status=200,
                    remote=None,
                ),
            )
            activity.heartbeat(number)
        if numbers:
            log.info("personal data past retention erased", referrals=len(numbers))
        return RetentionResult(anonymised=numbers)
