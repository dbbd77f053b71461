"""The same resident twice: whether a new referral is for a resident an open referral serves.

Two referrals are for the same resident when the names agree and so does the date of birth or
the postcode. Names and postcodes are compared as people write them: case, surrounding and
repeated spaces, and the space inside a postcode do not matter. A name alone never matches:
two residents may share one. Only open referrals whose details are still held can match; an
erased resident is gone, and a closed referral is history, not a case to add to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

from domain.referral import ReferralStatus

MATCHING_STATUSES: Final = frozenset({ReferralStatus.OPEN})
"""Referrals a new need may join: still routing or following their needs (not yet in
follow-up, closed, withdrawn or erased)."""


@dataclass(frozen=True, kw_only=True)
class ResidentDetails:
    """What the rule compares of one resident; the rest of their details play no part."""

    name: str
    date_of_birth: date | None = None
    postcode: str | None = None


@dataclass(frozen=True, kw_only=True)
class OpenReferral:
    """A referral that may already serve the resident: its number, status, who made it and
    whether its resident's details are erased."""

    number: str
    status: ReferralStatus
    submitted_by: str
    erased: bool
    resident: ResidentDetails


def name_key(name: str) -> str:
    """A name as compared: ``"  Edna   PETTIGREW "`` → ``"edna pettigrew"``."""
    return " ".join(name.split()).casefold()


def postcode_key(postcode: str | None) -> str:
    """A postcode as compared: ``"co15  6jq"`` → ``"CO156JQ"`` ('' when there is none)."""
    return re.sub(r"\s+", "", postcode or "").upper()


def same_resident(new: ResidentDetails, known: ResidentDetails) -> bool:
    """Whether ``new`` is ``known``: the same name, and the same date of birth or postcode."""
    if not name_key(new.name) or name_key(new.name) != name_key(known.name):
        return False
    if new.date_of_birth is not None and new.date_of_birth == known.date_of_birth:
        return True
    code = postcode_key(new.postcode)
    return bool(code) and code == postcode_key(known.postcode)


def open_referrals_for(
    new: ResidentDetails, referrals: Iterable[OpenReferral]
) -> list[OpenReferral]:
    """The open, unerased referrals among ``referrals`` that serve ``new``, oldest number first."""
    found = [
        r
        for r in referrals
        if r.status in MATCHING_STATUSES and not r.erased and same_resident(new, r.resident)
    ]
    return sorted(found, key=lambda r: r.number)
