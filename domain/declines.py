"""Why an agency declines a leg, from a fixed list, and what each reason needs said with it.

Each reason leads to its own next step (the referral workflow takes it): see
:class:`DeclineReason`.
"""

from __future__ import annotations

import re
from enum import StrEnum

from domain.patterns import NOT_BLANK


class DeclineReason(StrEnum):
    """Why an agency declines, from a fixed list: each leads to its own next step."""

    NO_CAPACITY = "no_capacity"
    """No room now: the service is marked full for some working days; the need is re-routed."""
    NOT_ELIGIBLE = "not_eligible"
    """The resident does not meet one of the service's rules (said in words); re-routed."""
    CANNOT_CONTACT = "cannot_contact"
    """The agency could not reach the resident: the need goes back to the referrer."""
    RESIDENT_DECLINED = "resident_declined"
    """The resident did not want the service: the need ends there."""
    BETTER_SERVED_ELSEWHERE = "better_served_elsewhere"
    """Another service would serve the resident better: offered it if the resident agreed
    to share with its agency, else the co-ordinator decides."""
    OTHER = "other"
    """Any other reason, in words; re-routed."""


DECLINE_WORDS: dict[DeclineReason, str] = {
    DeclineReason.NO_CAPACITY: "no capacity now",
    DeclineReason.NOT_ELIGIBLE: "not eligible",
    DeclineReason.CANNOT_CONTACT: "could not contact the resident",
    DeclineReason.RESIDENT_DECLINED: "the resident declined",
    DeclineReason.BETTER_SERVED_ELSEWHERE: "better served elsewhere",
    DeclineReason.OTHER: "other",
}
REROUTING_DECLINES = frozenset(
    {
        DeclineReason.NO_CAPACITY,
        DeclineReason.NOT_ELIGIBLE,
        DeclineReason.BETTER_SERVED_ELSEWHERE,
        DeclineReason.OTHER,
    }
)
"""Declines after which the need is routed again (better-served-elsewhere: to the service
named, if the resident agreed to share with its agency)."""
_WORDS_NEEDED = {
    DeclineReason.NOT_ELIGIBLE: "say which rule the resident does not meet",
    DeclineReason.CANNOT_CONTACT: "say what was tried",
    DeclineReason.OTHER: "a reason is required to decline",
}


def decline_problem(why: DeclineReason, reason: str, service_id: str | None) -> str | None:
    """What a decline lacks, in words (None: complete): words for the reasons that need
    them, and a service with better_served_elsewhere only."""
    needed = _WORDS_NEEDED.get(why)
    if needed is not None and re.search(NOT_BLANK, reason) is None:
        return needed
    if (why is DeclineReason.BETTER_SERVED_ELSEWHERE) != (service_id is not None):
        return "name the service (service_id) with better_served_elsewhere, and only then"
    return None
