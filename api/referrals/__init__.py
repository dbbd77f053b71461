"""Referrals: submit, read, list, an agency's worklist, and every action on a referral or a leg.

One module per resource: :mod:`.submission`, :mod:`.reads`, :mod:`.legs` (agency actions,
declared once), :mod:`.needs` (the co-ordinator's queue, its actions declared once) and
:mod:`.consent` (the referrer's actions) and :mod:`.same_resident` (a second referral for
the same resident, and adding a need to the first instead). They share one route table.
Records a caller may not see answer 404, exactly as if they did not exist.
"""

from __future__ import annotations

from api.referrals import consent as consent
from api.referrals import legs as legs
from api.referrals import needs as needs
from api.referrals import reads as reads
from api.referrals import same_resident as same_resident
from api.referrals import submission as submission
from api.referrals.common import REFERRAL_CONFIG, ReferralConfig, routes

__all__ = [
    "REFERRAL_CONFIG",
    "ReferralConfig",
    "consent",
    "legs",
    "needs",
    "reads",
    "routes",
    "same_resident",
    "submission",
]
