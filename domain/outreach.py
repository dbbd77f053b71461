"""A Reach Out session: a day's door knocking in one ward, and the figures it gives.

The figures (doors knocked, conversations, residents helped on the spot, referrals made) can
feed a partnership's indicators as referral outcomes do: an indicator bound with the
``outreach_figure`` measure adds up one figure of the sessions in its wards and period, each
session counted once under its id.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.text import OneLine


class OutreachFigure(StrEnum):
    """What a Reach Out session counts."""

    DOORS_KNOCKED = "doors_knocked"
    CONVERSATIONS = "conversations"
    RESIDENTS_HELPED = "residents_helped"
    REFERRALS_MADE = "referrals_made"


FIGURE_WORDS: dict[OutreachFigure, str] = {
    OutreachFigure.DOORS_KNOCKED: "doors knocked",
    OutreachFigure.CONVERSATIONS: "conversations",
    OutreachFigure.RESIDENTS_HELPED: "residents helped on the spot",
    OutreachFigure.REFERRALS_MADE: "referrals made",
}

_Count = Field(ge=0, le=100_000)


class OutreachLog(BaseModel):
    """What a worker logs after a session (no personal data)."""

    model_config = ConfigDict(extra="forbid")

    held_on: date
    ward: str = Field(min_length=1, max_length=100)
    area: OneLine = Field(min_length=1, max_length=300, description="Streets or area covered.")
    doors_knocked: int = _Count
    conversations: int = _Count
    residents_helped: int = _Count
    referrals_made: int = _Count

    @model_validator(mode="after")
    def _plausible(self) -> OutreachLog:
        if self.conversations > self.doors_knocked:
            raise ValueError("there cannot be more conversations than doors knocked")
        if self.residents_helped > self.conversations:
            raise ValueError("there cannot be more residents helped than conversations")
        return self

    def figure(self, which: OutreachFigure) -> int:
        """One of the session's figures."""
        return int(getattr(self, which.value))


class OutreachSessionFact(OutreachLog):
    """A logged session as partnerships see it: its id, who logged it and when."""

    session_id: str = Field(min_length=1, max_length=48)
    logged_at: datetime
