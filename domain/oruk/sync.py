"""Keeping the directory current from an ORUK feed: what a sync reports and whom it tells."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.directory import ServiceWithdrawn


class SyncRequest(BaseModel):
    """Import one feed; ``full``: the feed lists every service of its source."""

    model_config = ConfigDict(extra="forbid")

    feed: str = Field(min_length=1, description="URL (http/https) or path of the feed.")
    full: bool = True


class SyncReport(BaseModel):
    """What one sync changed."""

    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    problems: list[str] = Field(default_factory=list, description="One line per problem.")
    withdrawn: list[ServiceWithdrawn] = Field(default_factory=list)


class Withdrawals(BaseModel):
    """Services that stopped taking referrals."""

    services: list[ServiceWithdrawn]


class WithdrawalReport(BaseModel):
    """Which referral workflows were told to re-route, per withdrawn service."""

    referrals: dict[str, list[str]] = Field(
        description="Service id → ids of the running referral workflows signalled."
    )
    coordinator: str | None = Field(
        default=None, description="Where to tell the co-ordinator (none: not configured)."
    )


class DirectorySyncInput(BaseModel):
    """One run: import a feed (if given) and re-route referrals off withdrawn services.

    ``withdrawn`` carries services an import outside the workflow (the CLI, the API)
    already withdrew, so their referrals are re-routed the same durable way.
    """

    model_config = ConfigDict(extra="forbid")

    feed: SyncRequest | None = None
    withdrawn: list[ServiceWithdrawn] = Field(default_factory=list)


class DirectorySyncResult(BaseModel):
    """What a run did."""

    sync: SyncReport | None = None
    withdrawn: list[ServiceWithdrawn] = Field(default_factory=list)
    referrals: dict[str, list[str]] = Field(default_factory=dict)
    coordinator_told: bool = False


def withdrawal_notice(report: WithdrawalReport, withdrawn: list[ServiceWithdrawn]) -> str:
    """The co-ordinator's email body: each withdrawn service and how many referrals moved."""
    lines = [
        "These services stopped taking referrals after a directory update.",
        "Open referral legs waiting on them are being re-routed to the next suitable service.",
        "",
    ]
    for item in withdrawn:
        count = len(report.referrals.get(item.service_id, []))
        lines.append(f"- {item.service_id}: {item.reason}; {count} open referral(s) re-routed")
    return "\n".join(lines) + "\n"
