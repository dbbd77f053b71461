"""Retention: how long a closed referral keeps the resident's personal data.

After the retention period the personal data is erased and the referral stays in the
statistics, anonymous. The period runs from the referral's last change after it closed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

RETENTION_WORKFLOW = "RetentionWorkflow"
ANONYMISE_ACTIVITY = "anonymise_closed_referrals"


class RetentionInput(BaseModel):
    """One run of the retention schedule."""

    model_config = ConfigDict(extra="forbid")

    retention_days: int = Field(ge=1, le=36500)
    batch_size: int = Field(default=200, ge=1, le=5000)


class RetentionBatch(BaseModel):
    """Anonymise up to ``limit`` referrals that closed before ``closed_before``."""

    closed_before: AwareDatetime
    limit: int
    run_id: str = Field(description="The run, recorded in the audit trail as the request id.")


class RetentionResult(BaseModel):
    """The referrals one batch anonymised, oldest first."""

    anonymised: list[str] = Field(default_factory=list)


class RetentionReport(BaseModel):
    """What a whole run did."""

    closed_before: AwareDatetime
    anonymised: int = 0
    continued: bool = Field(default=False, description="More remained for the next run.")


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Referrals closed before this moment have kept their personal data long enough."""
    return now - timedelta(days=retention_days)
