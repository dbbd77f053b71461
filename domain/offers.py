"""Offering a need to several services at once: the first agency to accept takes it.

A referrer asks for it on a need (``"offer": {"mode": "first_accept", "max_services": 3}``),
or a category has a default. Every offered service receives the referral; the referral
workflow decides which accept wins (it handles one Update at a time), withdraws the other
offers at once and tells their agencies to delete the resident's details.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.numbers import Whole

MAX_OFFERS = 5
ACCEPT_OFFER_UPDATE = "accept_offer"  # OfferAcceptance -> LegView, on the referral
OFFER_ACCEPTED_SIGNAL = "offer_accepted"  # OfferAcceptance, from the referral to its leg
OFFER_TAKEN_REASON = "another service has taken this referral"
OFFER_ALREADY_ACCEPTED_REASON = "you have already accepted this referral"


class OfferMode(StrEnum):
    """How an offer to several services is settled."""

    FIRST_ACCEPT = "first_accept"


class Offer(BaseModel):
    """Offer the need to up to ``max_services`` suitable consented services at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: OfferMode = OfferMode.FIRST_ACCEPT
    max_services: Whole = Field(default=3, ge=1, le=MAX_OFFERS)


class OfferAcceptance(BaseModel):
    """An agency accepts an offered leg; the referral decides whether it is the first."""

    model_config = ConfigDict(extra="forbid")

    leg_id: str = Field(min_length=1, max_length=48)
    agency_id: str = Field(min_length=1, max_length=100)
    actor: str = Field(min_length=1, max_length=200)
