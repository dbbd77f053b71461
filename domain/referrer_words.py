"""A referral's state as the referrer reads it: plain words for each status, need and leg."""

from __future__ import annotations

from typing import Final

from domain.referral import LegState, NeedState, OutcomeCode, ReferralStatus

STATUS_WORDS: Final[dict[ReferralStatus, str]] = {
    ReferralStatus.OPEN: "Open: agencies are dealing with it",
    ReferralStatus.FOLLOW_UP: "Follow-up due: ask the resident whether it helped",
    ReferralStatus.CLOSED: "Closed",
    ReferralStatus.UNALLOCATED: "With the co-ordinator: no service could take a need yet",
    ReferralStatus.WITHDRAWN: "Withdrawn",
    ReferralStatus.CONSENT_WITHDRAWN: "Consent withdrawn: the resident's details are erased",
}

NEED_WORDS: Final[dict[NeedState, str]] = {
    NeedState.ROUTING: "Finding a service",
    NeedState.REFERRED: "Sent to a service",
    NeedState.SIGNPOSTED: "The resident was given services' contact details",
    NeedState.UNALLOCATED: "The co-ordinator is finding a service",
    NeedState.OUTCOME_RECORDED: "Outcome recorded",
    NeedState.WITHDRAWN: "Stopped",
    NeedState.CLOSED: "Closed",
}

LEG_WORDS: Final[dict[LegState, str]] = {
    LegState.SENT: "Waiting for the agency to accept or decline",
    LegState.ACCEPTED: "Accepted: the agency will contact the resident",
    LegState.IN_PROGRESS: "The agency is helping the resident",
    LegState.OUTCOME_RECORDED: "Outcome recorded",
    LegState.CLOSED: "Closed",
    LegState.DECLINED: "Declined",
    LegState.EXPIRED: "No answer in time: passed to the next service",
    LegState.WITHDRAWN: "Stopped",
}

OUTCOME_WORDS: Final[dict[OutcomeCode, str]] = {
    OutcomeCode.GOT_HELP: "Got help",
    OutcomeCode.NOT_ELIGIBLE: "Not eligible",
    OutcomeCode.COULD_NOT_CONTACT: "Could not contact the resident",
    OutcomeCode.NO_CAPACITY: "No capacity",
    OutcomeCode.REFERRED_ELSEWHERE: "Referred elsewhere",
    OutcomeCode.RESIDENT_DECLINED: "The resident declined",
}

WAITING_WORDS: Final[dict[str, str]] = {
    "agency": "an agency",
    "coordinator": "the co-ordinator",
    "referrer": "you",
}
