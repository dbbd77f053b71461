"""Record each partnership's list line in the read model the dashboard reads."""

from __future__ import annotations

import structlog
from temporalio import activity

from domain.partnership_schedule import PartnershipSummary
from store.db import Sessions
from store.partnerships import save_partnership

log = structlog.get_logger(__name__)


class PartnershipRecords:
    """The read-model activity, bound to the app database."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    @activity.defn(name="record_partnership")
    async def record_partnership(self, summary: PartnershipSummary) -> None:
        """Upsert the partnership's row (the latest call wins; replays write the same row)."""
        await save_partnership(self._sessions, summary)
        info = activity.info()
        log.info(
            "partnership recorded",
            workflow_id=info.workflow_id,
            partnership_id=summary.id,
            stage=summary.stage.value,
            cycle=summary.cycle,
        )
